// The epilogue of ctq's int8 GEMM and convolution: what happens to each int32 accumulator
// between the multiply-accumulate loop and memory. An output pipeline is a composition of small
// stage types, applied in order to a vector of accumulators while it is still in registers:
//
//   make_output_pipeline(bias_add{b}, multiply_per_channel{m}, round_to_int{},
//                        add_zero_point{zp}, clamp{lo, hi}, store<std::uint8_t>{dst, ldc})
//
// Each stage works on one lane (int32_t / float, the scalar reference) or on an xsimd batch of
// lanes; both give identical bits. The last stage stores. Per-column parameters are read at the
// column of the lane, so arrays need exactly N entries.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../config.hpp"
#include "../core/detail/fp.hpp"
#include "../core/qparams.hpp"

#if CTQ_HAS_XSIMD
#include <xsimd/xsimd.hpp>

#include "../core/detail/simd_convert.hpp"
#endif

namespace ctq::kernels {

namespace detail {

// Lane operations shared by the scalar and vector forms of each stage.
template <class V>
struct lanes;

template <>
struct lanes<std::int32_t> {
  using int_type = std::int32_t;
  using float_type = float;
  static constexpr index_t size = 1;
};
template <>
struct lanes<float> : lanes<std::int32_t> {};

inline float to_float(std::int32_t v) { return static_cast<float>(v); }
// Integer lanes add modulo 2^32, as the vector instructions do (a scalar signed overflow would be
// undefined behaviour).
inline std::int32_t add(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}
inline float add(float a, float b) { return a + b; }
template <class T>
inline T load(const T* p, std::type_identity<T>) {
  return *p;
}
inline std::int32_t min(std::int32_t a, std::int32_t b) { return a < b ? a : b; }
inline std::int32_t max(std::int32_t a, std::int32_t b) { return a < b ? b : a; }
inline float min(float a, float b) { return a < b ? a : b; }
inline float max(float a, float b) { return a < b ? b : a; }
inline std::int32_t nearest_int(float v) { return static_cast<std::int32_t>(std::nearbyint(v)); }

#if CTQ_HAS_XSIMD
template <class T, class A>
inline xsimd::batch<T, A> add(const xsimd::batch<T, A>& a, const xsimd::batch<T, A>& b) {
  return a + b;
}
template <class T, class A>
struct lanes<xsimd::batch<T, A>> {
  using int_type = xsimd::batch<std::int32_t, A>;
  using float_type = xsimd::batch<float, A>;
  static constexpr index_t size = static_cast<index_t>(xsimd::batch<T, A>::size);
};

template <class A>
inline xsimd::batch<float, A> to_float(const xsimd::batch<std::int32_t, A>& v) {
  return xsimd::to_float(v);
}
template <class T, class A>
inline xsimd::batch<T, A> load(const T* p, std::type_identity<xsimd::batch<T, A>>) {
  return xsimd::batch<T, A>::load_unaligned(p);
}
template <class T, class A>
inline xsimd::batch<T, A> min(const xsimd::batch<T, A>& a, const xsimd::batch<T, A>& b) {
  return xsimd::min(a, b);
}
template <class T, class A>
inline xsimd::batch<T, A> max(const xsimd::batch<T, A>& a, const xsimd::batch<T, A>& b) {
  return xsimd::max(a, b);
}
template <class A>
inline xsimd::batch<std::int32_t, A> nearest_int(const xsimd::batch<float, A>& v) {
  return xsimd::nearbyint_as_int(v);
}
#endif

template <class V>
using int_lanes = typename lanes<V>::int_type;
template <class V>
using float_lanes = typename lanes<V>::float_type;

template <class V, class T>
inline V load_lanes(const T* p) {
  return load(p, std::type_identity<V>{});
}

template <class V, class T>
inline V broadcast(T value) {
  return V(value);
}

// The largest float below 2^31 and -2^31: clamping there first makes the float -> int32
// conversion exact for every input (x86 returns INT_MIN for out-of-range values of either sign).
inline constexpr float int32_float_max = 2147483520.0f;
inline constexpr float int32_float_min = -2147483648.0f;

}  // namespace detail

/// float(acc), exactly (|acc| < 2^24) or rounded to nearest.
struct convert_to_float {
  template <class V>
  CTQ_ALWAYS_INLINE detail::float_lanes<V> operator()(const V& v, index_t) const {
    static_assert(std::is_same_v<V, detail::int_lanes<V>>, "convert_to_float: it takes the int32 accumulators");
    return detail::to_float(v);
  }
};

/// acc + bias[col]: a bias already quantized to int32 with scale input_scale * weight_scale.
struct bias_add {
  const std::int32_t* bias;
  template <class V>
  CTQ_ALWAYS_INLINE V operator()(const V& v, index_t col) const {
    return detail::add(v, detail::load_lanes<V>(bias + col));
  }
};

/// float(acc) * multiplier: one requantization multiplier for every column (per-tensor weights).
struct multiply_per_tensor {
  float multiplier;
  template <class V>
  CTQ_ALWAYS_INLINE detail::float_lanes<V> operator()(const V& v, index_t) const {
    using F = detail::float_lanes<V>;
    if constexpr (std::is_same_v<V, F>) {
      return v * detail::broadcast<F>(multiplier);
    } else {
      return detail::to_float(v) * detail::broadcast<F>(multiplier);
    }
  }
};

/// float(acc) * multiplier[col]: one multiplier per output column (per-channel weights).
struct multiply_per_channel {
  const float* multiplier;
  template <class V>
  CTQ_ALWAYS_INLINE detail::float_lanes<V> operator()(const V& v, index_t col) const {
    using F = detail::float_lanes<V>;
    if constexpr (std::is_same_v<V, F>) {
      return v * detail::load_lanes<F>(multiplier + col);
    } else {
      return detail::to_float(v) * detail::load_lanes<F>(multiplier + col);
    }
  }
};

/// value + bias[col] in float: the float bias of a dynamically quantized layer, added after the
/// product above has been rounded (never fused into it).
struct bias_add_float {
  const float* bias;
  template <class V>
  CTQ_ALWAYS_INLINE V operator()(const V& v, index_t col) const {
    static_assert(std::is_same_v<V, detail::float_lanes<V>>,
                  "bias_add_float: it takes float values (after convert_to_float or a multiply stage)");
    return ctq::detail::no_contract(v) + detail::load_lanes<V>(bias + col);
  }
};

/// The nearest integer, ties to even (as std::nearbyint), saturated to the int32 range.
struct round_to_int {
  template <class V>
  CTQ_ALWAYS_INLINE detail::int_lanes<V> operator()(const V& v, index_t) const {
    static_assert(std::is_same_v<V, detail::float_lanes<V>>, "round_to_int: place it after a multiply stage");
    const V lo = detail::broadcast<V>(detail::int32_float_min);
    const V hi = detail::broadcast<V>(detail::int32_float_max);
    return detail::nearest_int(detail::min(detail::max(v, lo), hi));
  }
};

/// round_to_int then clamp{lo, hi} in one step, with the same bits: the value is clamped to
/// [lo, hi] in float, then rounded (rounding is monotone and keeps integers, so clamping before
/// or after it gives the same integer). Needs lo and hi exact in float: |lo|, |hi| <= 2^24.
struct round_clamp {
  std::int32_t lo, hi;
  template <class V>
  CTQ_ALWAYS_INLINE detail::int_lanes<V> operator()(const V& v, index_t) const {
    static_assert(std::is_same_v<V, detail::float_lanes<V>>, "round_clamp: place it after a multiply stage");
    const V l = detail::broadcast<V>(static_cast<float>(lo)), h = detail::broadcast<V>(static_cast<float>(hi));
    return detail::nearest_int(detail::min(detail::max(v, l), h));
  }
};

/// value + zero_point: in integers after round_to_int (as QNNPACK), or in float before it (as
/// oneDNN; the sum is rounded on its own, never fused with a preceding product).
struct add_zero_point {
  std::int32_t zero_point;
  template <class V>
  CTQ_ALWAYS_INLINE V operator()(const V& v, index_t) const {
    if constexpr (std::is_same_v<V, detail::int_lanes<V>>) {
      return detail::add(v, detail::broadcast<V>(zero_point));
    } else {
      return ctq::detail::no_contract(v) + detail::broadcast<V>(static_cast<float>(zero_point));
    }
  }
};

/// min(max(value, lo), hi): the output range, and ReLU / ReLU6 / hardtanh in the quantized
/// domain (ReLU: lo = the output zero point).
struct clamp {
  std::int32_t lo, hi;
  template <class V>
  CTQ_ALWAYS_INLINE V operator()(const V& v, index_t) const {
    static_assert(std::is_same_v<V, detail::int_lanes<V>>, "clamp: place it after round_to_int");
    return detail::min(detail::max(v, detail::broadcast<V>(lo)), detail::broadcast<V>(hi));
  }
};

/// The terminal stage: writes the lanes of row `row` from column `col` on, `count` of them, to
/// dst[row * ld + col]. For 8-bit T the values saturate to T's range; int32_t and float are
/// stored as they are.
template <class T>
struct store {
  static_assert(std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::int32_t> ||
                    std::is_same_v<T, float>,
                "store<T>: T must be std::uint8_t, std::int8_t, std::int32_t or float");
  T* dst;
  index_t ld;

