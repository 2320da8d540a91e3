// expect: ctq: qconfig: a dynamic qconfig cannot be used for static quantization
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::validate_qconfig<ctq::backend::x86, ctq::default_dynamic_qconfig>());
#else
  static_assert(ctq::validate_qconfig<ctq::backend::x86, ctq::default_qconfig>());
#endif
  (void)x;
}
