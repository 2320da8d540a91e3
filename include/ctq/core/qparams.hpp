// Quantization parameters: per-tensor scale/zero point, per-channel vectors with an axis, float
// zero points for per_channel_affine_float_qparams; their validation; and PyTorch's
// ChooseQuantizationParams for dynamic quantization.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"
#include "qscheme.hpp"

namespace ctq {

using index_t = std::ptrdiff_t;

/// One scale and zero point for the whole tensor. PyTorch keeps the scale as a double but every
/// kernel uses it as a float, so ctq stores the float.
struct PerTensorQParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  friend bool operator==(const PerTensorQParams&, const PerTensorQParams&) = default;
};

/// One scale and zero point per slice along `axis`. ZeroPoint is std::int32_t for the affine and
/// symmetric schemes and float for per_channel_affine_float_qparams.
template <class ZeroPoint = std::int32_t>
struct PerChannelQParams {
  static_assert(std::is_same_v<ZeroPoint, std::int32_t> || std::is_same_v<ZeroPoint, float>,
                "ctq: PerChannelQParams: zero points are std::int32_t or float (float_qparams)");
  std::vector<float> scales;
  std::vector<ZeroPoint> zero_points;
  int axis = 0;  // negative counts from the last dimension, as in PyTorch
  friend bool operator==(const PerChannelQParams&, const PerChannelQParams&) = default;
};

using PerChannelFloatQParams = PerChannelQParams<float>;

template <class T>
inline constexpr bool is_per_tensor_qparams = std::is_same_v<T, PerTensorQParams>;
template <class T>
inline constexpr bool is_per_channel_qparams =
    std::is_same_v<T, PerChannelQParams<std::int32_t>> || std::is_same_v<T, PerChannelQParams<float>>;

namespace detail {
template <qscheme S>
struct qparams_for_impl {
  using type = PerTensorQParams;
};
template <>
struct qparams_for_impl<qscheme::per_channel_affine> {
  using type = PerChannelQParams<std::int32_t>;
};
template <>
struct qparams_for_impl<qscheme::per_channel_symmetric> {
  using type = PerChannelQParams<std::int32_t>;
};
template <>
struct qparams_for_impl<qscheme::per_channel_affine_float_qparams> {
  using type = PerChannelQParams<float>;
};
}  // namespace detail

/// The parameter type a scheme stores.
template <qscheme S>
using qparams_for = typename detail::qparams_for_impl<S>::type;

/// The scheme a parameter type implies when none is named: affine (the form PyTorch stores).
template <class QP>
inline constexpr qscheme default_qscheme_for =
    std::is_same_v<QP, PerTensorQParams>                  ? qscheme::per_tensor_affine
    : std::is_same_v<QP, PerChannelQParams<std::int32_t>> ? qscheme::per_channel_affine
                                                          : qscheme::per_channel_affine_float_qparams;

namespace detail {

// Normalises a possibly negative axis against rank r; raises when out of range.
inline int normalize_axis(int axis, int rank, std::string_view op) {
  if (axis < -rank || axis >= rank) {
    raise(message() << "ctq: " << op << ": axis " << axis << " is out of range for a tensor of rank " << rank
                    << " (valid: " << -rank << " .. " << (rank - 1) << ")");
  }
  return axis < 0 ? axis + rank : axis;
}

// A scale ctq can divide by: positive, finite, and with a finite float reciprocal.
inline void check_scale(float scale, std::string_view op) {
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    raise(message() << "ctq: " << op << ": scale " << scale << " must be a positive finite number");
  }
  if (!std::isfinite(1.0f / scale)) {
    raise(message() << "ctq: " << op << ": scale " << scale
                    << " underflows: 1/scale is not a finite float (use a scale >= 2^-126)");
  }
}

template <std::integral T>
void check_zero_point(T zp, std::int64_t qmin, std::int64_t qmax, std::string_view op) {
  if (zp < qmin || zp > qmax) {
    raise(message() << "ctq: " << op << ": zero point " << zp << " is outside the dtype's range [" << qmin << ", "
                    << qmax << "]");
  }
}

inline void check_zero_point(float zp, std::int64_t, std::int64_t, std::string_view op) {
  if (!std::isfinite(zp)) raise(message() << "ctq: " << op << ": float zero point " << zp << " is not finite");
}

inline void check_quant_range(std::int64_t qmin, std::int64_t qmax, std::string_view op) {
  if (qmin > qmax) {
    raise(message() << "ctq: " << op << ": quant_min " << qmin << " is greater than quant_max " << qmax);
  }
}

}  // namespace detail

/// Checks per-tensor parameters for dtype D; raises ctq::error naming `op` when they are unusable.
template <dtype D>
void validate(const PerTensorQParams& qp, std::string_view op) {
  detail::check_scale(qp.scale, op);
  detail::check_zero_point(static_cast<std::int64_t>(qp.zero_point), dtype_traits<D>::quant_min,
                           dtype_traits<D>::quant_max, op);
}