  template <class V>
  CTQ_ALWAYS_INLINE void operator()(const V& v, index_t row, index_t col, [[maybe_unused]] index_t count) const {
    T* out = dst + row * ld + col;
    constexpr bool is_float = std::is_same_v<T, float>;
    static_assert(std::is_same_v<V, std::conditional_t<is_float, detail::float_lanes<V>, detail::int_lanes<V>>>,
                  "store<T>: a float store takes floats and an integer store integers");
    if constexpr (std::is_arithmetic_v<V>) {
      if constexpr (sizeof(T) == 1) {
        constexpr std::int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
        *out = static_cast<T>(detail::min(detail::max(v, lo), hi));
      } else {
        *out = v;
      }
    } else {
#if CTQ_HAS_XSIMD
      constexpr index_t n = detail::lanes<V>::size;
      if constexpr (sizeof(T) == 1) {
        if (count == n) {
          ctq::detail::store_saturated(v, out);
        } else {
          alignas(64) T buf[n];
          ctq::detail::store_saturated(v, buf);
          std::memcpy(out, buf, static_cast<std::size_t>(count));
        }
      } else {
        if (count == n) {
          v.store_unaligned(out);
        } else {
          alignas(64) T buf[n];
          v.store_aligned(buf);
          std::memcpy(out, buf, static_cast<std::size_t>(count) * sizeof(T));
        }
      }
#endif
    }
  }
};

/// Stages applied in order; the last one stores.
template <class... Stages>
struct output_pipeline {
  static_assert(sizeof...(Stages) >= 1, "output_pipeline: it needs at least a store stage");
  std::tuple<Stages...> stages;

