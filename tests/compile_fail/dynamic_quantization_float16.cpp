// expect: ctq: quantize_per_tensor_dynamic: float16 has no scale or zero point; use to_float16
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  auto q = ctq::quantize_per_tensor_dynamic<ctq::dtype::float16>(x, false);
  (void)q;
#else
  auto q = ctq::quantize_per_tensor_dynamic<ctq::dtype::quint8>(x, false);
  (void)q;
#endif
}
