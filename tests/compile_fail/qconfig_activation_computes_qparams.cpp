// expect: ctq: qconfig: the activation observer computes no quantization parameters
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::validate_qconfig<ctq::backend::qnnpack, ctq::float16_static_qconfig>());
#else
  static_assert(ctq::validate_qconfig<ctq::backend::qnnpack, ctq::default_qconfig>());
#endif
  (void)x;
}
