// expect: ctq: TensorQuantizer: learn_amax
#include <ctq/ctq.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::TensorQuantizer<ctq::QuantDescriptor{.amax = 1.0f, .learn_amax = true}> q;
  (void)q;
#else
  ctq::TensorQuantizer<ctq::QuantDescriptor{.amax = 1.0f}> q;
  (void)q;
#endif
}
