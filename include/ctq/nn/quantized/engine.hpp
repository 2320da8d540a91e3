// What a converted model's kernels reproduce: the requantization style of PyTorch's engine and
// the configuration of its elementwise and pooling ops. convert<Backend> sets it from the backend.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "../../core/dtype.hpp"
#include "../../core/qparams.hpp"
#include "../../core/qscheme.hpp"
#include "../../core/qtensor.hpp"
#include "../../kernels/requantize.hpp"
#include "../../kernels/torch_numerics.hpp"

namespace ctq::nn::quantized {

struct EngineConfig {
  kernels::requantize_style style = kernels::requantize_style::onednn;
  kernels::TorchConfig torch{};
};

/// A float module's weight as convert quantizes it: int8 values in the float module's layout,
/// one scale and zero point (per tensor) or one per output channel.
struct QuantizedWeight {
  std::vector<std::int8_t> values;
  std::vector<float> scales;
  std::vector<std::int32_t> zero_points;
  bool per_channel = false;
};

/// The activations of ctq's static int8 modules: quint8, per-tensor affine.
template <int R>
using QActivation = QTensor<dtype::quint8, qscheme::per_tensor_affine, R>;

namespace detail {

/// Requantization parameters for the last input scale seen: rebuilt only when it changes, so a
/// forward pass over inputs of one scale allocates nothing.
class RequantizationCache {
 public:
  const kernels::Requantization& get(EngineConfig e, index_t n, float x_scale, std::span<const float> w_scales,
                                     std::span<const float> bias, PerTensorQParams out, bool relu) {
    if (!valid_ || x_scale != x_scale_) {
      r_ = kernels::Requantization(e.style, n, x_scale, w_scales, bias, out.scale, out.zero_point, 0, 255, relu);
      x_scale_ = x_scale;
      valid_ = true;
    }
    return r_;
  }
  void reset() { valid_ = false; }

 private:
  kernels::Requantization r_;
  float x_scale_ = 0.0f;
  bool valid_ = false;
};

}  // namespace detail
}  // namespace ctq::nn::quantized
