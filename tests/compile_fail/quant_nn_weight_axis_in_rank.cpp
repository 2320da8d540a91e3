// expect: ctq: quant_nn: the weight descriptor keeps an axis the weight does not have
#include <ctq/tensor_quant/quant_modules.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::quant_nn::QuantLinear<4, 2, true, ctq::QUANT_DESC_8BIT_PER_TENSOR, ctq::QuantDescriptor{.axis = ctq::axes(2)}> m;
#else
  ctq::quant_nn::QuantLinear<4, 2, true, ctq::QUANT_DESC_8BIT_PER_TENSOR, ctq::QuantDescriptor{.axis = ctq::axes(-2)}>
      m;
#endif
  (void)m;
}
