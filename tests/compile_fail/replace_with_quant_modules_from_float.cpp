// expect: ctq: replace_with_quant_modules: the module's quant_module<F>::type<C> needs a static from_float
#include <ctq/nn/activation.hpp>
#include <ctq/nn/sequential.hpp>
#include <ctq/tensor_quant/quant_modules.hpp>
using namespace ctq;

// A user's mapping of ReLU: without from_float the pass cannot build it.
struct QuantReLU : nn::ReLU {
#ifndef CTQ_SHOULD_FAIL
  static QuantReLU from_float(nn::ReLU&&) { return {}; }
#endif
};
template <>
struct ctq::quant_nn::quant_module<nn::ReLU> {
  template <QuantModulesConfig C>
  using type = QuantReLU;
};

int main() {
  auto q = replace_with_quant_modules(nn::Sequential<nn::Linear<4, 2>, nn::ReLU>{});
  (void)q;
}
