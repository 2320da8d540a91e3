// nn::LayerNorm, nn::GroupNorm and nn::InstanceNorm1d / 2d / 3d in evaluation, on ctq's
// channels-last tensors (BatchNorm is in batchnorm.hpp). PyTorch's state names and layouts:
// weight, bias (with affine), running_mean, running_var (InstanceNorm with track_running_stats).
//
// LayerNorm normalizes the trailing dimensions of the tensor as ctq holds it:
//   - sequence and feature tensors ([N, L, F], [N, F]) are PyTorch's own layout, so
//     nn.LayerNorm(F) is LayerNorm<dims<F>> and nn.LayerNorm([L, F]) is LayerNorm<dims<L, F>>,
//     weights unchanged;
//   - an image is [N, H, W, C] in ctq and [N, C, H, W] in PyTorch: nn.LayerNorm([C, H, W]) (each
//     sample over all its values) is LayerNorm<dims<H, W, C>> with the weight and bias permuted from
//     [C, H, W] to [H, W, C] (the statistics are the same set of values). nn.LayerNorm([W]) or
//     ([H, W]) on an image normalizes over positions within each channel, which is not a trailing
//     block of a channels-last tensor; ctq has no module for it (InstanceNorm2d / GroupNorm
//     normalize per channel with a per-channel affine).
//
// GroupNorm and InstanceNorm take the channels in the last dimension ([N, C], [N, L, C],
// [N, H, W, C], [N, D, H, W, C]). InstanceNorm in evaluation normalizes with each instance's own
// statistics, or with the running ones when TrackRunningStats is set (PyTorch's eval mode).
// Statistics are the biased mean and variance, accumulated in double.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <random>
#include <string_view>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "batchnorm.hpp"
#include "module.hpp"

namespace ctq::nn {

/// A normalized_shape as a type: dims<F> or dims<L, F> (LayerNorm's trailing dimensions).
template <index_t... D>
struct dims {
  static constexpr int rank = static_cast<int>(sizeof...(D));
  static constexpr index_t size = (index_t{1} * ... * D);
  static constexpr std::array<index_t, sizeof...(D)> values{D...};
};

namespace detail {

using RowMajorArray = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using StridedRows = Eigen::Map<const RowMajorArray, 0, Eigen::OuterStride<>>;
using StridedRowsOut = Eigen::Map<RowMajorArray, 0, Eigen::OuterStride<>>;

/// mean and 1 / sqrt(var + eps) of a block, in double (biased variance).
inline std::array<double, 2> block_moments(const StridedRows& block, float eps) {
  const auto d = block.cast<double>();
  const double mean = d.mean();
  const double var = (d - mean).square().mean();
  return {mean, 1.0 / std::sqrt(var + static_cast<double>(eps))};
}

/// LayerNorm: `rows` rows of n contiguous values, each normalized on its own; w and b (n values)
/// or null.
inline void layer_norm_forward(const float* x, index_t rows, index_t n, const float* w, const float* b, float eps,
                               float* y) {
  for (index_t r = 0; r < rows; ++r) {
    const StridedRows row(x + r * n, 1, n, Eigen::OuterStride<>(n));
    StridedRowsOut out(y + r * n, 1, n, Eigen::OuterStride<>(n));
    const auto [mean, rstd] = block_moments(row, eps);
    auto z = (row.cast<double>() - mean) * rstd;
    if (w != nullptr) {
      const Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>> wm(w, n), bm(b, n);
      out = (z * wm.cast<double>() + bm.cast<double>()).cast<float>();
    } else {
      out = z.cast<float>();
    }
  }
}

/// GroupNorm on channels-last data: x[batch][pixels][c], `groups` groups of c / groups
/// consecutive channels; w and b (c values) or null.
inline void group_norm_forward(const float* x, index_t batch, index_t pixels, index_t c, index_t groups, const float* w,
                               const float* b, float eps, float* y) {
  const index_t cpg = c / groups;
  for (index_t n = 0; n < batch; ++n) {
    for (index_t g = 0; g < groups; ++g) {
      const index_t offset = n * pixels * c + g * cpg;
      const StridedRows block(x + offset, pixels, cpg, Eigen::OuterStride<>(c));
      StridedRowsOut out(y + offset, pixels, cpg, Eigen::OuterStride<>(c));
      const auto [mean, rstd] = block_moments(block, eps);
      auto z = (block.cast<double>() - mean) * rstd;
      if (w != nullptr) {
        const Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>> wm(w + g * cpg, cpg), bm(b + g * cpg, cpg);
        out = ((z.rowwise() * wm.cast<double>()).rowwise() + bm.cast<double>()).cast<float>();
      } else {
        out = z.cast<float>();
      }
    }
  }
}

/// The positions per sample of a channels-last shape [N, ..., C].
template <std::size_t N>
index_t pixels_of(const std::array<index_t, N>& s) {
  index_t p = 1;
  for (std::size_t i = 1; i + 1 < N; ++i) p *= s[i];
  return p;
}

}  // namespace detail

/// PyTorch's nn.LayerNorm(normalized_shape, eps, elementwise_affine) over the trailing dimensions
/// Dims of the tensor (see the top of this file for image tensors).
template <class Dims, float Eps = 1e-5f, bool ElementwiseAffine = true>
class LayerNorm;

template <index_t... D, float Eps, bool ElementwiseAffine>
class LayerNorm<dims<D...>, Eps, ElementwiseAffine> : public ctq::detail::rejects_quantized {
  static_assert(sizeof...(D) >= 1 && ((D >= 1) && ...) && Eps > 0.0f,
                "ctq: nn::LayerNorm: normalized_shape's sizes and eps must be positive");

