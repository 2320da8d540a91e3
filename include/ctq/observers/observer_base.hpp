// What every uniform-quantization observer shares (PyTorch's UniformQuantizationObserverBase):
// the quant range from dtype/reduce_range/quant_min/quant_max, compile-time checks of the
// arguments, the finite-data check, and _calculate_qparams in float32 as PyTorch computes it.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../core/arch.hpp"
#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/qparams.hpp"
#include "../core/qscheme.hpp"
#include "../core/tensor.hpp"

namespace ctq {

namespace detail {
// Python's v // 2.
constexpr std::int64_t floor_div2(std::int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }
}  // namespace detail

/// "None" for quant_min / quant_max: the dtype's range (halved by reduce_range) is used.
inline constexpr std::int64_t unset = std::numeric_limits<std::int64_t>::min();

/// torch.finfo(torch.float32).eps, the default lower bound of every observer's scale.
inline constexpr float float32_eps = 1.1920928955078125e-07f;

/// The arguments every uniform observer takes, gathered from its own argument struct.
struct UniformArgs {
  ctq::dtype dtype = ctq::dtype::quint8;
  ctq::qscheme qscheme = ctq::qscheme::per_tensor_affine;
  bool reduce_range = false;
  std::int64_t quant_min = unset;
  std::int64_t quant_max = unset;
  float eps = float32_eps;

  constexpr bool has_customized_qrange() const { return quant_min != unset && quant_max != unset; }

