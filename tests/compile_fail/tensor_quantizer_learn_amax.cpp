// expect: ctq: TensorQuantizer: learn_amax learns one per-tensor amax
#include <ctq/ctq.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::TensorQuantizer<ctq::QuantDescriptor{.axis = ctq::axes(0), .amax = 1.0f, .learn_amax = true}> q;
#else
  ctq::TensorQuantizer<ctq::QuantDescriptor{.amax = 1.0f, .learn_amax = true}> q;
#endif
  (void)q;
}
