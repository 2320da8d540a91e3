// expect: ctq: observer: set both quant_min and quant_max, or neither
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.quant_min = 0}> o;
#else
  ctq::MinMaxObserver<{.quant_min = 0, .quant_max = 127}> o;
#endif
  (void)x;
}
