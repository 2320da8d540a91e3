// expect: ctq: nn::qat::dynamic::Linear: the qconfig's weight must be a fake-quantizer
#include <ctq/ctq.hpp>
int main() {
  using Net = ctq::nn::Sequential<ctq::nn::named<"fc", ctq::nn::Linear<4, 2>>>;
#ifdef CTQ_SHOULD_FAIL
  using QC = ctq::QConfig<ctq::default_dynamic_fake_quant, ctq::default_weight_observer>;  // an observer
#else
  using QC = ctq::QConfig<ctq::default_dynamic_fake_quant, ctq::default_weight_fake_quant>;
#endif
  auto qat = ctq::prepare_qat_dynamic<QC>(Net{});
  (void)qat;
}
