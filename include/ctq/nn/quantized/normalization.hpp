// Quantized normalization (PyTorch's nnq.BatchNorm2d / 3d, nniq.BNReLU2d / 3d, nnq.LayerNorm,
// nnq.GroupNorm, nnq.InstanceNorm1d / 2d / 3d) on channels-last quint8 tensors: float weight and
// bias, the output scale and zero point its observer chose. The codes are PyTorch 1.13's, bit for
// bit, on both engines (they run the same ATen kernels for these ops): every float step below is
// the one of ATen's x86 (AVX2) kernels, whose multiply-adds the compiler fused into FMAs, and the
// factors quantized::batch_norm computes outside them, which are not fused. docs/numerics.md
// derives them; tests/nn/test_normalization.cpp checks them against PyTorch.
//
// Like PyTorch's, the quantized InstanceNorm always normalizes with each instance's own statistics,
// also when the float module tracked running statistics.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "../../core/detail/fp.hpp"
#include "../../core/error.hpp"
#include "../../kernels/torch_numerics.hpp"
#include "../module.hpp"
#include "../normalization.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

namespace detail {

/// quantized::batch_norm's per-channel factors, computed as PyTorch does outside its kernel
/// (float, some steps in double, no FMA):
///   inv_sigma = float(1.0 / sqrtf(var + float(eps)))
///   alpha = float(double(inv_sigma * w) * (double(x_scale) / double(y_scale)))
///   beta  = float(double(b - mean * inv_sigma * w) / double(y_scale))
inline void batch_norm_factors(index_t c, const float* w, const float* b, const float* mean, const float* var,
                               float eps, float x_scale, float y_scale, float* alpha, float* beta) {
  const double ratio = static_cast<double>(x_scale) / static_cast<double>(y_scale);
  for (index_t i = 0; i < c; ++i) {
    const float inv_sigma = static_cast<float>(1.0 / static_cast<double>(std::sqrt(var[i] + eps)));
    const float inv_sigma_w = ctq::detail::no_contract(inv_sigma * w[i]);
    alpha[i] = static_cast<float>(static_cast<double>(inv_sigma_w) * ratio);
    const float shift = ctq::detail::no_contract(ctq::detail::no_contract(mean[i] * inv_sigma) * w[i]);
    beta[i] = static_cast<float>(static_cast<double>(b[i] - shift) / static_cast<double>(y_scale));
  }
}

/// y = clamp(nearbyint(fma(alpha, q - x_zp, beta)) + y_zp, 0, 255), with ReLU max(y, y_zp); x
/// and y are `pixels` rows of c channels.
inline void batch_norm_codes(const std::uint8_t* x, index_t pixels, index_t c, std::int32_t x_zp, const float* alpha,
                             const float* beta, std::int32_t y_zp, bool relu, std::uint8_t* y) {
  const float lo = static_cast<float>((relu ? y_zp : 0) - y_zp), hi = static_cast<float>(255 - y_zp);
  for (index_t p = 0; p < pixels; ++p) {
    const std::uint8_t* xp = x + p * c;
    std::uint8_t* yp = y + p * c;
    for (index_t i = 0; i < c; ++i) {
      float t = std::fma(alpha[i], static_cast<float>(std::int32_t{xp[i]} - x_zp), beta[i]);
      if (!(t >= lo)) t = lo;
      if (t > hi) t = hi;
      yp[i] = static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(t)) + y_zp);
    }
  }
}

