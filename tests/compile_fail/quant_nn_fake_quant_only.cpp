// expect: ctq: quant_nn: Quant modules support only fake quantization
#include <ctq/tensor_quant/quant_modules.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::quant_nn::QuantLinear<4, 2, true, ctq::QuantDescriptor{.fake_quant = false}> m;
#else
  ctq::quant_nn::QuantLinear<4, 2, true, ctq::QuantDescriptor{.fake_quant = true}> m;
#endif
  (void)m;
}
