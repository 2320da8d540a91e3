// expect: ctq: observer: the custom quant range must lie within the dtype's range
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.dtype = ctq::dtype::qint8, .quant_min = 0, .quant_max = 255}> o;
#else
  ctq::MinMaxObserver<{.dtype = ctq::dtype::qint8, .quant_min = 0, .quant_max = 127}> o;
#endif
  (void)x;
}
