// nn::quantized::dynamic::Linear / LinearFp16 and nn::intrinsic::quantized::dynamic::LinearReLU:
// float in, float out; int8 weights packed once and the input quantized per call (PyTorch's
// nnqd.Linear / nniqd.LinearReLU), or float16 weights computed in float.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../../core/arch.hpp"
#include "../../../core/detail/affine_kernels.hpp"
#include "../../../core/detail/fp.hpp"
#include "../../../core/detail/simd_convert.hpp"
#include "../../../core/error.hpp"
#include "../../../core/float16.hpp"
#include "../../../core/qparams.hpp"
#include "../../../core/tensor.hpp"
#include "../../../kernels/gemm.hpp"
#include "../../linear.hpp"
#include "../../module.hpp"
#include "../engine.hpp"

namespace ctq::nn::quantized::dynamic {

namespace detail {

/// max(value, 0) in float, +0.0 for every value that is not positive (NaN too): the fused ReLU of
/// a dynamic layer, applied to its float output as both engines do.
struct relu_float {
  template <class V>
  CTQ_ALWAYS_INLINE V operator()(const V& v, index_t) const {
    if constexpr (std::is_same_v<V, float>) {
      return v > 0.0f ? v : 0.0f;
    } else {
#if CTQ_HAS_XSIMD
      const V zero(0.0f);
      return xsimd::select(v > zero, v, zero);
#endif
    }
  }
};

/// The smallest and largest of x[0, n) (n >= 1); false when x holds a NaN.
inline bool min_max(const float* x, index_t n, float& lo, float& hi) {
  index_t i = 0;
  float l = x[0], h = x[0];
  bool nan = false;
#if CTQ_HAS_XSIMD
  using F = xsimd::batch<float>;
  constexpr auto w = static_cast<index_t>(F::size);
  if (n >= w) {
    F vl = F::load_unaligned(x), vh = vl;
    xsimd::batch_bool<float> vnan = vl != vl;
    for (i = w; i + w <= n; i += w) {
      const F v = F::load_unaligned(x + i);
      vnan = vnan | (v != v);
      vl = xsimd::min(vl, v);
      vh = xsimd::max(vh, v);
    }
    nan = xsimd::any(vnan);
    alignas(64) float bl[w], bh[w];
    vl.store_aligned(bl);
    vh.store_aligned(bh);
    l = bl[0];
    h = bh[0];
    for (index_t j = 1; j < w; ++j) {
      l = bl[j] < l ? bl[j] : l;
      h = bh[j] > h ? bh[j] : h;
    }
  }
#endif
  for (; i < n; ++i) {
    const float v = x[i];
    nan |= v != v;
    l = v < l ? v : l;
    h = v > h ? v : h;
  }
  lo = l;
  hi = h;
  return !nan;
}

/// oneDNN's f32 -> u8 reorder of the input: q = clamp(nearbyint(float(x * inv) + float(zp)),
/// 0, 255), the product and the sum each rounded to float (no FMA), ties to even.
inline void quantize_input_onednn(const float* x, std::uint8_t* q, index_t n, float inv, std::int32_t zero_point) {
  const auto zp = static_cast<float>(zero_point);
  index_t i = 0;
#if CTQ_HAS_XSIMD
  using F = xsimd::batch<float>;
  constexpr auto w = static_cast<index_t>(F::size);
  const F vinv(inv), vzp(zp), lo(0.0f), hi(255.0f);
  for (; i + w <= n; i += w) {
    const F t = ctq::detail::no_contract(F::load_unaligned(x + i) * vinv) + vzp;
    ctq::detail::store_narrow(xsimd::nearbyint_as_int(xsimd::min(xsimd::max(t, lo), hi)), q + i);
  }
#endif
  for (; i < n; ++i) {
    const float t = ctq::detail::no_contract(x[i] * inv) + zp;
    q[i] = static_cast<std::uint8_t>(std::nearbyint(t < 0.0f ? 0.0f : (t > 255.0f ? 255.0f : t)));
  }
}

/// y[rows][out] = PyTorch's linear_dynamic(x, packed weight) for the engine: x[rows][in] float is
/// quantized per call to quint8 with PyTorch's dynamic choice of scale / zero point
/// (reduce_range as given), int8 GEMM with int32 accumulation (ctq's kernels::gemm and
/// PackedWeights), output in float with bias, ReLU if relu.
///
/// Both engines: [lo, hi] = min and max of x; (s, zp) = choose_qparams(lo, hi, 0, 255) (numerics (6),
/// s in double); acc = sum_k (q - zp)(w - w_zp) in int32. Then, as PyTorch 1.13 computes them:
///   qnnpack (reduce_range ignored): q = clamp(nearbyint(x * (1.0f / float(s))) + zp, 0, 255);
///            y = float(float(acc) * float(w_s * float(s))) + bias
///   onednn:  sx = float(1.0 / s), sw = float(1.0 / double(w_s)), b_s = float(sx * sw);
///            q = clamp(nearbyint(float(float(x * sx) + zp)), 0, 255);
///            y = float(float(float(acc) + float(bias * b_s)) * float(1.0f / b_s))
/// and relu: y = y > 0 ? y : +0.0. Every step is one float32 rounding (docs/numerics.md).
class DynamicLinearCore {
 public:
  DynamicLinearCore() = default;
  DynamicLinearCore(QuantizedWeight weight, std::vector<float> bias, index_t in, index_t out, EngineConfig engine,
                    bool reduce_range, bool relu)
      : weight_(std::move(weight)),
        bias_(std::move(bias)),
        in_(in),
        out_(out),
        engine_(engine),
        reduce_range_(reduce_range),
        relu_(relu) {
    if (in < 1 || out < 1) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::Linear: in_features and out_features must be "
                                      "positive, got "
                                   << in << " and " << out);
    }
    if (static_cast<index_t>(weight_.values.size()) != in * out) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::Linear: the weight has " << weight_.values.size()
                                   << " values, the layer needs out x in = " << out << " x " << in);
    }
    const auto ns = static_cast<index_t>(weight_.scales.size());
    if ((ns != 1 && ns != out) || weight_.zero_points.size() != weight_.scales.size()) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::Linear: " << ns << " weight scales and "
                                   << weight_.zero_points.size() << " zero points for " << out
                                   << " output features; give one of each (per tensor) or one per output feature");
    }
    for (float s : weight_.scales) {
      if (!(std::isfinite(s) && s > 0.0f)) {
        raise("ctq: nn::quantized::dynamic::Linear: every weight scale must be finite and positive");
      }
    }
    if (!bias_.empty() && static_cast<index_t>(bias_.size()) != out) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::Linear: the bias has " << bias_.size()
                                   << " values, the layer has out_features " << out);
    }
    packed_ = kernels::PackedWeights<kernels::arch::best>(weight_.values.data(), out, in, in, weight_.zero_points);
    multiplier_.assign(static_cast<std::size_t>(out), 0.0f);
    bias_f_.assign(static_cast<std::size_t>(out), 0.0f);
    if (onednn()) {
      inv_w_.resize(static_cast<std::size_t>(out));
      for (std::size_t c = 0; c < inv_w_.size(); ++c) {
        inv_w_[c] = static_cast<float>(1.0 / static_cast<double>(weight_scale(c)));
      }
    } else if (!bias_.empty()) {
      std::copy(bias_.begin(), bias_.end(), bias_f_.begin());
    }
  }

  /// y[r * out + c] for r < rows, c < out. No allocation once a row count at least as large has
  /// been seen. Raises ctq::error on NaN or infinite input (PyTorch's choice of scale fails there).
  void forward(const float* x, index_t rows, float* y) {
    if (packed_.empty()) raise("ctq: nn::quantized::dynamic::Linear: the layer has no weights (default-constructed)");
    if (rows <= 0) return;
    const index_t n = rows * in_;
    float lo = 0.0f, hi = 0.0f;
    if (!min_max(x, n, lo, hi)) raise("ctq: nn::quantized::dynamic::Linear: the input holds NaN");
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
      raise("ctq: nn::quantized::dynamic::Linear: the input holds an infinity; its quantization scale is undefined");
    }
    // PyTorch's qnnpack engine ignores reduce_range (it warns that it does).
    const auto chosen = choose_qparams(lo, hi, 0, 255, false, false, reduce_range_ && onednn());
    if (static_cast<index_t>(xq_.size()) < n) xq_.resize(static_cast<std::size_t>(n));
    if (onednn()) {
      const auto inv = static_cast<float>(1.0 / chosen.scale);
      quantize_input_onednn(x, xq_.data(), n, inv, chosen.zero_point);
      update_onednn(inv);
    } else {
      const auto scale = static_cast<float>(chosen.scale);
      ctq::detail::quantize_span<dtype::quint8>(ctq::arch::best{}, x, xq_.data(), 0, n, scale, chosen.zero_point);
      update_qnnpack(scale);
    }
    const auto need = static_cast<std::size_t>(kernels::gemm_scratch_size(packed_, rows));
    if (scratch_.size() < need) scratch_.resize(need);
    const std::span<std::int32_t> scratch(scratch_);
    using namespace kernels;
    const multiply_per_channel mul{multiplier_.data()};
    const bias_add_float add{bias_f_.data()};
    const store<float> st{y, out_};
    const std::int32_t zp = chosen.zero_point;
    if (onednn()) {
      if (relu_) {
        gemm(xq_.data(), rows, in_, zp, packed_, make_output_pipeline(convert_to_float{}, add, mul, relu_float{}, st),
             scratch);
      } else {
        gemm(xq_.data(), rows, in_, zp, packed_, make_output_pipeline(convert_to_float{}, add, mul, st), scratch);
      }
    } else {
      if (relu_) {
        gemm(xq_.data(), rows, in_, zp, packed_, make_output_pipeline(mul, add, relu_float{}, st), scratch);
      } else {
        gemm(xq_.data(), rows, in_, zp, packed_, make_output_pipeline(mul, add, st), scratch);
      }
    }
  }

  const QuantizedWeight& weight() const { return weight_; }
  const std::vector<float>& bias() const { return bias_; }
  index_t in_features() const { return in_; }
  index_t out_features() const { return out_; }
  const EngineConfig& engine() const { return engine_; }
  bool reduce_range() const { return reduce_range_; }
  bool relu() const { return relu_; }
  /// Bytes of parameters (int8 weights, float scales, zero points and bias).
  std::size_t parameter_bytes() const {
    return weight_.values.size() + 4 * (weight_.scales.size() + weight_.zero_points.size() + bias_.size());
  }

 private:
  bool onednn() const { return engine_.style == kernels::requantize_style::onednn; }
  float weight_scale(std::size_t c) const { return weight_.scales[weight_.scales.size() == 1 ? 0 : c]; }

  // qnnpack: multiplier = float(w_s * x_s), bias as it is. Recomputed only when the scale changes.
  void update_qnnpack(float x_scale) {
    if (cached_ && x_scale == cached_key_) return;
    for (std::size_t c = 0; c < multiplier_.size(); ++c) {
      multiplier_[c] = ctq::detail::no_contract(weight_scale(c) * x_scale);
    }
    cached_key_ = x_scale;
    cached_ = true;
  }

  // onednn: b_s = float(sx * sw), multiplier = 1.0f / b_s, bias scaled by b_s (keyed by sx);
  // sw = float(1.0 / double(w_s)) is made once, in the constructor.
  void update_onednn(float sx) {
    if (cached_ && sx == cached_key_) return;
    for (std::size_t c = 0; c < multiplier_.size(); ++c) {
      const float b_s = ctq::detail::no_contract(sx * inv_w_[c]);
      multiplier_[c] = 1.0f / b_s;
      bias_f_[c] = bias_.empty() ? 0.0f : ctq::detail::no_contract(bias_[c] * b_s);
    }
    cached_key_ = sx;
    cached_ = true;
  }

  QuantizedWeight weight_;
  std::vector<float> bias_;
  index_t in_ = 0, out_ = 0;
  EngineConfig engine_;
  bool reduce_range_ = true, relu_ = false;
  kernels::PackedWeights<kernels::arch::best> packed_;
  std::vector<float> multiplier_, bias_f_;  // per output feature, for the last input scale
  std::vector<float> inv_w_;                // onednn: float(1.0 / double(w_s)) per output feature
  float cached_key_ = 0.0f;
  bool cached_ = false;
  std::vector<std::uint8_t> xq_;
  std::vector<std::int32_t> scratch_;
};

