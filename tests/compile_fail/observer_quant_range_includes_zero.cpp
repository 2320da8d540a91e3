// expect: ctq: observer: a custom quant range must include 0
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.quant_min = 1, .quant_max = 10}> o;
#else
  ctq::MinMaxObserver<{.quant_min = 0, .quant_max = 10}> o;
#endif
  (void)x;
}