  // PyTorch's calculate_qmin_qmax: a custom range is halved (floor) by reduce_range; the default
  // range is the dtype's, with reduce_range giving [0, 127] / [-64, 63] for the 8-bit types.
  constexpr std::int64_t qmin() const { return range().first; }
  constexpr std::int64_t qmax() const { return range().second; }
  constexpr std::pair<std::int64_t, std::int64_t> range() const {
    if (has_customized_qrange()) {
      return reduce_range ? std::pair{detail::floor_div2(quant_min), detail::floor_div2(quant_max)}
                          : std::pair{quant_min, quant_max};
    }
    switch (dtype) {
      case ctq::dtype::qint8:
        return reduce_range ? std::pair<std::int64_t, std::int64_t>{-64, 63}
                            : std::pair<std::int64_t, std::int64_t>{-128, 127};
      case ctq::dtype::quint8:
        return reduce_range ? std::pair<std::int64_t, std::int64_t>{0, 127}
                            : std::pair<std::int64_t, std::int64_t>{0, 255};
      case ctq::dtype::qint32:
        return {dtype_traits<ctq::dtype::qint32>::quant_min, dtype_traits<ctq::dtype::qint32>::quant_max};
      default: return {0, 15};
    }
  }
  constexpr std::int64_t dtype_min() const {
    switch (dtype) {
      case ctq::dtype::qint8: return -128;
      case ctq::dtype::qint32: return dtype_traits<ctq::dtype::qint32>::quant_min;
      default: return 0;
    }
  }
  constexpr std::int64_t dtype_max() const {
    switch (dtype) {
      case ctq::dtype::qint8: return 127;
      case ctq::dtype::quint8: return 255;
      case ctq::dtype::qint32: return dtype_traits<ctq::dtype::qint32>::quant_max;
      default: return 15;
    }
  }
};

namespace detail {

// Reads the uniform arguments out of any observer argument struct that has them.
template <class A>
constexpr UniformArgs uniform_args(const A& a) {
  return {a.dtype, a.qscheme, a.reduce_range, a.quant_min, a.quant_max, a.eps};
}

// The compile-time rules of PyTorch's observer constructors (and a few it leaves unchecked);
// instantiated by every uniform observer with its arguments.
template <UniformArgs U>
struct check_uniform_args {
  static_assert(U.dtype == dtype::quint8 || U.dtype == dtype::qint8 || U.dtype == dtype::quint4x2 ||
                    U.dtype == dtype::qint32,
                "ctq: observer: dtype must be quint8, qint8, quint4x2 or qint32 (PlaceholderObserver carries float16)");
  static_assert((U.quant_min == unset) == (U.quant_max == unset),
                "ctq: observer: set both quant_min and quant_max, or neither");
  static_assert(!U.has_customized_qrange() || (U.quant_min <= 0 && 0 <= U.quant_max),
                "ctq: observer: a custom quant range must include 0 (quant_min <= 0 <= quant_max)");
  static_assert(!U.has_customized_qrange() || U.quant_min < U.quant_max,
                "ctq: observer: quant_min must be less than quant_max");
  static_assert(!U.has_customized_qrange() || (U.quant_min >= U.dtype_min() && U.quant_max <= U.dtype_max()),
                "ctq: observer: the custom quant range must lie within the dtype's range");
  static_assert(!(is_symmetric(U.qscheme) && U.reduce_range && U.dtype == dtype::quint8),
                "ctq: observer: reduce_range is not supported for symmetric quint8 (as in PyTorch)");
  static_assert(!(U.qscheme == qscheme::per_channel_affine_float_qparams &&
                  !(U.dtype == dtype::quint8 || U.dtype == dtype::quint4x2)),
                "ctq: observer: per_channel_affine_float_qparams needs quint8 or quint4x2");
  static_assert(U.eps > 0.0f, "ctq: observer: eps must be positive");
  static constexpr bool ok = true;
};

template <UniformArgs U>
struct check_per_tensor_scheme {
  static_assert(is_per_tensor(U.qscheme),
                "ctq: observer: this observer is per tensor: qscheme must be per_tensor_affine or per_tensor_symmetric "
                "(use PerChannelMinMaxObserver for per-channel schemes)");
  static constexpr bool ok = true;
};

template <UniformArgs U>
struct check_per_channel_scheme {
  static_assert(
      is_per_channel(U.qscheme),
      "ctq: observer: this observer is per channel: qscheme must be per_channel_affine, per_channel_symmetric "
      "or per_channel_affine_float_qparams");
  static constexpr bool ok = true;
};

// The compile-time facts every uniform observer exposes, checked once: its arguments, dtype,
// qscheme and effective quant range. Observers derive from it.
template <auto Args, bool PerChannel>
struct uniform_observer {
  static constexpr UniformArgs U = uniform_args(Args);
  static_assert(check_uniform_args<U>::ok &&
                std::conditional_t<PerChannel, check_per_channel_scheme<U>, check_per_tensor_scheme<U>>::ok);
  static constexpr auto args = Args;
  static constexpr ctq::dtype dtype = Args.dtype;
  static constexpr ctq::qscheme qscheme = Args.qscheme;
  static constexpr std::int64_t quant_min = U.qmin();
  static constexpr std::int64_t quant_max = U.qmax();
};

[[noreturn]] inline void raise_not_finite(std::string_view observer) {
  raise(message() << "ctq: " << observer
                  << ": the observed data contains NaN or Inf; quantization parameters would be meaningless "
                     "(check the layer that produced it)");
}

// torch.aminmax over a contiguous span (n > 0); raises when the data holds NaN or Inf (x - x is
// 0 exactly for finite x and NaN otherwise). One pass, vectorized where xsimd has an arch.
inline std::pair<float, float> finite_aminmax(const float* x, index_t n, std::string_view observer) {
  float lo = x[0], hi = x[0], bad = 0.0f;
  index_t i = 0;
#if CTQ_HAS_XSIMD
  using B = xsimd::batch<float>;
  constexpr index_t w = static_cast<index_t>(B::size);
  if (n >= w) {
    B vlo = B::load_unaligned(x), vhi = vlo, vbad(0.0f);
    for (i = 0; i + w <= n; i += w) {
      const B v = B::load_unaligned(x + i);
      vlo = xsimd::min(vlo, v);
      vhi = xsimd::max(vhi, v);
      vbad = vbad + (v - v);
    }
    alignas(64) float l[w], h[w], b[w];
    vlo.store_aligned(l);
    vhi.store_aligned(h);
    vbad.store_aligned(b);
    for (index_t k = 0; k < w; ++k) {
      lo = l[k] < lo ? l[k] : lo;
      hi = h[k] > hi ? h[k] : hi;
      bad += b[k];
    }
  }
#endif
  for (; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    bad += x[i] - x[i];
  }
  if (bad != 0.0f || std::isnan(bad)) raise_not_finite(observer);
  return {lo, hi};
}

// Observed data must be finite: NaN or Inf would become a meaningless scale.
inline void check_finite(const float* x, index_t n, std::string_view observer) {
  if (n > 0) (void)finite_aminmax(x, n, observer);
}

// torch.aminmax over finite data (n > 0).
inline std::pair<float, float> aminmax(const float* x, index_t n) {
  float lo = x[0], hi = x[0];
  for (index_t i = 1; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  return {lo, hi};
}

// (9) PyTorch's _calculate_qparams for one (min, max) pair, in float32 (docs/numerics.md).
// Zero point is int32 except for float_qparams, whose float zero point goes to `zp_float`.
struct ChannelQParams {
  float scale;
  std::int32_t zero_point;
  float zero_point_float;
};

inline ChannelQParams calculate_channel_qparams(const UniformArgs& u, float min_val, float max_val) {
  const std::int64_t qmin = u.qmin(), qmax = u.qmax();
  const float min_neg = std::min(min_val, 0.0f);
  float max_pos = std::max(max_val, 0.0f);
  ChannelQParams r{1.0f, 0, 0.0f};
  if (is_symmetric(u.qscheme)) {
    max_pos = std::max(-min_neg, max_pos);
    // float(quant_max - quant_min) / 2 is a Python float, used as a float32 scalar
    const float half_range = static_cast<float>(static_cast<double>(qmax - qmin) / 2.0);
    r.scale = std::max(max_pos / half_range, u.eps);
    if (u.dtype == dtype::quint8) {
      r.zero_point = u.has_customized_qrange() ? static_cast<std::int32_t>(floor_div2(qmin + qmax)) : 128;
    }
  } else if (u.qscheme == qscheme::per_channel_affine_float_qparams) {
    const float s = (max_val - min_val) / static_cast<float>(qmax - qmin);
    r.scale = s > u.eps ? s : 1.0f;
    r.zero_point_float = -1.0f * min_val / r.scale;
  } else {
    r.scale = std::max((max_pos - min_neg) / static_cast<float>(qmax - qmin), u.eps);
    const std::int64_t zp = qmin - static_cast<std::int64_t>(std::nearbyint(min_neg / r.scale));
    r.zero_point = static_cast<std::int32_t>(std::clamp(zp, qmin, qmax));
  }
  return r;
}

inline void warn_not_observed(std::string_view observer) {
  message m;
  m << "ctq: " << observer
    << ": calculate_qparams before any observation; returning scale 1.0, zero point 0 (as PyTorch)";
  warn(m.c_str());
}

}  // namespace detail

/// What calibration and the workflow need of an observer:
///   - `o(x)` observes a float Tensor of any rank and returns it unchanged
///   - `o.calculate_qparams()` gives the quantization parameters
///   - `o.reset()` forgets every observation
///   - `o.merge(other)` folds in the statistics of another observer of the same type
///   - `O::name` names it in messages
/// (The call is checked last: requirements are checked in order, and asking whether a model
/// container is callable with a rank-2 tensor would instantiate its forward pass.)
template <class O>
concept Observer = requires(O o, const O co, const Tensor<float, 2>& x) {
  { O::name } -> std::convertible_to<std::string_view>;
  co.calculate_qparams();
  o.reset();
  o.merge(co);
  { o(x) } -> std::same_as<const Tensor<float, 2>&>;
};

/// Fails with one line when O is not an observer.
template <class O>
constexpr bool require_observer() {
  static_assert(Observer<O>,
                "ctq: not an Observer: needs operator()(const Tensor<float, R>&) returning its input, "
                "calculate_qparams(), reset(), merge(const O&) and a static `name`");
  return true;
}

}  // namespace ctq
