// expect: ctq: qconfig: the first argument must be a backend tag
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::validate_qconfig<int, ctq::default_qconfig>());
#else
  static_assert(ctq::validate_qconfig<ctq::backend::x86, ctq::default_qconfig>());
#endif
  (void)x;
}
