// expect: ctq: nn::quantized::dynamic::Linear: the input needs at least one dimension
#include <ctq/nn/quantized/dynamic/linear.hpp>
using namespace ctq;
int main() {
  nn::quantized::QuantizedWeight w{std::vector<std::int8_t>(12, 1), {0.1f}, {0}, false};
  nn::quantized::dynamic::Linear<3, 4> layer(w, {}, nn::quantized::EngineConfig{}, true);
#ifdef CTQ_SHOULD_FAIL
  Tensor<float, 0> x;
#else
  Tensor<float, 1> x({3});
#endif
  auto y = layer(x);
  (void)y;
}
