// expect: ctq: qconfig: fbgemm and x86 need activations within 7 bits
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::validate_qconfig<ctq::backend::fbgemm, ctq::get_default_qconfig<ctq::backend::qnnpack>>());
#else
  static_assert(ctq::validate_qconfig<ctq::backend::fbgemm, ctq::get_default_qconfig<ctq::backend::fbgemm>>());
#endif
  (void)x;
}