/// The same with float16 weights (PyTorch's linear_dynamic_fp16 / fbgemm fp16 path semantics:
/// weights saturated to +-65504 and rounded to float16, compute in float: y = x w16^T + bias
/// through Eigen, in its order of summation; ReLU after).
class Fp16LinearCore {
 public:
  Fp16LinearCore() = default;
  Fp16LinearCore(const float* weight, std::vector<float> bias, index_t in, index_t out, bool relu)
      : bias_(std::move(bias)), in_(in), out_(out), relu_(relu) {
    if (in < 1 || out < 1) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::LinearFp16: in_features and out_features must "
                                      "be positive, got "
                                   << in << " and " << out);
    }
    if (!bias_.empty() && static_cast<index_t>(bias_.size()) != out) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::LinearFp16: the bias has " << bias_.size()
                                   << " values, the layer has out_features " << out);
    }
    const auto count = static_cast<std::size_t>(in * out);
    half_.resize(count);
    weight_.resize(count);
    // As PyTorch's fp16 prepack: weights beyond float16's range saturate to +-65504 (not infinity),
    // then round to nearest even (subnormals kept).
    constexpr float fp16_max = 65504.0f;
    for (std::size_t i = 0; i < count; ++i) {
      const float w = weight[i];
      half_[i] = ctq::float16_t::from_float(w > fp16_max ? fp16_max : (w < -fp16_max ? -fp16_max : w));
      weight_[i] = half_[i].to_float();
    }
  }

  void forward(const float* x, index_t rows, float* y) {
    if (weight_.empty()) raise("ctq: nn::quantized::dynamic::LinearFp16: the layer has no weights");
    if (rows <= 0) return;
    nn::detail::linear_forward(x, rows, in_, out_, weight_.data(), bias_.empty() ? nullptr : bias_.data(), y);
    if (relu_) {
      for (index_t i = 0; i < rows * out_; ++i) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    }
  }

  const std::vector<ctq::float16_t>& weight_fp16() const { return half_; }
  const std::vector<float>& bias() const { return bias_; }
  /// Bytes of parameters (float16 weights and float bias).
  std::size_t parameter_bytes() const { return 2 * half_.size() + 4 * bias_.size(); }

 private:
  std::vector<ctq::float16_t> half_;
  std::vector<float> weight_;  // the float16 values widened once, for the float GEMM
  std::vector<float> bias_;
  index_t in_ = 0, out_ = 0;
  bool relu_ = false;
};

}  // namespace detail