  /// Runs the lanes v (accumulators of row `row`, columns col .. col + count - 1) through every
  /// stage.
  template <class V>
  CTQ_ALWAYS_INLINE void operator()(const V& v, index_t row, index_t col, index_t count) const {
    apply<0>(v, row, col, count);
  }

 private:
  template <std::size_t I, class V>
  CTQ_ALWAYS_INLINE void apply(const V& v, index_t row, index_t col, index_t count) const {
    if constexpr (I + 1 == sizeof...(Stages)) {
      std::get<I>(stages)(v, row, col, count);
    } else {
      apply<I + 1>(std::get<I>(stages)(v, col), row, col, count);
    }
  }
};

template <class... Stages>
output_pipeline<Stages...> make_output_pipeline(Stages... stages) {
  return output_pipeline<Stages...>{std::tuple<Stages...>(stages...)};
}

/// The usual epilogue of a quantized Linear or Conv with uint8 / int8 output, as PyTorch computes
/// it: bias in int32, float(acc) * (input_scale * weight_scale / output_scale), rounded to
/// nearest-even, plus the output zero point, clamped to [lo, hi] (the dtype's range, or
/// narrower for a fused ReLU).
template <class T, class Multiply>
using requantize_pipeline = output_pipeline<bias_add, Multiply, round_to_int, add_zero_point, clamp, store<T>>;

}  // namespace ctq::kernels
