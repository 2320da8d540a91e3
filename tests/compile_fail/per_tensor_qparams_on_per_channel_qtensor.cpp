// expect: ctq: QTensor: per-tensor qparams given to a per-channel QTensor
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::QTensor<ctq::dtype::qint8, ctq::qscheme::per_channel_symmetric, 2> q({2, 3}, ctq::PerTensorQParams{});
  (void)q;
#else
  ctq::QTensor<ctq::dtype::qint8, ctq::qscheme::per_tensor_symmetric, 2> q({2, 3}, ctq::PerTensorQParams{});
  (void)q;
#endif
}
