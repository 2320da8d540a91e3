// expect: ctq: dequantize: the input must be a QTensor
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  auto y = ctq::dequantize(x);
  (void)y;
#else
  auto y = ctq::dequantize(ctq::quantize_per_tensor<ctq::dtype::quint8>(x, 0.1f, 0));
  (void)y;
#endif
}
