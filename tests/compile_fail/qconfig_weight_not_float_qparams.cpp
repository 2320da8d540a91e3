// expect: ctq: qconfig: per_channel_affine_float_qparams weights are for embeddings only
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::validate_qconfig<ctq::backend::x86,
                                      ctq::QConfig<ctq::default_observer, ctq::default_float_qparams_observer>>());
#else
  static_assert(ctq::validate_qconfig<ctq::backend::x86,
                                      ctq::QConfig<ctq::default_observer, ctq::default_per_channel_weight_observer>>());
#endif
  (void)x;
}