/// PyTorch's nnqd.Linear (qint8 weights): float [..., In] -> float [..., Out].
template <index_t In, index_t Out, bool Relu = false>
class LinearT : public ctq::detail::rejects_quantized {
  static_assert(In >= 1 && Out >= 1,
                "ctq: nn::quantized::dynamic::Linear: in_features and out_features must be positive");

 public:
  static constexpr std::string_view name = Relu ? "LinearReLU (dynamic quantized)" : "Linear (dynamic quantized)";
  static constexpr index_t in_features = In, out_features = Out;

  LinearT() = default;
  /// weight: [Out][In] int8 (PyTorch's layout), one scale / zero point or Out of them; bias: empty
  /// or Out floats; reduce_range: PyTorch's nnqd.Linear passes true (the qnnpack engine ignores it).
  LinearT(QuantizedWeight weight, std::vector<float> bias, EngineConfig engine, bool reduce_range = true)
      : core_(std::move(weight), std::move(bias), In, Out, engine, reduce_range, Relu) {}

  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    static_assert(R >= 1, "ctq: nn::quantized::dynamic::Linear: the input needs at least one dimension");
    if (x.dim(R - 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::Linear: the input's last dimension is "
                                   << x.dim(R - 1) << ", the layer has in_features " << In);
    }
    auto shape = x.shape();
    shape[R - 1] = Out;
    Tensor<float, R> y(shape);
    core_.forward(x.data(), x.size() / In, y.data());
    return y;
  }

  const QuantizedWeight& weight() const { return core_.weight(); }
  const std::vector<float>& bias() const { return core_.bias(); }
  std::size_t parameter_bytes() const { return core_.parameter_bytes(); }

 private:
  detail::DynamicLinearCore core_;
};

