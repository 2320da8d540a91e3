// expect: ctq: qconfig: the backend's int8 kernels take quint8 activations
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::validate_qconfig<ctq::backend::onednn, ctq::default_symmetric_qnnpack_qconfig>());
#else
  static_assert(ctq::validate_qconfig<ctq::backend::qnnpack, ctq::default_symmetric_qnnpack_qconfig>());
#endif
  (void)x;
}