 public:
  using normalized_shape = dims<D...>;
  static constexpr std::string_view name = "LayerNorm";
  static constexpr float eps = Eps;
  static constexpr bool elementwise_affine = ElementwiseAffine;

  LayerNorm() {
    if constexpr (ElementwiseAffine) {
      weight = Tensor<float, sizeof...(D)>(Shape<sizeof...(D)>{D...});
      bias = Tensor<float, sizeof...(D)>(Shape<sizeof...(D)>{D...});
      weight.array().setOnes();
      bias.array().setZero();
    }
  }

  using ctq::detail::rejects_quantized::operator();
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) const {
    check_input(x.shape());
    Tensor<float, XR> y(x.shape());
    detail::layer_norm_forward(x.data(), x.size() / normalized_shape::size, normalized_shape::size,
                               ElementwiseAffine ? weight.data() : nullptr, ElementwiseAffine ? bias.data() : nullptr,
                               Eps, y.data());
    return y;
  }

  /// Raises unless the trailing dimensions of `shape` are normalized_shape.
  template <std::size_t N>
  static void check_input(const std::array<index_t, N>& shape) {
    constexpr int XR = static_cast<int>(N);
    static_assert(XR >= static_cast<int>(sizeof...(D)),
                  "ctq: nn::LayerNorm: the input has fewer dimensions than normalized_shape");
    constexpr int k = static_cast<int>(sizeof...(D));
    for (int i = 0; i < k; ++i) {
      const index_t got = shape[static_cast<std::size_t>(XR - k + i)];
      const index_t want = normalized_shape::values[static_cast<std::size_t>(i)];
      if (got != want) {
        raise(ctq::detail::message() << "ctq: nn::LayerNorm: dimension " << (XR - k + i) << " of the input is " << got
                                     << ", normalized_shape expects " << want
                                     << " (LayerNorm normalizes the trailing dimensions of the channels-last tensor)");
      }
    }
  }

  template <class F>
  void visit_state(F&& f) {
    if constexpr (ElementwiseAffine) {
      f(std::string_view{"weight"}, weight);
      f(std::string_view{"bias"}, bias);
    }
  }
  void reset_parameters(std::mt19937&) {
    if constexpr (ElementwiseAffine) {
      weight.array().setOnes();
      bias.array().setZero();
    }
  }

  /// [D...]; empty without elementwise_affine.
  Tensor<float, sizeof...(D)> weight, bias;
};

/// PyTorch's nn.GroupNorm(num_groups, num_channels, eps, affine); channels in the last dimension.
template <index_t Groups, index_t C, float Eps = 1e-5f, bool Affine = true>
class GroupNorm : public ctq::detail::rejects_quantized {
  static_assert(Groups >= 1 && C >= 1 && Eps > 0.0f,
                "ctq: nn::GroupNorm: num_groups, num_channels and eps must be positive");
  static_assert(C % Groups == 0, "ctq: nn::GroupNorm: num_channels must be divisible by num_groups");

 public:
  static constexpr std::string_view name = "GroupNorm";
  static constexpr index_t num_groups = Groups, num_channels = C;
  static constexpr float eps = Eps;
  static constexpr bool affine = Affine;

  GroupNorm() {
    if constexpr (Affine) {
      weight = Tensor<float, 1>({C});
      bias = Tensor<float, 1>({C});
      weight.array().setOnes();
      bias.array().setZero();
    }
  }

