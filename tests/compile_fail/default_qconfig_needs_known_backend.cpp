// expect: ctq: get_default_qconfig: no default for this backend
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});
  struct my_backend {};
#ifdef CTQ_SHOULD_FAIL
  ctq::get_default_qconfig<my_backend> q;
#else
  ctq::get_default_qconfig<ctq::backend::qnnpack> q;
#endif
  (void)x;
}
