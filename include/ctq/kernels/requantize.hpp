// The requantization of a quantized Linear or Conv (uint8 input x int8 weights -> uint8 or int8
// output), with the parameters computed once from the scales, exactly as PyTorch 1.13's engines
// compute them. The two engines round differently; each style reproduces its engine bit for bit
// (tests/kernels/test_qlinear_reference.cpp, docs/numerics.md (15)):
//
//   qnnpack: bias_q = nearbyint(bias * (1 / (w_s x_s)))            int32, float reciprocal
//            mult   = (w_s x_s) * (1 / y_s)                           float
//            y      = clamp(nearbyint(float(acc + bias_q) * mult) + y_zp)
//   onednn:  b_s    = float(1 / x_s) * float(1 / w_s)                reciprocals in double
//            mult   = float(1 / y_s) / b_s,  bias_f = bias * b_s     float
//            y      = clamp(nearbyint((float(acc) + bias_f) * mult + y_zp))
//
// ReLU clamps at the output zero point in both (the same as clamping the float at 0 first).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"
#include "../core/qparams.hpp"
#include "output_pipeline.hpp"

namespace ctq::kernels {

/// Whose rounding a quantized layer reproduces.
enum class requantize_style { qnnpack, onednn };

/// Per-output-column requantization parameters of one layer.
class Requantization {
 public:
  Requantization() = default;

  /// x_scale: the input's scale; w_scales: one (per-tensor) or n (per-channel); bias: empty or n
  /// floats; output in [qmin, qmax] with y_scale / y_zero_point; relu fuses a ReLU.
  Requantization(requantize_style style, index_t n, float x_scale, std::span<const float> w_scales,
                 std::span<const float> bias, float y_scale, std::int32_t y_zero_point, std::int32_t qmin,
                 std::int32_t qmax, bool relu)
      : style_(style), zero_point_(y_zero_point), lo_(relu ? std::max(qmin, y_zero_point) : qmin), hi_(qmax) {
    const auto ws = static_cast<index_t>(w_scales.size());
    if (n < 1 || (ws != 1 && ws != n) || (!bias.empty() && static_cast<index_t>(bias.size()) != n)) {
      raise(ctq::detail::message() << "ctq: Requantization: " << n << " output columns need 1 or " << n
                                   << " weight scales (got " << ws << ") and 0 or " << n << " biases (got "
                                   << bias.size() << ")");
    }
    auto positive = [](float s) { return std::isfinite(s) && s > 0.0f; };
    bool ok = positive(x_scale) && positive(y_scale);
    for (float s : w_scales) ok = ok && positive(s);
    if (!ok) raise("ctq: Requantization: every scale must be finite and positive");
    if (qmin > qmax || qmin < -(1 << 24) || qmax > (1 << 24)) {  // round_clamp needs them exact in float
      raise(ctq::detail::message() << "ctq: Requantization: the output range [" << qmin << ", " << qmax
                                   << "] must be non-empty and within [-2^24, 2^24]");
    }
    if (y_zero_point < qmin || y_zero_point > qmax) {
      raise(ctq::detail::message() << "ctq: Requantization: output zero point " << y_zero_point << " is outside ["
                                   << qmin << ", " << qmax << "]");
    }
    multiplier_.resize(static_cast<std::size_t>(n));
    bias_q_.assign(static_cast<std::size_t>(n), 0);
    bias_f_.assign(static_cast<std::size_t>(n), 0.0f);
    for (index_t c = 0; c < n; ++c) {
      const float w_s = w_scales[static_cast<std::size_t>(ws == 1 ? 0 : c)];
      const float b = bias.empty() ? 0.0f : bias[static_cast<std::size_t>(c)];
      const auto i = static_cast<std::size_t>(c);
      if (style == requantize_style::qnnpack) {
        const float product = ctq::detail::no_contract(w_s * x_scale);
        multiplier_[i] = product * ctq::detail::no_contract(1.0f / y_scale);
        const float q = b * ctq::detail::no_contract(1.0f / product);
        bias_q_[i] = saturate(q);
      } else {
        const auto inv_x = static_cast<float>(1.0 / static_cast<double>(x_scale));
        const auto inv_w = static_cast<float>(1.0 / static_cast<double>(w_s));
        const auto inv_y = static_cast<float>(1.0 / static_cast<double>(y_scale));
        const float b_s = ctq::detail::no_contract(inv_x * inv_w);
        multiplier_[i] = inv_y / b_s;
        bias_f_[i] = b * b_s;
      }
    }
  }

  requantize_style style() const { return style_; }
  const float* multipliers() const { return multiplier_.data(); }
  const std::int32_t* bias_int32() const { return bias_q_.data(); }
  const float* bias_float() const { return bias_f_.data(); }

  /// Calls f(pipeline) with the output pipeline of this layer's style, storing T (std::uint8_t or
  /// std::int8_t) at y[row * ld + col].
  template <class T, class F>
  void with_pipeline(T* y, index_t ld, F&& f) const {
    if (style_ == requantize_style::qnnpack) {
      f(make_output_pipeline(bias_add{bias_q_.data()}, multiply_per_channel{multiplier_.data()}, round_to_int{},
                             add_zero_point{zero_point_}, clamp{lo_, hi_}, store<T>{y, ld}));
    } else {
      f(make_output_pipeline(convert_to_float{}, bias_add_float{bias_f_.data()},
                             multiply_per_channel{multiplier_.data()}, add_zero_point{zero_point_},
                             round_clamp{lo_, hi_}, store<T>{y, ld}));
    }
  }

 private:
  static std::int32_t saturate(float q) {
    const float r = std::nearbyint(q);
    if (!(r > -2147483648.0f)) return std::numeric_limits<std::int32_t>::min();
    if (r >= 2147483648.0f) return std::numeric_limits<std::int32_t>::max();
    return static_cast<std::int32_t>(r);
  }

  requantize_style style_ = requantize_style::qnnpack;
  std::int32_t zero_point_ = 0, lo_ = 0, hi_ = 255;
  std::vector<float> multiplier_, bias_f_;
  std::vector<std::int32_t> bias_q_;
};

}  // namespace ctq::kernels
