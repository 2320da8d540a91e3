// expect: ctq: qconfig: the weight observer computes no quantization parameters
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(
      ctq::validate_qconfig<ctq::backend::x86, ctq::QConfig<ctq::default_observer, ctq::PlaceholderObserver<>>>());
#else
  static_assert(
      ctq::validate_qconfig<ctq::backend::x86, ctq::QConfig<ctq::default_observer, ctq::default_weight_observer>>());
#endif
  (void)x;
}