/// PyTorch's nnqd.Linear with float16 weights (float16_dynamic_qconfig).
template <index_t In, index_t Out, bool Relu = false>
class LinearFp16T : public ctq::detail::rejects_quantized {
  static_assert(In >= 1 && Out >= 1,
                "ctq: nn::quantized::dynamic::LinearFp16: in_features and out_features must be positive");

 public:
  static constexpr std::string_view name = Relu ? "LinearReLU (dynamic float16)" : "Linear (dynamic float16)";
  static constexpr index_t in_features = In, out_features = Out;

  LinearFp16T() = default;
  /// weight: [Out][In] float, rounded to float16 here; bias: empty or Out floats.
  LinearFp16T(const Tensor<float, 2>& weight, std::vector<float> bias)
      : core_(check(weight), std::move(bias), In, Out, Relu) {}

  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    static_assert(R >= 1, "ctq: nn::quantized::dynamic::LinearFp16: the input needs at least one dimension");
    if (x.dim(R - 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::LinearFp16: the input's last dimension is "
                                   << x.dim(R - 1) << ", the layer has in_features " << In);
    }
    auto shape = x.shape();
    shape[R - 1] = Out;
    Tensor<float, R> y(shape);
    core_.forward(x.data(), x.size() / In, y.data());
    return y;
  }

  /// The weights as stored, float16 [Out][In].
  const std::vector<ctq::float16_t>& weight_fp16() const { return core_.weight_fp16(); }
  const std::vector<float>& bias() const { return core_.bias(); }
  /// Bytes of parameters (float16 weights and float bias).
  std::size_t parameter_bytes() const { return core_.parameter_bytes(); }

 private:
  static const float* check(const Tensor<float, 2>& w) {
    if (w.dim(0) != Out || w.dim(1) != In) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic::LinearFp16: the weight is " << w.dim(0) << " x "
                                   << w.dim(1) << ", the layer needs out x in = " << Out << " x " << In);
    }
    return w.data();
  }
  detail::Fp16LinearCore core_;
};

template <index_t In, index_t Out>
using Linear = LinearT<In, Out, false>;
template <index_t In, index_t Out>
using LinearFp16 = LinearFp16T<In, Out, false>;

}  // namespace ctq::nn::quantized::dynamic

namespace ctq::nn::intrinsic::quantized::dynamic {
template <index_t In, index_t Out>
using LinearReLU = nn::quantized::dynamic::LinearT<In, Out, true>;
}  // namespace ctq::nn::intrinsic::quantized::dynamic