/// A group's statistics as ATen's normalize kernels use them: mean in input steps,
/// mean = float(s1) / float(n) - x_zp, and scale = x_scale / std:
///   m = s1 / n, var = max(fma(-m, m, s2 / n), 0)             (float; s1, s2: sums of codes, squares)
///   scale = float(double(x_scale) / sqrt(double(var * x_scale * x_scale) + eps))
struct GroupMoments {
  float mean, scale;
};
inline GroupMoments group_moments(float s1, float s2, index_t n, std::int32_t x_zp, float x_scale, double eps) {
  const float fn = static_cast<float>(n);
  const float m = s1 / fn;
  const float var = std::fmax(std::fma(-m, m, s2 / fn), 0.0f);
  const float var_x = ctq::detail::no_contract(ctq::detail::no_contract(var * x_scale) * x_scale);
  const double scale = static_cast<double>(x_scale) / std::sqrt(static_cast<double>(var_x) + eps);
  return {m - static_cast<float>(x_zp), static_cast<float>(scale)};
}

/// quantize(y) = clamp(nearbyint(y * (1.0f / y_scale)) + y_zp), as ATen's kernels.
inline std::uint8_t quantize_code(float y, float inv_scale, std::int32_t zp) {
  return kernels::detail::quantize_with<std::uint8_t>(y, inv_scale, zp);
}

/// quantized::layer_norm: `rows` rows of n codes, each normalized on its own;
/// y = quantize(fma((q - x_zp - mean) * scale, w, b)), w and b (n values) or null (1 and 0).
inline void layer_norm_codes(const std::uint8_t* x, index_t rows, index_t n, PerTensorQParams xq, const float* w,
                             const float* b, double eps, PerTensorQParams yq, std::uint8_t* y) {
  const float inv = kernels::detail::inverse_f32(yq.scale);
  for (index_t r = 0; r < rows; ++r) {
    const std::uint8_t* xr = x + r * n;
    std::int64_t s1 = 0, s2 = 0;
    for (index_t j = 0; j < n; ++j) {
      s1 += xr[j];
      s2 += std::int64_t{xr[j]} * xr[j];
    }
    const auto g = group_moments(static_cast<float>(s1), static_cast<float>(s2), n, xq.zero_point, xq.scale, eps);
    for (index_t j = 0; j < n; ++j) {
      const float t = static_cast<float>(std::int32_t{xr[j]} - xq.zero_point) - g.mean;
      const float ts = ctq::detail::no_contract(t * g.scale);
      const float v = w != nullptr ? std::fma(ts, w[j], b[j]) : ts;
      y[r * n + j] = quantize_code(v, inv, yq.zero_point);
    }
  }
}

