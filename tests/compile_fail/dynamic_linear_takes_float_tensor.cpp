// expect: ctq: a quantized tensor reaches a float module: a DeQuantStub is missing before it
#include <ctq/core/quantize.hpp>
#include <ctq/nn/quantized/dynamic/linear.hpp>
using namespace ctq;
// A dynamically quantized Linear takes float activations and quantizes them itself.
int main() {
  nn::quantized::QuantizedWeight w{std::vector<std::int8_t>(12, 1), {0.1f}, {0}, false};
  nn::intrinsic::quantized::dynamic::LinearReLU<3, 4> layer(w, {}, nn::quantized::EngineConfig{}, true);
  Tensor<float, 2> x({2, 3});
#ifdef CTQ_SHOULD_FAIL
  auto q = quantize<dtype::quint8>(x, PerTensorQParams{0.1f, 0});
  auto y = layer(q);
#else
  auto y = layer(x);
#endif
  (void)y;
}