  using ctq::detail::rejects_quantized::operator();
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) const {
    static_assert(XR >= 2, "ctq: nn::GroupNorm: the input is [N, ..., C]");
    if (x.dim(XR - 1) != C) {
      raise(ctq::detail::message() << "ctq: nn::GroupNorm: the input has " << x.dim(XR - 1)
                                   << " channels (last dimension), the layer has " << C);
    }
    Tensor<float, XR> y(x.shape());
    detail::group_norm_forward(x.data(), x.dim(0), detail::pixels_of(x.shape()), C, Groups,
                               Affine ? weight.data() : nullptr, Affine ? bias.data() : nullptr, Eps, y.data());
    return y;
  }

  template <class F>
  void visit_state(F&& f) {
    if constexpr (Affine) {
      f(std::string_view{"weight"}, weight);
      f(std::string_view{"bias"}, bias);
    }
  }
  void reset_parameters(std::mt19937&) {
    if constexpr (Affine) {
      weight.array().setOnes();
      bias.array().setZero();
    }
  }

  /// [C]; empty without affine.
  Tensor<float, 1> weight, bias;
};

/// PyTorch's nn.InstanceNorm1d / 2d / 3d (R) in evaluation: each (sample, channel) normalized by
/// its own statistics, or by running_mean / running_var with TrackRunningStats. The state has no
/// num_batches_tracked (as nn::BatchNorm).
template <int R, index_t C, float Eps = 1e-5f, bool Affine = false, bool TrackRunningStats = false>
class InstanceNormNd : public ctq::detail::rejects_quantized {
  static_assert(R >= 1 && R <= 3, "ctq: nn::InstanceNorm: 1d, 2d or 3d");
  static_assert(C >= 1 && Eps > 0.0f, "ctq: nn::InstanceNorm: num_features and eps must be positive");

 public:
  static constexpr std::string_view name = R == 1 ? "InstanceNorm1d" : R == 2 ? "InstanceNorm2d" : "InstanceNorm3d";
  static constexpr int spatial_dims = R;
  static constexpr index_t num_features = C;
  static constexpr float eps = Eps;
  static constexpr bool affine = Affine, track_running_stats = TrackRunningStats;

  InstanceNormNd() {
    if constexpr (Affine) {
      weight = Tensor<float, 1>({C});
      bias = Tensor<float, 1>({C});
    }
    if constexpr (TrackRunningStats) {
      running_mean = Tensor<float, 1>({C});
      running_var = Tensor<float, 1>({C});
    }
    std::mt19937 unused;
    reset_parameters(unused);
  }

  using ctq::detail::rejects_quantized::operator();
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) const {
    static_assert(XR == R + 2,
                  "ctq: nn::InstanceNorm: InstanceNorm1d takes [N, L, C], 2d [N, H, W, C], 3d [N, D, H, W, C]");
    if (x.dim(XR - 1) != C) {
      raise(ctq::detail::message() << "ctq: nn::" << name << ": the input has " << x.dim(XR - 1)
                                   << " channels (last dimension), the layer has " << C);
    }
    Tensor<float, XR> y(x.shape());
    if constexpr (TrackRunningStats) {
      // Evaluation with running statistics: BatchNorm's affine map per channel.
      Tensor<float, 1> ones({C}), zeros({C});
      ones.array().setOnes();
      zeros.array().setZero();
      detail::batchnorm_forward(x.data(), x.size() / C, C, Affine ? weight.data() : ones.data(),
                                Affine ? bias.data() : zeros.data(), running_mean.data(), running_var.data(), Eps,
                                y.data());
    } else {
      detail::group_norm_forward(x.data(), x.dim(0), detail::pixels_of(x.shape()), C, C,
                                 Affine ? weight.data() : nullptr, Affine ? bias.data() : nullptr, Eps, y.data());
    }
    return y;
  }

  template <class F>
  void visit_state(F&& f) {
    if constexpr (Affine) {
      f(std::string_view{"weight"}, weight);
      f(std::string_view{"bias"}, bias);
    }
    if constexpr (TrackRunningStats) {
      f(std::string_view{"running_mean"}, running_mean);
      f(std::string_view{"running_var"}, running_var);
    }
  }
  void reset_parameters(std::mt19937&) {
    if constexpr (Affine) {
      weight.array().setOnes();
      bias.array().setZero();
    }
    if constexpr (TrackRunningStats) {
      running_mean.array().setZero();
      running_var.array().setOnes();
    }
  }

  /// [C] each; weight and bias empty without Affine, the running statistics without
  /// TrackRunningStats.
  Tensor<float, 1> weight, bias, running_mean, running_var;
};

template <index_t C, float Eps = 1e-5f, bool Affine = false, bool TrackRunningStats = false>
using InstanceNorm1d = InstanceNormNd<1, C, Eps, Affine, TrackRunningStats>;
template <index_t C, float Eps = 1e-5f, bool Affine = false, bool TrackRunningStats = false>
using InstanceNorm2d = InstanceNormNd<2, C, Eps, Affine, TrackRunningStats>;
template <index_t C, float Eps = 1e-5f, bool Affine = false, bool TrackRunningStats = false>
using InstanceNorm3d = InstanceNormNd<3, C, Eps, Affine, TrackRunningStats>;

}  // namespace ctq::nn
