// What the quantized elementwise, activation and pooling kernels share: the PyTorch configuration
// their results depend on (engine, memory format), the dequantize and quantize steps of PyTorch
// 1.13's CPU kernels as they round, Sleef's expf, and 256-entry code tables with their lookup.
//
// PyTorch 1.13's ATen kernels have a vector body (AVX2 on x86) and a scalar remainder that can
// round differently (the body dequantizes with an FMA); ctq reproduces the body, which handles all
// but the last n % 64 elements of an elementwise op. tools/reference/gen_qops.py counts the outputs
// on which the two disagree.
#pragma once

#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>

#include "../config.hpp"
#include "../core/arch.hpp"
#include "../core/detail/fp.hpp"
#include "../core/error.hpp"
#include "../core/qparams.hpp"

#if CTQ_HAS_XSIMD
#include <xsimd/xsimd.hpp>

#include "../core/detail/simd_convert.hpp"
#endif

namespace ctq::kernels {

/// PyTorch's torch.backends.quantized.engine. For the ops of elementwise.hpp, activation.hpp and
/// pooling.hpp the x86, fbgemm and onednn engines run the same ATen kernels; qnnpack runs QNNPACK's
/// (and for qint8 add, XNNPACK's) integer kernels for some ops, which round differently. Each op
/// says where the engine matters.
enum class qengine : std::uint8_t { x86, fbgemm, onednn, qnnpack };

/// The memory format of the PyTorch tensors. ctq's buffers are NHWC either way, but some ATen
/// kernels (avg_pool2d, adaptive_avg_pool2d, cat) round differently for channels-last tensors and
/// for contiguous (NCHW) ones; PyTorch takes its channels-last kernel for a contiguous tensor too
/// when that tensor is also channels-last contiguous (one channel, or H = W = 1).
enum class memory_format : std::uint8_t { contiguous, channels_last };

/// The PyTorch configuration whose results an op reproduces. The default is what a model gets in
/// PyTorch eager mode on x86: ATen's kernels on contiguous (NCHW) tensors.
struct TorchConfig {
  qengine engine = qengine::x86;
  memory_format format = memory_format::contiguous;
};

/// The storage of quint8 (std::uint8_t) and qint8 (std::int8_t).
template <class T>
concept QuantizedByte = std::same_as<T, std::uint8_t> || std::same_as<T, std::int8_t>;

/// An 8-bit operation as a table: the output code for each of the 256 input codes.
template <QuantizedByte T>
struct CodeTable {
  std::array<T, 256> out{};