/// Checks per-channel parameters for dtype D against a tensor whose dimension along the axis
/// has `channels` entries.
template <dtype D, class ZP>
void validate(const PerChannelQParams<ZP>& qp, index_t channels, std::string_view op) {
  if (static_cast<index_t>(qp.scales.size()) != channels) {
    raise(detail::message() << "ctq: " << op << ": " << qp.scales.size() << " scales for " << channels
                            << " channels along axis " << qp.axis);
  }
  if (static_cast<index_t>(qp.zero_points.size()) != channels) {
    raise(detail::message() << "ctq: " << op << ": " << qp.zero_points.size() << " zero points for " << channels
                            << " channels along axis " << qp.axis);
  }
  for (std::size_t c = 0; c < qp.scales.size(); ++c) {
    detail::check_scale(qp.scales[c], op);
    detail::check_zero_point(qp.zero_points[c], dtype_traits<D>::quant_min, dtype_traits<D>::quant_max, op);
  }
}

/// Result of choose_qparams. The scale is kept in double, as PyTorch returns it, and becomes a
/// float when it is used.
struct ChosenQParams {
  double scale = 1.0;
  std::int32_t zero_point = 0;
  PerTensorQParams as_per_tensor() const { return {static_cast<float>(scale), zero_point}; }
};

/// PyTorch's quant_utils::ChooseQuantizationParams, used by dynamic quantization:
///   [min, max] is widened to contain 0; scale = (max - min) / (qmax - qmin) in double;
///   a scale that is 0 in float or whose float reciprocal is infinite becomes 0.1;
///   a scale below 6.1e-5 is raised to 6.1e-5 (min/max stretched to match);
///   zero point from whichever of (qmin, min) / (qmax, max) has the smaller error, nudged
///   (rounded half to even) into [qmin, qmax]; reduce_range halves qmin and qmax first.
/// Raises ctq::error when min > max or either is not finite (PyTorch fails on those too).
inline ChosenQParams choose_qparams(float min, float max, std::int32_t qmin, std::int32_t qmax,
                                    bool preserve_sparsity = false, bool force_scale_power_of_two = false,
                                    bool reduce_range = false) {
  if (!std::isfinite(min) || !std::isfinite(max) || !(min <= max)) {
    raise(detail::message() << "ctq: choose_qparams: need finite min <= max, got min " << min << ", max " << max);
  }
  if (reduce_range) {
    qmin = qmin / 2;
    qmax = qmax / 2;
  }
  if (min < 0 && max > 0 && preserve_sparsity) {
    const int symmetric_qmin = -((qmax - qmin) / 2 + 1);
    const int symmetric_qmax = (qmax - qmin) / 2;
    const double max_scale = std::max(std::fabs(min / symmetric_qmin), std::fabs(max / symmetric_qmax));
    min = static_cast<float>(max_scale * symmetric_qmin);
    max = static_cast<float>(max_scale * symmetric_qmax);
  }
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  double scale = (static_cast<double>(max) - min) / (qmax - qmin);
  if (static_cast<float>(scale) == 0.0f || std::isinf(1.0f / static_cast<float>(scale))) scale = 0.1;
  if (force_scale_power_of_two) {
    if (scale < 1) {
      scale = 1.0 / (1 << static_cast<int>(std::floor(std::log(1.0 / scale) / std::log(2.0))));
    } else {
      scale = 1 << static_cast<int>(std::ceil(std::log(scale) / std::log(2.0)));
    }
  }
  constexpr float small_scale_threshold = 6.1e-5f;
  if (scale < small_scale_threshold) {
    const float org_scale = static_cast<float>(scale);
    scale = small_scale_threshold;
    if (min == 0.0f) {
      max = small_scale_threshold * static_cast<float>(qmax - qmin);
    } else if (max == 0.0f) {
      min = -small_scale_threshold * static_cast<float>(qmax - qmin);
    } else {
      const float amplifier = small_scale_threshold / org_scale;
      min *= amplifier;
      max *= amplifier;
    }
  }
  const double zero_point_from_min = qmin - min / scale;
  const double zero_point_from_max = qmax - max / scale;
  const double zero_point_from_min_error = std::abs(qmin) - std::abs(min / scale);
  const double zero_point_from_max_error = std::abs(qmax) - std::abs(max / scale);
  double initial_zero_point =
      zero_point_from_min_error < zero_point_from_max_error ? zero_point_from_min : zero_point_from_max;
  if (min < 0 && max > 0 && preserve_sparsity) initial_zero_point = static_cast<double>(qmin + qmax) / 2;
  std::int32_t nudged;
  if (initial_zero_point < qmin) {
    nudged = qmin;
  } else if (initial_zero_point > qmax) {
    nudged = qmax;
  } else {
    nudged = static_cast<std::int32_t>(std::nearbyint(initial_zero_point));
  }
  return {scale, nudged};
}

}  // namespace ctq