/// quantized::group_norm / instance_norm on channels-last codes x[batch][pixels][c], `groups`
/// groups of consecutive channels, w and b (c values) or null. ATen has two kernels:
///   - contiguous tensors: exact integer sums; y = quantize(fma(q - x_zp - mean, scale * w, b));
///   - channels-last tensors (nhwc): s = scale * w, shift = fma(-s, mean, b),
///     y = quantize(fma(q - x_zp, s, shift)); the sums are exact integers for fewer than 512
///     pixels, otherwise float sums per channel over the pixels, then over the group's channels
///     (PyTorch's order with one thread).
/// scratch: 2 c floats.
inline void group_norm_codes(const std::uint8_t* x, index_t batch, index_t pixels, index_t c, index_t groups,
                             PerTensorQParams xq, const float* w, const float* b, double eps, PerTensorQParams yq,
                             bool nhwc, float* scratch, std::uint8_t* y) {
  const index_t cpg = c / groups;
  const index_t n = pixels * cpg;
  const float inv = kernels::detail::inverse_f32(yq.scale);
  float* scale = scratch;
  float* shift = scratch + c;
  for (index_t s = 0; s < batch; ++s) {
    const std::uint8_t* xs = x + s * pixels * c;
    std::uint8_t* ys = y + s * pixels * c;
    for (index_t g = 0; g < groups; ++g) {
      const index_t c0 = g * cpg;
      float s1 = 0.0f, s2 = 0.0f;
      if (nhwc && pixels >= 512) {
        float* sum = scale + c0;  // per-channel float sums, reused below for the scale and shift
        float* sum_sq = shift + c0;
        for (index_t i = 0; i < cpg; ++i) sum[i] = sum_sq[i] = 0.0f;
        for (index_t p = 0; p < pixels; ++p) {
          const std::uint8_t* xp = xs + p * c + c0;
          for (index_t i = 0; i < cpg; ++i) {
            sum[i] += static_cast<float>(xp[i]);
            sum_sq[i] += static_cast<float>(std::int32_t{xp[i]} * xp[i]);
          }
        }
        for (index_t i = 0; i < cpg; ++i) {
          s1 += sum[i];
          s2 += sum_sq[i];
        }
      } else {
        std::int64_t i1 = 0, i2 = 0;
        for (index_t p = 0; p < pixels; ++p) {
          const std::uint8_t* xp = xs + p * c + c0;
          for (index_t i = 0; i < cpg; ++i) {
            i1 += xp[i];
            i2 += std::int64_t{xp[i]} * xp[i];
          }
        }
        s1 = static_cast<float>(i1);
        s2 = static_cast<float>(i2);
      }
      const auto mom = group_moments(s1, s2, n, xq.zero_point, xq.scale, eps);
      for (index_t i = c0; i < c0 + cpg; ++i) {
        scale[i] = ctq::detail::no_contract(mom.scale * (w != nullptr ? w[i] : 1.0f));
        const float bi = b != nullptr ? b[i] : 0.0f;
        shift[i] = nhwc ? std::fma(-scale[i], mom.mean, bi) : bi;
      }
      for (index_t p = 0; p < pixels; ++p) {
        const std::uint8_t* xp = xs + p * c;
        std::uint8_t* yp = ys + p * c;
        for (index_t i = c0; i < c0 + cpg; ++i) {
          const float d = static_cast<float>(std::int32_t{xp[i]} - xq.zero_point);
          const float v = nhwc ? std::fma(d, scale[i], shift[i]) : std::fma(d - mom.mean, scale[i], shift[i]);
          yp[i] = quantize_code(v, inv, yq.zero_point);
        }
      }
    }
  }
}

/// Whether PyTorch runs its channels-last group norm kernel: a 4-d tensor that is channels-last
/// contiguous (the channels-last memory format; a contiguous one with one channel or H = W = 1).
inline bool takes_nhwc_kernel(const kernels::TorchConfig& torch, int rank, index_t channels, index_t pixels) {
  return rank == 4 && (torch.format == kernels::memory_format::channels_last || channels == 1 || pixels == 1);
}

/// The double a Python literal for eps denotes, recovered from the float that holds it in a ctq
/// template argument: the shortest decimal that rounds to the float, read as a double (1e-5f gives
/// 1e-5). PyTorch's layer_norm, group_norm and instance_norm add eps in double; batch_norm
/// rounds it to float first.
inline double eps_as_double(float eps) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, eps).ptr;
  double d = eps;
  std::from_chars(text, end, d);
  return d;
}

inline void check_output_qparams(PerTensorQParams out, std::string_view op) {
  kernels::detail::check_qparams<std::uint8_t>(out, op, "output");
}

inline void check_channels(index_t got, index_t want, std::string_view op) {
  if (got != want) {
    raise(ctq::detail::message() << "ctq: " << op << ": the input has " << got
                                 << " channels (last dimension), the layer has " << want);
  }
}

inline void check_length(std::size_t got, std::size_t want, std::string_view op, std::string_view what) {
  if (got != want) {
    raise(ctq::detail::message() << "ctq: " << op << ": " << what << " has " << got << " values, expected " << want);
  }
}

/// Float parameters of a quantized normalization: weight and bias (both or neither).
struct NormParams {
  std::vector<float> weight, bias;
  const float* w() const { return weight.empty() ? nullptr : weight.data(); }
  const float* b() const { return bias.empty() ? nullptr : bias.data(); }
  std::size_t bytes() const { return sizeof(float) * (weight.size() + bias.size()); }
  void check(std::size_t n, std::string_view op) const {
    if (weight.empty() && bias.empty()) return;
    check_length(weight.size(), n, op, "the weight");
    check_length(bias.size(), n, op, "the bias");
  }
};

}  // namespace detail

