// expect: ctq: nn::qat::dynamic::Linear: dynamic QAT needs a memoryless activation observer
#include <ctq/ctq.hpp>
int main() {
  using Net = ctq::nn::Sequential<ctq::nn::named<"fc", ctq::nn::Linear<4, 2>>>;
#ifdef CTQ_SHOULD_FAIL
  // default_dynamic_qconfig's activation is a PlaceholderObserver: it keeps no per-batch range.
  auto qat = ctq::prepare_qat_dynamic<ctq::default_dynamic_qconfig>(Net{});
#else
  auto qat = ctq::prepare_qat_dynamic<ctq::default_dynamic_qat_qconfig>(Net{});
#endif
  (void)qat;
}
