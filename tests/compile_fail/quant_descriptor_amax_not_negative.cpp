// expect: ctq: QuantDescriptor: amax must not be negative
#include <ctq/ctq.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::TensorQuantizer<ctq::QuantDescriptor{.amax = -2.0f}> q;
  (void)q;
#else
  ctq::TensorQuantizer<ctq::QuantDescriptor{.amax = 2.0f}> q;
  (void)q;
#endif
}