/// nnq.BatchNorm2d / 3d (R) and, with Relu, nniq.BNReLU2d / 3d: per-channel affine from the
/// running statistics, requantized to the output parameters.
template <int R, index_t C, bool Relu = false>
class BatchNormT : public ctq::detail::rejects_float {
  static_assert(R == 2 || R == 3, "ctq: nn::quantized::BatchNorm: 2d or 3d (PyTorch has no quantized BatchNorm1d)");
  static_assert(C >= 1, "ctq: nn::quantized::BatchNorm: num_features must be positive");

 public:
  static constexpr std::string_view name = Relu ? (R == 2 ? "BNReLU2d (quantized)" : "BNReLU3d (quantized)")
                                                : (R == 2 ? "BatchNorm2d (quantized)" : "BatchNorm3d (quantized)");
  static constexpr int spatial_dims = R;
  static constexpr index_t num_features = C;

  BatchNormT() = default;
  /// Each of weight, bias, running_mean, running_var has C values; eps as float (PyTorch's
  /// batch_norm rounds it to float).
  BatchNormT(std::vector<float> weight, std::vector<float> bias, std::vector<float> running_mean,
             std::vector<float> running_var, float eps, PerTensorQParams out, EngineConfig engine)
      : weight_(std::move(weight)),
        bias_(std::move(bias)),
        mean_(std::move(running_mean)),
        var_(std::move(running_var)),
        eps_(eps),
        out_(out),
        engine_(engine) {
    detail::check_length(weight_.size(), C, name, "the weight");
    detail::check_length(bias_.size(), C, name, "the bias");
    detail::check_length(mean_.size(), C, name, "running_mean");
    detail::check_length(var_.size(), C, name, "running_var");
    detail::check_output_qparams(out_, name);
  }

  using ctq::detail::rejects_float::operator();
  template <int XR>
  QActivation<XR> operator()(const QActivation<XR>& x) {
    static_assert(XR == R + 2, "ctq: nn::quantized::BatchNorm: BatchNorm2d takes [N, H, W, C], 3d [N, D, H, W, C]");
    detail::check_channels(x.dim(XR - 1), C, name);
    if (x.size() == 0) return x;  // PyTorch returns a clone of an empty input, parameters included
    if (!cached_ || x.scale() != cached_scale_) {
      detail::batch_norm_factors(C, weight_.data(), bias_.data(), mean_.data(), var_.data(), eps_, x.scale(),
                                 out_.scale, alpha_.data(), beta_.data());
      cached_scale_ = x.scale();
      cached_ = true;
    }
    QActivation<XR> y(x.shape(), out_);
    detail::batch_norm_codes(x.data(), x.size() / C, C, x.zero_point(), alpha_.data(), beta_.data(), out_.zero_point,
                             Relu, y.data());
    return y;
  }

  PerTensorQParams output_qparams() const { return out_; }
  float scale() const { return out_.scale; }
  std::int32_t zero_point() const { return out_.zero_point; }
  float eps() const { return eps_; }
  const EngineConfig& engine() const { return engine_; }
  const std::vector<float>& weight() const { return weight_; }
  const std::vector<float>& bias() const { return bias_; }
  const std::vector<float>& running_mean() const { return mean_; }
  const std::vector<float>& running_var() const { return var_; }
  /// Bytes of parameters (float weight, bias, running statistics).
  std::size_t parameter_bytes() const { return sizeof(float) * 4 * static_cast<std::size_t>(C); }

 private:
  // a default-constructed layer is PyTorch's nnq.BatchNorm2d(C): the identity, output scale 1
  std::vector<float> weight_ = std::vector<float>(C, 1.0f), bias_ = std::vector<float>(C, 0.0f),
                     mean_ = std::vector<float>(C, 0.0f), var_ = std::vector<float>(C, 1.0f);
  float eps_ = 1e-5f;
  PerTensorQParams out_;
  EngineConfig engine_;
  std::vector<float> alpha_ = std::vector<float>(C), beta_ = std::vector<float>(C);  // for the last input scale
  float cached_scale_ = 0.0f;
  bool cached_ = false;
};

