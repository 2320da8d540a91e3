// expect: ctq: quantize: the parameter type does not fit the named qscheme
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  auto q = ctq::quantize<ctq::dtype::qint8, ctq::qscheme::per_channel_symmetric>(x, ctq::PerTensorQParams{});
  (void)q;
#else
  auto q = ctq::quantize<ctq::dtype::qint8, ctq::qscheme::per_tensor_symmetric>(x, ctq::PerTensorQParams{});
  (void)q;
#endif
}
