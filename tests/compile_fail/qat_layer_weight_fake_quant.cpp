// expect: ctq: nn::qat: quantization-aware training needs a qconfig whose weight is a fake-quantizer
#include <ctq/ctq.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  using QC = QConfig<default_fake_quant, default_weight_observer>;  // an observer, not a fake-quantizer
#else
  using QC = default_qat_qconfig;
#endif
  nn::qat::Linear<nn::Linear<4, 2>, QC> fc;
  (void)fc;
}
