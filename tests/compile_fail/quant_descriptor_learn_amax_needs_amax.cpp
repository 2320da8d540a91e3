// expect: ctq: QuantDescriptor: learn_amax needs an initial amax
#include <ctq/ctq.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::detail::check_quant_descriptor<ctq::QuantDescriptor{.learn_amax = true}>::ok);
#else
  static_assert(ctq::detail::check_quant_descriptor<ctq::QuantDescriptor{.amax = 1.0f, .learn_amax = true}>::ok);
#endif
}