template <index_t C>
using BatchNorm2d = BatchNormT<2, C, false>;
template <index_t C>
using BatchNorm3d = BatchNormT<3, C, false>;

/// nnq.LayerNorm over the trailing dimensions Dims (nn::dims<...>) of the tensor as ctq holds it
/// (see nn/normalization.hpp for image tensors).
template <class Dims>
class LayerNorm;

template <index_t... D>
class LayerNorm<nn::dims<D...>> : public ctq::detail::rejects_float {
 public:
  using normalized_shape = nn::dims<D...>;
  static constexpr std::string_view name = "LayerNorm (quantized)";

  LayerNorm() = default;
  /// weight and bias: normalized_shape::size values each (row-major), or both empty
  /// (elementwise_affine false).
  /// eps as PyTorch holds it (a double; see detail::eps_as_double).
  LayerNorm(std::vector<float> weight, std::vector<float> bias, double eps, PerTensorQParams out, EngineConfig engine)
      : params_{std::move(weight), std::move(bias)}, eps_(eps), out_(out), engine_(engine) {
    params_.check(static_cast<std::size_t>(normalized_shape::size), name);
    detail::check_output_qparams(out_, name);
  }

  using ctq::detail::rejects_float::operator();
  template <int XR>
  QActivation<XR> operator()(const QActivation<XR>& x) const {
    nn::LayerNorm<normalized_shape>::check_input(x.shape());
    QActivation<XR> y(x.shape(), out_);
    detail::layer_norm_codes(x.data(), x.size() / normalized_shape::size, normalized_shape::size,
                             {x.scale(), x.zero_point()}, params_.w(), params_.b(), eps_, out_, y.data());
    return y;
  }

  PerTensorQParams output_qparams() const { return out_; }
  float scale() const { return out_.scale; }
  std::int32_t zero_point() const { return out_.zero_point; }
  double eps() const { return eps_; }
  const EngineConfig& engine() const { return engine_; }
  bool elementwise_affine() const { return !params_.weight.empty(); }
  const std::vector<float>& weight() const { return params_.weight; }
  const std::vector<float>& bias() const { return params_.bias; }
  std::size_t parameter_bytes() const { return params_.bytes(); }

 private:
  detail::NormParams params_;
  double eps_ = 1e-5;
  PerTensorQParams out_;
  EngineConfig engine_;
};

namespace detail {

/// GroupNorm and InstanceNorm: Groups groups of C channels (InstanceNorm: Groups = C).
template <index_t Groups, index_t C>
class QGroupNorm : public ctq::detail::rejects_float {
  static_assert(Groups >= 1 && C >= 1 && C % Groups == 0,
                "ctq: nn::quantized::GroupNorm: num_channels must be a positive multiple of num_groups");

 public:
  QGroupNorm() = default;
  QGroupNorm(std::vector<float> weight, std::vector<float> bias, double eps, PerTensorQParams out, EngineConfig engine,
             std::string_view name)
      : params_{std::move(weight), std::move(bias)}, eps_(eps), out_(out), engine_(engine) {
    params_.check(C, name);
    check_output_qparams(out_, name);
  }

  template <int XR>
  QActivation<XR> forward(const QActivation<XR>& x, std::string_view name) {
    check_channels(x.dim(XR - 1), C, name);
    QActivation<XR> y(x.shape(), out_);
    const index_t pixels = nn::detail::pixels_of(x.shape());
    group_norm_codes(x.data(), x.dim(0), pixels, C, Groups, {x.scale(), x.zero_point()}, params_.w(), params_.b(), eps_,
                     out_, takes_nhwc_kernel(engine_.torch, XR, C, pixels), scratch_.data(), y.data());
    return y;
  }

