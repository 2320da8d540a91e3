// expect: ctq: observer: per_channel_affine_float_qparams needs quint8 or quint4x2
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::PerChannelMinMaxObserver<{.dtype = ctq::dtype::qint8, .qscheme = ctq::qscheme::per_channel_affine_float_qparams}>
      o;
#else
  ctq::PerChannelMinMaxObserver<{.dtype = ctq::dtype::quint8,
                                 .qscheme = ctq::qscheme::per_channel_affine_float_qparams}>
      o;
#endif
  (void)x;
}
