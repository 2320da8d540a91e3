// expect: ctq: observer: quant_min must be less than quant_max
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.quant_min = 0, .quant_max = 0}> o;
#else
  ctq::MinMaxObserver<{.quant_min = 0, .quant_max = 1}> o;
#endif
  (void)x;
}
