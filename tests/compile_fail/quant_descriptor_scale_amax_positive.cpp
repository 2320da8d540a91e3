// expect: ctq: QuantDescriptor: scale_amax must be positive
#include <ctq/ctq.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::TensorQuantizer<ctq::QuantDescriptor{.scale_amax = 0.0f}> q;
  (void)q;
#else
  ctq::TensorQuantizer<ctq::QuantDescriptor{.scale_amax = 0.5f}> q;
  (void)q;
#endif
}
