// expect: ctq: QTensor: per_channel_affine_float_qparams supports only quint8 and quint4x2
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::QTensor<ctq::dtype::qint8, ctq::qscheme::per_channel_affine_float_qparams, 2> q;
  (void)q;
#else
  ctq::QTensor<ctq::dtype::quint4x2, ctq::qscheme::per_channel_affine_float_qparams, 2> q;
  (void)q;
#endif
}
