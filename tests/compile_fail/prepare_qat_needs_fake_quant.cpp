// expect: ctq: prepare_qat: the qconfig's activation must be a fake-quantizer
#include <ctq/ctq.hpp>
using namespace ctq;
using Net =
    nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 2>>, nn::named<"dequant", DeQuantStub>>;
int main() {
  // quantization-aware training simulates quantization with fake-quantizers; default_qconfig's
  // observers only record ranges (that is prepare's qconfig for post-training quantization)
#ifdef CTQ_SHOULD_FAIL
  auto qat = prepare_qat<default_qconfig>(Net{});
#else
  auto qat = prepare_qat<default_qat_qconfig>(Net{});
#endif
  (void)qat;
}
