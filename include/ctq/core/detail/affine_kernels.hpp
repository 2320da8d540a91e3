// Elementwise affine kernels over contiguous spans: quantize, dequantize and fake-quantize with one
// scale and zero point, for each execution path. The scalar functions are the reference; the simd
// ones process whole batches and leave the tail to the scalar code, with identical results.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../arch.hpp"
#include "../dtype.hpp"
#include "../qparams.hpp"
#include "fp.hpp"
#include "simd_convert.hpp"

namespace ctq::detail {

// ---------------------------------------------------------------------------------------------
// Scalar reference, following PyTorch 1.13's CPU formulas (docs/numerics.md, (1)-(5)).

// (1) q = clamp(nearbyint(x * inv_scale) + zero_point, qmin, qmax), inv_scale = 1.0f / scale.
// The zero point is added in float, as PyTorch does (`zero_point + Round(x * inv_scale)`); for
// 8-bit results that is the same as an integer add, for qint32 it is what PyTorch returns. The
// comparison happens in float so huge values and infinities saturate instead of overflowing.
template <dtype D>
inline std::int64_t quantize_val(float x, float inv_scale, std::int32_t zero_point) {
  constexpr std::int64_t qmin = dtype_traits<D>::quant_min;
  constexpr std::int64_t qmax = dtype_traits<D>::quant_max;
  const float s = std::nearbyint(x * inv_scale) + static_cast<float>(zero_point);
  if (!(s > static_cast<float>(qmin))) return qmin;  // also NaN: callers reject NaN beforehand
  if (s >= static_cast<float>(qmax)) return qmax;    // float(qmax) rounds up to 2^31 for qint32
  return static_cast<std::int64_t>(s);
}

// Stores element `i` of a sub-byte or byte-or-wider storage array.
template <dtype D>
inline void put(storage_t<D>* q, index_t i, std::int64_t v) {
  if constexpr (is_sub_byte_dtype<D>) {
    constexpr int per = dtype_traits<D>::elements_per_byte;
    constexpr int bits = dtype_traits<D>::bits;
    const int shift = static_cast<int>(i % per) * bits;
    auto& byte = q[i / per];
    byte = static_cast<storage_t<D>>((byte & ~(((1u << bits) - 1u) << shift)) | (static_cast<unsigned>(v) << shift));
  } else {
    q[i] = static_cast<storage_t<D>>(v);
  }
}

template <dtype D>
inline std::int64_t get(const storage_t<D>* q, index_t i) {
  if constexpr (is_sub_byte_dtype<D>) {
    constexpr int per = dtype_traits<D>::elements_per_byte;
    constexpr int bits = dtype_traits<D>::bits;
    return static_cast<std::int64_t>((static_cast<unsigned>(q[i / per]) >> ((i % per) * bits)) & ((1u << bits) - 1u));
  } else {
    return static_cast<std::int64_t>(q[i]);
  }
}

// Quantizes x[0, n) into elements [first, first + n) of q. Returns true when x holds a NaN.
template <dtype D>
inline bool quantize_span(arch::scalar, const float* x, storage_t<D>* q, index_t first, index_t n, float scale,
                          std::int32_t zero_point) {
  const float inv_scale = 1.0f / scale;
  bool nan = false;
  for (index_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    put<D>(q, first + i, quantize_val<D>(x[i], inv_scale, zero_point));
  }
  return nan;
}

// (3) y = float(q - zero_point) * scale: the difference is taken in integers (exact in int64; for
// 8-bit types exact in float too), then converted and multiplied: one rounding for 8-bit types.
template <dtype D>
inline void dequantize_span(arch::scalar, const storage_t<D>* q, index_t first, float* y, index_t n, float scale,
                            std::int32_t zero_point) {
  for (index_t i = 0; i < n; ++i) y[i] = static_cast<float>(get<D>(q, first + i) - zero_point) * scale;
}

// (4) r = nearbyint(x * inv_scale) + zero_point; y = (clamp(r, qmin, qmax) - zero_point) * scale;
// mask = qmin <= r <= qmax (the straight-through estimator's gradient mask). Computed here as
// c = clamp(nearbyint(x * inv_scale), qmin - zp, qmax - zp), y = c * scale: the same numbers.
// Returns true when x holds a NaN. `mask` may be null.
inline bool fake_quantize_span(arch::scalar, const float* x, float* y, std::uint8_t* mask, index_t n, float scale,
                               std::int32_t zero_point, std::int64_t qmin, std::int64_t qmax) {
  const float inv_scale = 1.0f / scale;
  const float lo = static_cast<float>(qmin - zero_point);
  const float hi = static_cast<float>(qmax - zero_point);
  bool nan = false;
  for (index_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    const float r = std::nearbyint(x[i] * inv_scale);
    const bool inside = r >= lo && r <= hi;
    // + 0.0f turns -0 into +0: PyTorch goes through an int64 there, which has no negative zero.
    y[i] = ((inside ? r : (r < lo ? lo : hi)) + 0.0f) * scale;
    if (mask) mask[i] = inside ? 1 : 0;
  }
  return nan;
}

// (2) Float zero points (per_channel_affine_float_qparams):
// q = clamp(nearbyint(x * inv_scale + zero_point), qmin, qmax), inv_scale = 1 / scale (1 where
// scale is 0). The product is rounded to float before the add, never fused into an FMA.
template <dtype D>
inline bool quantize_span_float_qparams(const float* x, storage_t<D>* q, index_t first, index_t n, float scale,
                                        float zero_point) {
  constexpr std::int64_t qmin = dtype_traits<D>::quant_min;
  constexpr std::int64_t qmax = dtype_traits<D>::quant_max;
  const float inv_scale = scale == 0.0f ? 1.0f : 1.0f / scale;
  bool nan = false;
  for (index_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    const float t = std::nearbyint(no_contract(x[i] * inv_scale) + zero_point);
    const std::int64_t v = !(t > qmin) ? qmin : (t >= qmax ? qmax : static_cast<std::int64_t>(t));
    put<D>(q, first + i, v);
  }
  return nan;
}

// (4') Fake quantize with a float zero point (per_channel_affine_float_qparams):
// r = nearbyint(float(x * inv_scale) + zero_point); y = float((double(clamp(r)) - zero_point) * scale)
// in double, as PyTorch's kernel computes it; mask = qmin <= r <= qmax. Returns true on NaN.
inline bool fake_quantize_span_float_zp(const float* x, float* y, std::uint8_t* mask, index_t n, float scale,
                                        float zero_point, std::int64_t qmin, std::int64_t qmax) {
  const float inv_scale = 1.0f / scale;
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  bool nan = false;
  for (index_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    const float r = std::nearbyint(no_contract(x[i] * inv_scale) + zero_point);
    const bool inside = r >= lo && r <= hi;
    const double c = inside ? r : (r < lo ? lo : hi);
    y[i] = static_cast<float>((c - static_cast<double>(zero_point)) * static_cast<double>(scale));
    if (mask) mask[i] = inside ? 1 : 0;
  }
  return nan;
}

template <dtype D>
inline void dequantize_span_float_qparams(const storage_t<D>* q, index_t first, float* y, index_t n, float scale,
                                          float zero_point) {
  for (index_t i = 0; i < n; ++i) y[i] = (static_cast<float>(get<D>(q, first + i)) - zero_point) * scale;
}

// ---------------------------------------------------------------------------------------------
// xsimd paths: 8-bit dtypes only (qint32 and quint4x2 take the scalar path on every arch).

#if CTQ_HAS_XSIMD
template <dtype D>
inline constexpr bool has_simd_kernel = D == dtype::quint8 || D == dtype::qint8;

// Vector form of (1): clamping before rounding gives the same integers (nearbyint is monotone
// and the bounds are integers) and keeps the float -> int32 conversion in range.
template <dtype D, class A>
inline bool quantize_span(arch::simd<A>, const float* x, storage_t<D>* q, index_t first, index_t n, float scale,
                          std::int32_t zero_point) {
  if constexpr (!has_simd_kernel<D>) {
    return quantize_span<D>(arch::scalar{}, x, q, first, n, scale, zero_point);
  } else {
    using F = xsimd::batch<float, A>;
    using I = xsimd::batch<std::int32_t, A>;
    constexpr index_t w = static_cast<index_t>(F::size);
    const float inv_scale = 1.0f / scale;
    const F vinv(inv_scale);
    const F lo(static_cast<float>(dtype_traits<D>::quant_min - zero_point));
    const F hi(static_cast<float>(dtype_traits<D>::quant_max - zero_point));
    const I vzp(zero_point);
    xsimd::batch_bool<float, A> nan(false);
    storage_t<D>* out = q + first;
    index_t i = 0;
    for (; i + w <= n; i += w) {
      const F v = F::load_unaligned(x + i);
      nan = nan | (v != v);
      const F t = xsimd::min(xsimd::max(v * vinv, lo), hi);
      store_narrow(xsimd::nearbyint_as_int(t) + vzp, out + i);
    }
    const bool tail_nan = quantize_span<D>(arch::scalar{}, x + i, q, first + i, n - i, scale, zero_point);
    return xsimd::any(nan) || tail_nan;
  }
}

template <dtype D, class A>
inline void dequantize_span(arch::simd<A>, const storage_t<D>* q, index_t first, float* y, index_t n, float scale,
                            std::int32_t zero_point) {
  if constexpr (!has_simd_kernel<D>) {
    dequantize_span<D>(arch::scalar{}, q, first, y, n, scale, zero_point);
  } else {
    using F = xsimd::batch<float, A>;
    constexpr index_t w = static_cast<index_t>(F::size);
    const xsimd::batch<std::int32_t, A> vzp(zero_point);
    const F vscale(scale);
    const storage_t<D>* in = q + first;
    index_t i = 0;
    for (; i + w <= n; i += w) {
      (xsimd::to_float(load_widen<A>(in + i) - vzp) * vscale).store_unaligned(y + i);
    }
    dequantize_span<D>(arch::scalar{}, q, first + i, y + i, n - i, scale, zero_point);
  }
}

template <class A>
inline bool fake_quantize_span(arch::simd<A>, const float* x, float* y, std::uint8_t* mask, index_t n, float scale,
                               std::int32_t zero_point, std::int64_t qmin, std::int64_t qmax) {
  using F = xsimd::batch<float, A>;
  constexpr index_t w = static_cast<index_t>(F::size);
  const float inv_scale = 1.0f / scale;
  const F vinv(inv_scale);
  const F lo(static_cast<float>(qmin - zero_point));
  const F hi(static_cast<float>(qmax - zero_point));
  const F vscale(scale);
  xsimd::batch_bool<float, A> nan(false);
  index_t i = 0;
  for (; i + w <= n; i += w) {
    const F v = F::load_unaligned(x + i);
    nan = nan | (v != v);
    const F r = xsimd::nearbyint(v * vinv);
    ((xsimd::min(xsimd::max(r, lo), hi) + F(0.0f)) * vscale).store_unaligned(y + i);
    if (mask) {
      const auto inside = (r >= lo) & (r <= hi);
      store_narrow(xsimd::to_int(xsimd::select(inside, F(1.0f), F(0.0f))), mask + i);
    }
  }
  const bool tail_nan =
      fake_quantize_span(arch::scalar{}, x + i, y + i, mask ? mask + i : nullptr, n - i, scale, zero_point, qmin, qmax);
  return xsimd::any(nan) || tail_nan;
}
#endif  // CTQ_HAS_XSIMD

}  // namespace ctq::detail
