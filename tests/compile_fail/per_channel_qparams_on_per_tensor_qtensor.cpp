// expect: ctq: QTensor: per-channel qparams given to a per-tensor QTensor
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});
  const ctq::PerChannelQParams<> pc{{0.1f, 0.1f}, {0, 0}, 0};
#ifdef CTQ_SHOULD_FAIL
  ctq::QTensor<ctq::dtype::qint8, ctq::qscheme::per_tensor_affine, 2> q({2, 3}, pc);
  (void)q;
#else
  ctq::QTensor<ctq::dtype::qint8, ctq::qscheme::per_channel_affine, 2> q({2, 3}, pc);
  (void)q;
#endif
}
