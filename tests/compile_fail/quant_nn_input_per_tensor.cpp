// expect: ctq: quant_nn: the input quantizer must be per tensor
#include <ctq/tensor_quant/quant_modules.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::quant_nn::QuantConv2d<2, 4, 3, 1, 1, 1, 1, true, ctq::QuantDescriptor{.axis = ctq::axes(3)}> m;
#else
  ctq::quant_nn::QuantConv2d<2, 4, 3, 1, 1, 1, 1, true, ctq::QuantDescriptor{}> m;
#endif
  (void)m;
}