  PerTensorQParams output_qparams() const { return out_; }
  float scale() const { return out_.scale; }
  std::int32_t zero_point() const { return out_.zero_point; }
  double eps() const { return eps_; }
  const EngineConfig& engine() const { return engine_; }
  bool affine() const { return !params_.weight.empty(); }
  const std::vector<float>& weight() const { return params_.weight; }
  const std::vector<float>& bias() const { return params_.bias; }
  std::size_t parameter_bytes() const { return params_.bytes(); }

 private:
  NormParams params_;
  double eps_ = 1e-5;
  PerTensorQParams out_;
  EngineConfig engine_;
  std::vector<float> scratch_ = std::vector<float>(2 * C);
};

}  // namespace detail

/// nnq.GroupNorm: channels in the last dimension, [N, L, C], [N, H, W, C] or [N, D, H, W, C].
template <index_t Groups, index_t C>
class GroupNorm : public detail::QGroupNorm<Groups, C> {
 public:
  static constexpr std::string_view name = "GroupNorm (quantized)";
  static constexpr index_t num_groups = Groups, num_channels = C;

  GroupNorm() = default;
  /// weight and bias: C values each, or both empty (affine false); eps as PyTorch holds it.
  GroupNorm(std::vector<float> weight, std::vector<float> bias, double eps, PerTensorQParams out, EngineConfig engine)
      : detail::QGroupNorm<Groups, C>(std::move(weight), std::move(bias), eps, out, engine, name) {}

  using ctq::detail::rejects_float::operator();
  template <int XR>
  QActivation<XR> operator()(const QActivation<XR>& x) {
    static_assert(XR >= 3,
                  "ctq: nn::quantized::GroupNorm: the input is [N, ..., C] with at least one spatial dimension");
    return this->forward(x, name);
  }
};

/// nnq.InstanceNorm1d / 2d / 3d (R): each (sample, channel) normalized by its own statistics.
template <int R, index_t C>
class InstanceNormNd : public detail::QGroupNorm<C, C> {
  static_assert(R >= 1 && R <= 3, "ctq: nn::quantized::InstanceNorm: 1d, 2d or 3d");

 public:
  static constexpr std::string_view name = R == 1   ? "InstanceNorm1d (quantized)"
                                           : R == 2 ? "InstanceNorm2d (quantized)"
                                                    : "InstanceNorm3d (quantized)";
  static constexpr int spatial_dims = R;
  static constexpr index_t num_features = C;

  InstanceNormNd() = default;
  /// weight and bias: C values each, or both empty (affine false); eps as PyTorch holds it.
  InstanceNormNd(std::vector<float> weight, std::vector<float> bias, double eps, PerTensorQParams out,
                 EngineConfig engine)
      : detail::QGroupNorm<C, C>(std::move(weight), std::move(bias), eps, out, engine, name) {}

  using ctq::detail::rejects_float::operator();
  template <int XR>
  QActivation<XR> operator()(const QActivation<XR>& x) {
    static_assert(XR == R + 2,
                  "ctq: nn::quantized::InstanceNorm: InstanceNorm1d takes [N, L, C], 2d [N, H, W, C], 3d "
                  "[N, D, H, W, C]");
    return this->forward(x, name);
  }
};

template <index_t C>
using InstanceNorm1d = InstanceNormNd<1, C>;
template <index_t C>
using InstanceNorm2d = InstanceNormNd<2, C>;
template <index_t C>
using InstanceNorm3d = InstanceNormNd<3, C>;

}  // namespace ctq::nn::quantized

namespace ctq::nn::intrinsic::quantized {
template <index_t C>
using BNReLU2d = nn::quantized::BatchNormT<2, C, true>;
template <index_t C>
using BNReLU3d = nn::quantized::BatchNormT<3, C, true>;
}  // namespace ctq::nn::intrinsic::quantized
