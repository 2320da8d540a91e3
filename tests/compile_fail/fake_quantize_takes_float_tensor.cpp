// expect: ctq: fake_quantize: the input must be a float Tensor
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});
  const auto q = ctq::quantize_per_tensor<ctq::dtype::quint8>(x, 0.1f, 0);
#ifdef CTQ_SHOULD_FAIL
  auto y = ctq::fake_quantize_per_tensor_affine(q, 0.1f, 0, 0, 255);
  (void)y;
#else
  auto y = ctq::fake_quantize_per_tensor_affine(x, 0.1f, 0, 0, 255);
  (void)y;
#endif
}
