// expect: ctq: quantize: the input must be a float Tensor
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});
  const auto q = ctq::quantize_per_tensor<ctq::dtype::quint8>(x, 0.1f, 0);
#ifdef CTQ_SHOULD_FAIL
  auto q2 = ctq::quantize<ctq::dtype::qint8>(q, ctq::PerTensorQParams{});
  (void)q2;
#else
  auto q2 = ctq::quantize<ctq::dtype::qint8>(ctq::dequantize(q), ctq::PerTensorQParams{});
  (void)q2;
#endif
}