  /// The position of code q: q - min(T).
  static constexpr std::size_t index(T q) {
    return static_cast<std::size_t>(static_cast<std::uint8_t>(q) ^ (std::is_signed_v<T> ? 0x80u : 0u));
  }
  /// The code at position i.
  static constexpr T code(std::size_t i) {
    return static_cast<T>(static_cast<std::int32_t>(i) + std::numeric_limits<T>::min());
  }
  constexpr T operator()(T q) const { return out[index(q)]; }
};

namespace detail {

template <QuantizedByte T>
inline constexpr std::int32_t qmin = std::numeric_limits<T>::min();
template <QuantizedByte T>
inline constexpr std::int32_t qmax = std::numeric_limits<T>::max();
template <QuantizedByte T>
inline constexpr std::string_view dtype_name = std::is_signed_v<T> ? "qint8" : "quint8";

/// Raises unless qp suits T: a positive finite scale with a finite reciprocal, a zero point in
/// T's range. `which` names the operand ("input", "output", "second input").
template <QuantizedByte T>
void check_qparams(const PerTensorQParams& qp, std::string_view op, std::string_view which) {
  if (!(qp.scale > 0.0f) || !std::isfinite(qp.scale) || !std::isfinite(1.0f / qp.scale)) {
    raise(ctq::detail::message() << "ctq: " << op << ": the " << which << " scale " << qp.scale
                                 << " must be a positive finite number of at least 2^-126");
  }
  if (qp.zero_point < qmin<T> || qp.zero_point > qmax<T>) {
    raise(ctq::detail::message() << "ctq: " << op << ": the " << which << " zero point " << qp.zero_point
                                 << " is outside the range of " << dtype_name<T> << " [" << qmin<T> << ", "
                                 << qmax<T> << "]");
  }
}

inline void check_length(std::size_t got, std::size_t want, std::string_view op, std::string_view what) {
  if (got != want) {
    raise(ctq::detail::message() << "ctq: " << op << ": " << what << " has " << got << " elements, expected " << want
                                 << " (the buffers must have the same length)");
  }
}

/// The engine runs QNNPACK's kernel for quint8 data.
template <QuantizedByte T>
constexpr bool uses_qnnpack(const TorchConfig& torch) {
  return std::is_same_v<T, std::uint8_t> && torch.engine == qengine::qnnpack;
}

// PyTorch's AVX2 kernels dequantize with one fused multiply-add, scale * q + (scale * -zero_point),
// the product scale * -zero_point rounded first (Vectorized<quint8>::dequantize). In double the
// sum is exact (both terms are multiples of ulp(scale) below 2^34 ulp(scale)), so converting it to
// float rounds once, as the FMA does: no FMA instruction is needed.
inline float dequantize_fma(float scale, std::int32_t zero_point, std::int32_t q) {
  const float premul = scale * static_cast<float>(-zero_point);
  return static_cast<float>(static_cast<double>(scale) * q + static_cast<double>(premul));
}

// PyTorch's scalar dequantize_val (and QNNPACK's tables): (q - zero_point) * scale, one rounding.
inline float dequantize_exact(float scale, std::int32_t zero_point, std::int32_t q) {
  return static_cast<float>(q - zero_point) * scale;
}

// The reciprocal of a scale as PyTorch kernels compute it: in float (`1.0f / scale`) or in double
// and then rounded (`float inv = 1.0 / scale`, scale a double); they differ in rare cases.
inline float inverse_f32(float scale) { return 1.0f / scale; }
inline float inverse_f64(float scale) { return static_cast<float>(1.0 / static_cast<double>(scale)); }

// y = clamp(nearbyint(x * inv_scale) + zero_point, qmin, qmax), ties to even (QuantizeAvx2 and
// quantize_val). Clamped in float first: the same integers, without int32 overflow; NaN gives qmin
// as _mm256_cvtps_epi32 does.
template <QuantizedByte T>
inline T quantize_with(float x, float inv_scale, std::int32_t zero_point) {
  const float lo = static_cast<float>(qmin<T> - zero_point), hi = static_cast<float>(qmax<T> - zero_point);
  float t = x * inv_scale;
  if (!(t >= lo)) t = lo;
  if (t > hi) t = hi;
  return static_cast<T>(static_cast<std::int32_t>(std::nearbyint(t)) + zero_point);
}

// Saturates v to T's range.
template <QuantizedByte T>
inline T saturate(std::int64_t v) {
  return static_cast<T>(v < qmin<T> ? qmin<T> : (v > qmax<T> ? qmax<T> : v));
}

// Sleef 3.5's expf_u10 (xexpf in sleefsimdsp.c) as PyTorch 1.13's AVX2 Vectorized<float>::exp
// runs it: Sleef's AVX2 build fuses every multiply-add. Its error is up to 1 ULP, and std::exp
// differs from it for ~8% of inputs: enough to move a quantized sigmoid or ELU across a rounding
// boundary. Inputs beyond [-104, 100] give 0 and inf as Sleef's final selects do.
inline float sleef_expf(float d) {
  if (d < -104.0f) return 0.0f;
  if (d > 100.0f) return std::numeric_limits<float>::infinity();
  const auto q = static_cast<std::int32_t>(std::nearbyint(d * 1.442695040888963407359924681001892137f));
  const float fq = static_cast<float>(q);
  float s = std::fma(fq, -0.693145751953125f, d);
  s = std::fma(fq, -1.428606765330187045e-06f, s);
  float u = 0.000198527617612853646278381f;
  u = std::fma(u, s, 0.00139304355252534151077271f);
  u = std::fma(u, s, 0.00833336077630519866943359f);
  u = std::fma(u, s, 0.0416664853692054748535156f);
  u = std::fma(u, s, 0.166666671633720397949219f);
  u = std::fma(u, s, 0.5f);
  u = 1.0f + std::fma(s * s, u, s);
  // vldexp2: two scalings by powers of two, each a float multiply.
  auto pow2i = [](std::int32_t e) {
    const auto bits = static_cast<std::uint32_t>(e + 0x7f) << 23;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  };
  const std::int32_t half = q >> 1;
  return u * pow2i(half) * pow2i(q - half);
}

// ---------------------------------------------------------------------------------------------
// Table lookup over contiguous buffers, one path per architecture (identical results).

template <QuantizedByte T>
inline void lookup_span(ctq::arch::scalar, const CodeTable<T>& table, const T* x, T* y, index_t n) {
  for (index_t i = 0; i < n; ++i) y[i] = table(x[i]);
}

#if CTQ_HAS_XSIMD

template <class A>
inline constexpr bool has_native_gather = std::is_base_of_v<xsimd::avx2, A> || std::is_base_of_v<xsimd::avx512f, A>;

/// Whether fused_multiply_add<A> is one hardware FMA (a * b + c rounded once) for A.
template <class A>
inline constexpr bool has_fused_multiply_add =
#if defined(__AVX512F__)
    std::is_base_of_v<xsimd::avx512f, A> ||
#endif
#if defined(__FMA__) && defined(__AVX2__)
    std::is_base_of_v<xsimd::avx2, A> ||
#endif
    false;

#if defined(__FMA__) || defined(__AVX512F__)
/// a * b + c rounded once, with the FMA instruction (only where has_fused_multiply_add<A>).
template <class A>
inline xsimd::batch<float, A> fused_multiply_add(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                                 const xsimd::batch<float, A>& c) {
#if defined(__AVX512F__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, A>) return _mm512_fmadd_ps(a, b, c);
#endif
#if defined(__FMA__) && defined(__AVX2__)
  if constexpr (!std::is_base_of_v<xsimd::avx512f, A> && std::is_base_of_v<xsimd::avx2, A>) {
    return _mm256_fmadd_ps(a, b, c);
  }
#endif
  static_assert(has_fused_multiply_add<A>, "ctq: fused_multiply_add: no FMA instruction for this architecture");
  return a;
}
#endif

// Gathers table[code - min(T)] for a batch of codes: a native gather where the architecture has
// one, scalar loads into a stack buffer otherwise.
template <class A, QuantizedByte T, class V>
inline xsimd::batch<V, A> gather_by_code(const V* table, const T* codes) {
  using B = xsimd::batch<V, A>;
  if constexpr (has_native_gather<A>) {
    const auto idx = ctq::detail::load_widen<A>(codes) - xsimd::batch<std::int32_t, A>(qmin<T>);
    return B::gather(table, idx);
  } else {
    alignas(64) V buf[B::size];
    for (std::size_t i = 0; i < B::size; ++i) buf[i] = table[CodeTable<T>::index(codes[i])];
    return B::load_aligned(buf);
  }
}

template <QuantizedByte T, class A>
inline void lookup_span(ctq::arch::simd<A>, const CodeTable<T>& table, const T* x, T* y, index_t n) {
  using I = xsimd::batch<std::int32_t, A>;
  constexpr index_t w = static_cast<index_t>(I::size);
  index_t i = 0;
  if (n >= w) {
    alignas(64) std::int32_t wide[256];
    for (std::size_t k = 0; k < 256; ++k) wide[k] = table.out[k];
    for (; i + w <= n; i += w) ctq::detail::store_narrow(gather_by_code<A>(wide, x + i), y + i);
  }
  lookup_span(ctq::arch::scalar{}, table, x + i, y + i, n - i);
}
#endif

}  // namespace detail

/// Applies a code table: y[i] = table(x[i]). x and y may be the same buffer.
template <QuantizedByte T, class Arch = ctq::arch::best>
void lookup(const CodeTable<T>& table, std::span<const T> x, std::span<T> y, Arch path = {}) {
  detail::check_length(y.size(), x.size(), "lookup", "the output");
  detail::lookup_span(path, table, x.data(), y.data(), static_cast<index_t>(x.size()));
}

}  // namespace ctq::kernels
