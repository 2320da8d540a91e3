// expect: ctq: QuantDescriptor: num_bits must be in 2..16
#include <ctq/ctq.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::TensorQuantizer<ctq::QuantDescriptor{.num_bits = 17}> q;
  (void)q;
#else
  ctq::TensorQuantizer<ctq::QuantDescriptor{.num_bits = 16}> q;
  (void)q;
#endif
}
