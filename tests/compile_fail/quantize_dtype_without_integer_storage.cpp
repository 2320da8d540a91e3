// expect: ctq: quantize: the dtype has no integer storage
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  auto q = ctq::quantize<ctq::dtype::float16>(x, ctq::PerTensorQParams{});
  (void)q;
#else
  auto q = ctq::quantize<ctq::dtype::qint8>(x, ctq::PerTensorQParams{});
  (void)q;
#endif
}
