// Quantized elementwise kernels on raw buffers, as PyTorch 1.13 computes them: add, add_relu, mul,
// mul_relu (torch.ops.quantized.*), add_scalar and mul_scalar (which choose their output
// parameters), and cat along the channel axis of NHWC buffers with requantization. Every op takes
// uint8_t (quint8) or int8_t (qint8) buffers with per-tensor parameters and a trailing path
// (ctq::arch::scalar{} or ctq::arch::best{}); both paths give identical bits. Buffers are spans:
// name the element type when passing containers, `kernels::add<std::uint8_t>(a, qa, b, qb, y, qy)`.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>

#include "torch_numerics.hpp"

namespace ctq::kernels {

namespace detail {

// ---------------------------------------------------------------------------------------------
// add

// ATen's qadd_kernel (x86, fbgemm, onednn engines; qnnpack for qint8 is below):
//   c = dequantize(a) + dequantize(b); add_relu: c = max(c, 0); y = quantize(c, 1.0f / out_scale)
// with the FMA dequantization of its vector body, as 256-entry float tables.
template <QuantizedByte T>
struct AtenAdd {
  std::array<float, 256> da, db;               // filled only for the gather path (with_tables)
  float a_scale, a_premul, b_scale, b_premul;  // the same dequantization as one FMA each
  std::int32_t a_zp, b_zp;
  float inv_scale;
  std::int32_t zero_point;
  bool relu;

  // with_tables: fill da and db, for the vector path of a build without FMA, which gathers from
  // them; the scalar form and the FMA path compute the same values directly. Filling them costs
  // 512 dequantizations, more than a residual add of a small image.
  AtenAdd(const PerTensorQParams& a, const PerTensorQParams& b, const PerTensorQParams& out, bool relu_fused,
          bool with_tables)
      : a_scale(a.scale),
        a_premul(ctq::detail::no_contract(a.scale * static_cast<float>(-a.zero_point))),
        b_scale(b.scale),
        b_premul(ctq::detail::no_contract(b.scale * static_cast<float>(-b.zero_point))),
        a_zp(a.zero_point),
        b_zp(b.zero_point),
        inv_scale(inverse_f32(out.scale)),
        zero_point(out.zero_point),
        relu(relu_fused) {
    if (!with_tables) return;
    for (std::size_t i = 0; i < 256; ++i) {
      const std::int32_t q = CodeTable<T>::code(i);
      da[i] = dequantize_fma(a.scale, a.zero_point, q);
      db[i] = dequantize_fma(b.scale, b.zero_point, q);
    }
  }
  T operator()(T a, T b) const {
    float c = dequantize_fma(a_scale, a_zp, a) + dequantize_fma(b_scale, b_zp, b);
    if (relu) c = c < 0.0f ? 0.0f : c;
    return quantize_with<T>(c, inv_scale, zero_point);
  }
};

// QNNPACK's pytorch_qnnp_create_add_nc_q8 (quint8) and XNNPACK's xnn_create_add_nd_qs8 (qint8),
// which PyTorch's qnnpack engine runs: fixed-point multipliers for a_scale / out_scale and
// b_scale / out_scale with a shared shift, acc = ma (a - za) + mb (b - zb) in int32, then
//   QNNPACK: shift right rounding half away from zero (remainder > threshold);
//   XNNPACK: (acc + 2^(shift - 1)) >> shift, rounding half up;
// plus the output zero point, clamped to [zp, max] for add_relu or the dtype's range.
template <QuantizedByte T>
struct FixedPointAdd {
  std::int32_t a_mult, b_mult, a_zp, b_zp, zero_point, lo, hi;
  std::int32_t shift;

  FixedPointAdd(const PerTensorQParams& a, const PerTensorQParams& b, const PerTensorQParams& out, bool relu_fused,
                std::string_view op) {
    constexpr bool qnnpack = std::is_same_v<T, std::uint8_t>;
    // XNNPACK rejects ratios outside [2^-10, 2^8); QNNPACK checks [2^-14, 2^8), but below 2^-10 its
    // shift reaches 32 (undefined): ctq rejects those too.
    const float a_ratio = a.scale / out.scale, b_ratio = b.scale / out.scale;
    for (const float r : {a_ratio, b_ratio}) {
      if (!(r >= 0x1.0p-10f) || !(r < 256.0f)) {
        raise(ctq::detail::message() << "ctq: " << op << ": with engine qnnpack PyTorch runs "
                                     << (qnnpack ? "QNNPACK" : "XNNPACK")
                                     << "'s add, which cannot handle an input/output scale ratio of " << r
                                     << " (it needs [2^-10, 2^8)); choose another output scale or the x86 engine");
      }
    }
    if (relu_fused && out.zero_point == qmax<T>) {
      raise(ctq::detail::message() << "ctq: " << op << ": with engine qnnpack PyTorch runs "
                                   << (qnnpack ? "QNNPACK" : "XNNPACK")
                                   << "'s add, which rejects the empty output range "
                                   << "[" << out.zero_point << ", " << qmax<T> << "] of a ReLU whose zero point is "
                                   << qmax<T> << "; choose another output zero point or the x86 engine");
    }
    const float max_ratio = a_ratio > b_ratio ? a_ratio : b_ratio;
    std::uint32_t bits;
    std::memcpy(&bits, &max_ratio, sizeof bits);
    const std::int32_t exponent = static_cast<std::int32_t>(bits >> 23) - 127;
    shift = (qnnpack ? 21 : 20) - exponent;
    const float two_shift = std::ldexp(1.0f, shift);  // exact: a power of two in range
    a_mult = static_cast<std::int32_t>(std::nearbyint(a_ratio * two_shift));
    b_mult = static_cast<std::int32_t>(std::nearbyint(b_ratio * two_shift));
    a_zp = a.zero_point;
    b_zp = b.zero_point;
    zero_point = out.zero_point;
    lo = relu_fused ? out.zero_point : qmin<T>;
    hi = qmax<T>;
  }
  T operator()(T a, T b) const {
    const std::int32_t acc =
        a_mult * (static_cast<std::int32_t>(a) - a_zp) + b_mult * (static_cast<std::int32_t>(b) - b_zp);
    std::int32_t r;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      const auto mask = static_cast<std::int32_t>((std::uint32_t{1} << shift) - 1u);
      const std::int32_t remainder = (acc & mask) - (acc < 0 ? 1 : 0);
      r = (acc >> shift) + (remainder > (mask >> 1) ? 1 : 0);
    } else {
      r = (acc + (std::int32_t{1} << (shift - 1))) >> shift;
    }
    r += zero_point;
    return static_cast<T>(r < lo ? lo : (r > hi ? hi : r));
  }
};

template <QuantizedByte T, class Op>
inline void binary_span(ctq::arch::scalar, const Op& op, const T* a, const T* b, T* y, index_t n) {
  for (index_t i = 0; i < n; ++i) y[i] = op(a[i], b[i]);
}

// Whether AtenAdd's tables are read on this path: only by the vector path without FMA.
template <class Arch>
constexpr bool aten_add_gathers(Arch) {
  return false;  // the scalar path
}

#if CTQ_HAS_XSIMD
// Whether the vector add of architecture A dequantizes with FMA instructions (else it gathers
// from AtenAdd's tables).
template <class A>
#if defined(__FMA__) || defined(__AVX512F__)
inline constexpr bool aten_add_fma = has_fused_multiply_add<A>;
#else
inline constexpr bool aten_add_fma = false;
#endif

template <class A>
constexpr bool aten_add_gathers(ctq::arch::simd<A>) {
  return !aten_add_fma<A>;
}

template <QuantizedByte T, class A>
inline void binary_span(ctq::arch::simd<A>, const AtenAdd<T>& op, const T* a, const T* b, T* y, index_t n) {
  using F = xsimd::batch<float, A>;
  constexpr index_t w = static_cast<index_t>(F::size);
  const F inv(op.inv_scale), zero(0.0f);
  const F lo(static_cast<float>(qmin<T> - op.zero_point)), hi(static_cast<float>(qmax<T> - op.zero_point));
  const xsimd::batch<std::int32_t, A> zp(op.zero_point);
  index_t i = 0;
#if defined(__FMA__) || defined(__AVX512F__)
  if constexpr (aten_add_fma<A>) {
    // scale * q + premul rounded once: the tables' values (dequantize_fma), without the gathers
    const F sa(op.a_scale), pa(op.a_premul), sb(op.b_scale), pb(op.b_premul);
    for (; i + w <= n; i += w) {
      const F qa = xsimd::to_float(ctq::detail::load_widen<A>(a + i));
      const F qb = xsimd::to_float(ctq::detail::load_widen<A>(b + i));
      F c = fused_multiply_add<A>(qa, sa, pa) + fused_multiply_add<A>(qb, sb, pb);
      if (op.relu) c = xsimd::max(c, zero);
      const F t = xsimd::min(xsimd::max(c * inv, lo), hi);
      ctq::detail::store_narrow(xsimd::nearbyint_as_int(t) + zp, y + i);
    }
  }
#endif
  for (; i + w <= n; i += w) {
    F c = gather_by_code<A>(op.da.data(), a + i) + gather_by_code<A>(op.db.data(), b + i);
    if (op.relu) c = xsimd::max(c, zero);
    const F t = xsimd::min(xsimd::max(c * inv, lo), hi);
    ctq::detail::store_narrow(xsimd::nearbyint_as_int(t) + zp, y + i);
  }
  binary_span(ctq::arch::scalar{}, op, a + i, b + i, y + i, n - i);
}

template <QuantizedByte T, class A>
inline void binary_span(ctq::arch::simd<A>, const FixedPointAdd<T>& op, const T* a, const T* b, T* y, index_t n) {
  using I = xsimd::batch<std::int32_t, A>;
  constexpr index_t w = static_cast<index_t>(I::size);
  const I am(op.a_mult), bm(op.b_mult), az(op.a_zp), bz(op.b_zp), zp(op.zero_point), lo(op.lo), hi(op.hi);
  const I one(1), zero(0);
  const auto mask_bits = (std::uint32_t{1} << op.shift) - 1u;
  const I mask(static_cast<std::int32_t>(mask_bits)), threshold(static_cast<std::int32_t>(mask_bits >> 1));
  const I rounding(static_cast<std::int32_t>(std::uint32_t{1} << (op.shift - 1)));
  index_t i = 0;
  for (; i + w <= n; i += w) {
    const I acc = am * (ctq::detail::load_widen<A>(a + i) - az) + bm * (ctq::detail::load_widen<A>(b + i) - bz);
    I r;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      const I remainder = (acc & mask) - xsimd::select(acc < zero, one, zero);
      r = (acc >> op.shift) + xsimd::select(remainder > threshold, one, zero);
    } else {
      r = (acc + rounding) >> op.shift;
    }
    ctq::detail::store_narrow(xsimd::min(xsimd::max(r + zp, lo), hi), y + i);
  }
  binary_span(ctq::arch::scalar{}, op, a + i, b + i, y + i, n - i);
}
#endif

template <QuantizedByte T, class Arch>
void add_impl(std::span<const T> a, const PerTensorQParams& a_qp, std::span<const T> b, const PerTensorQParams& b_qp,
              std::span<T> out, const PerTensorQParams& out_qp, const TorchConfig& torch, bool relu, Arch path) {
  const std::string_view op = relu ? "add_relu" : "add";
  check_qparams<T>(a_qp, op, "first input");
  check_qparams<T>(b_qp, op, "second input");
  check_qparams<T>(out_qp, op, "output");
  check_length(b.size(), a.size(), op, "the second input");
  check_length(out.size(), a.size(), op, "the output");
  const auto n = static_cast<index_t>(a.size());
  if (torch.engine == qengine::qnnpack) {
    binary_span(path, FixedPointAdd<T>(a_qp, b_qp, out_qp, relu, op), a.data(), b.data(), out.data(), n);
  } else {
    binary_span(path, AtenAdd<T>(a_qp, b_qp, out_qp, relu, aten_add_gathers(path)), a.data(), b.data(), out.data(), n);
  }
}

// ---------------------------------------------------------------------------------------------
// Requantization of integers (mul, add_scalar): requantize_from_int

// y = clamp(nearbyint(float(acc) * multiplier) + zero_point) for acc = (a - za)(b - zb) or
// acc = q - z + c; optionally max(y, zero_point) (the fused ReLU).
template <QuantizedByte T>
struct IntRequantize {
  float multiplier;
  std::int32_t zero_point;
  std::int32_t lo;  // qmin, or zero_point with ReLU
  std::int32_t hi = qmax<T>;

  T finish(std::int32_t acc) const {
    const float flo = static_cast<float>(qmin<T> - zero_point), fhi = static_cast<float>(hi - zero_point);
    float t = static_cast<float>(acc) * multiplier;
    t = t < flo ? flo : (t > fhi ? fhi : t);
    const std::int32_t r = static_cast<std::int32_t>(std::nearbyint(t)) + zero_point;
    return static_cast<T>(r < lo ? lo : r);
  }
};

template <QuantizedByte T>
struct MulOp : IntRequantize<T> {
  std::int32_t a_zp, b_zp;
  T operator()(T a, T b) const {
    return this->finish((static_cast<std::int32_t>(a) - a_zp) * (static_cast<std::int32_t>(b) - b_zp));
  }
};

template <QuantizedByte T>
struct AddIntOp : IntRequantize<T> {
  std::int32_t offset;  // c_q - z
  T operator()(T a) const { return this->finish(static_cast<std::int32_t>(a) + offset); }
};

#if CTQ_HAS_XSIMD
template <QuantizedByte T, class A>
inline xsimd::batch<std::int32_t, A> finish_batch(const IntRequantize<T>& op,
                                                  const xsimd::batch<std::int32_t, A>& acc) {
  using F = xsimd::batch<float, A>;
  using I = xsimd::batch<std::int32_t, A>;
  const F flo(static_cast<float>(qmin<T> - op.zero_point)), fhi(static_cast<float>(op.hi - op.zero_point));
  const F t = xsimd::min(xsimd::max(xsimd::to_float(acc) * F(op.multiplier), flo), fhi);
  return xsimd::max(xsimd::nearbyint_as_int(t) + I(op.zero_point), I(op.lo));
}

template <QuantizedByte T, class A>
inline void binary_span(ctq::arch::simd<A>, const MulOp<T>& op, const T* a, const T* b, T* y, index_t n) {
  using I = xsimd::batch<std::int32_t, A>;
  constexpr index_t w = static_cast<index_t>(I::size);
  const I az(op.a_zp), bz(op.b_zp);
  index_t i = 0;
  for (; i + w <= n; i += w) {
    const I acc = (ctq::detail::load_widen<A>(a + i) - az) * (ctq::detail::load_widen<A>(b + i) - bz);
    ctq::detail::store_narrow(finish_batch(op, acc), y + i);
  }
  binary_span(ctq::arch::scalar{}, op, a + i, b + i, y + i, n - i);
}
#endif

template <QuantizedByte T>
inline void unary_span(ctq::arch::scalar, const AddIntOp<T>& op, const T* x, T* y, index_t n) {
  for (index_t i = 0; i < n; ++i) y[i] = op(x[i]);
}

#if CTQ_HAS_XSIMD
template <QuantizedByte T, class A>
inline void unary_span(ctq::arch::simd<A>, const AddIntOp<T>& op, const T* x, T* y, index_t n) {
  using I = xsimd::batch<std::int32_t, A>;
  constexpr index_t w = static_cast<index_t>(I::size);
  const I offset(op.offset);
  index_t i = 0;
  for (; i + w <= n; i += w)
    ctq::detail::store_narrow(finish_batch(op, ctq::detail::load_widen<A>(x + i) + offset), y + i);
  unary_span(ctq::arch::scalar{}, op, x + i, y + i, n - i);
}
#endif

template <QuantizedByte T, class Arch>
void mul_impl(std::span<const T> a, const PerTensorQParams& a_qp, std::span<const T> b, const PerTensorQParams& b_qp,
              std::span<T> out, const PerTensorQParams& out_qp, bool relu, Arch path) {
  const std::string_view op = relu ? "mul_relu" : "mul";
  check_qparams<T>(a_qp, op, "first input");
  check_qparams<T>(b_qp, op, "second input");
  check_qparams<T>(out_qp, op, "output");
  check_length(b.size(), a.size(), op, "the second input");
  check_length(out.size(), a.size(), op, "the output");
  MulOp<T> m;
  const float product = a_qp.scale * b_qp.scale;
  if (std::is_signed_v<T> && out_qp.zero_point < qmax<T>) {
    // XNNPACK's xnn_create_multiply_nd_qs8: product / out_scale, which it requires in [2^-16, 2^8).
    m.multiplier = product / out_qp.scale;
    if (!(m.multiplier >= 0x1.0p-16f) || !(m.multiplier < 256.0f)) {
      raise(ctq::detail::message() << "ctq: " << op << ": PyTorch runs XNNPACK's qint8 multiply here, which cannot "
                                   << "handle a scale ratio a_scale * b_scale / out_scale of " << m.multiplier
                                   << " (it needs [2^-16, 2^8)); choose another output scale");
    }
  } else {
    m.multiplier = product * inverse_f32(out_qp.scale);
  }
  m.zero_point = out_qp.zero_point;
  m.lo = relu ? out_qp.zero_point : qmin<T>;
  m.a_zp = a_qp.zero_point;
  m.b_zp = b_qp.zero_point;
  binary_span(path, m, a.data(), b.data(), out.data(), static_cast<index_t>(a.size()));
}

// Copies x to y (the ops below that only change the parameters); x and y may be the same buffer.
template <QuantizedByte T>
inline void copy_codes(std::span<const T> x, std::span<T> y) {
  if (!x.empty() && x.data() != y.data()) std::memmove(y.data(), x.data(), x.size());
}

}  // namespace detail

/// torch.ops.quantized.add(a, b, scale, zero_point): dequantize both, add, quantize into `out_qp`.
/// Engines x86, fbgemm, onednn: ATen's float kernel (its vector body: FMA dequantization,
/// 1.0f / out_scale, ties to even). Engine qnnpack: QNNPACK's fixed-point add for quint8, XNNPACK's
/// for qint8 (PyTorch raises when their scale-ratio limits are exceeded; so does ctq).
/// Raises ctq::error on different lengths or unusable parameters.
template <QuantizedByte T, class Arch = ctq::arch::best>
void add(std::span<const T> a, const PerTensorQParams& a_qp, std::span<const T> b, const PerTensorQParams& b_qp,
         std::span<T> out, const PerTensorQParams& out_qp, TorchConfig torch = {}, Arch path = {}) {
  detail::add_impl(a, a_qp, b, b_qp, out, out_qp, torch, false, path);
}

/// torch.ops.quantized.add_relu: add with the result clamped at the output zero point (before
/// rounding on the ATen engines, as the clamp of the float sum at 0; after it on qnnpack).
template <QuantizedByte T, class Arch = ctq::arch::best>
void add_relu(std::span<const T> a, const PerTensorQParams& a_qp, std::span<const T> b, const PerTensorQParams& b_qp,
              std::span<T> out, const PerTensorQParams& out_qp, TorchConfig torch = {}, Arch path = {}) {
  detail::add_impl(a, a_qp, b, b_qp, out, out_qp, torch, true, path);
}

/// torch.ops.quantized.mul(a, b, scale, zero_point), every engine:
///   y = clamp(nearbyint(float((a - za)(b - zb)) * m) + zero_point)
/// quint8 (ATen's qmul_kernel): m = (sa * sb) * (1.0f / s_out). qint8 with an output zero point
/// below 127: PyTorch 1.13 runs XNNPACK's multiply on every engine, m = (sa * sb) / s_out, and
/// fails when m is outside [2^-16, 2^8) (ctq raises ctq::error). (ATen's vector body converts
/// |product * m| >= 2^31 to INT_MIN; ctq saturates, as its scalar code does.)
template <QuantizedByte T, class Arch = ctq::arch::best>
void mul(std::span<const T> a, const PerTensorQParams& a_qp, std::span<const T> b, const PerTensorQParams& b_qp,
         std::span<T> out, const PerTensorQParams& out_qp, Arch path = {}) {
  detail::mul_impl(a, a_qp, b, b_qp, out, out_qp, false, path);
}

/// torch.ops.quantized.mul_relu: mul, then max(y, zero_point).
template <QuantizedByte T, class Arch = ctq::arch::best>
void mul_relu(std::span<const T> a, const PerTensorQParams& a_qp, std::span<const T> b, const PerTensorQParams& b_qp,
              std::span<T> out, const PerTensorQParams& out_qp, Arch path = {}) {
  detail::mul_impl(a, a_qp, b, b_qp, out, out_qp, true, path);
}

/// torch.ops.quantized.add_scalar(x, c): PyTorch picks the output parameters so that the shift
/// needs no requantization where it can (qadd.cpp):
///   c_q = nearbyint(c / s) (in double); if qmin <= z - c_q <= qmax: s' = s, z' = z - c_q and the
///   codes are copied; otherwise z' = qmin (or qmax), s' = (qmax - (z - c_q)) / (qmax - qmin) * s
///   (or (z - c_q - qmin) / (qmax - qmin) * s) in double, and y = clamp(z' + nearbyint(
///   float(q - z + c_q) * (float(s) * (1.0f / float(s'))))).
/// Returns the output parameters (s' rounded to float). PyTorch computes in double from its double
/// scale; ctq's float scale is the same number whenever the scale was a float to begin with.
/// x and y may be the same buffer.
template <QuantizedByte T, class Arch = ctq::arch::best>
PerTensorQParams add_scalar(std::span<const T> x, const PerTensorQParams& x_qp, double c, std::span<T> y,
                            Arch path = {}) {
  constexpr std::string_view op = "add_scalar";
  detail::check_qparams<T>(x_qp, op, "input");
  detail::check_length(y.size(), x.size(), op, "the output");
  const double s = x_qp.scale;
  if (!std::isfinite(c) || !(std::fabs(c / s) < 0x1.0p30)) {
    raise(ctq::detail::message() << "ctq: add_scalar: the scalar " << c << " must be finite and below 2^30 times "
                                 << "the input scale " << x_qp.scale);
  }
  constexpr std::int64_t qmin = detail::qmin<T>, qmax = detail::qmax<T>;
  const auto c_q = static_cast<std::int64_t>(std::nearbyint(c / s));
  const std::int64_t shifted = x_qp.zero_point - c_q;
  if (shifted >= qmin && shifted <= qmax) {
    detail::copy_codes(x, y);
    return {x_qp.scale, static_cast<std::int32_t>(shifted)};
  }
  const double range = static_cast<double>(qmax) - static_cast<double>(qmin);
  const double s_prime = shifted < qmin ? (static_cast<double>(qmax) - static_cast<double>(shifted)) / range * s
                                        : (static_cast<double>(shifted) - static_cast<double>(qmin)) / range * s;
  const PerTensorQParams out{static_cast<float>(s_prime), static_cast<std::int32_t>(shifted < qmin ? qmin : qmax)};
  detail::AddIntOp<T> requant;
  requant.multiplier = x_qp.scale * detail::inverse_f32(out.scale);
  requant.zero_point = out.zero_point;
  requant.lo = detail::qmin<T>;
  requant.offset = static_cast<std::int32_t>(c_q) - x_qp.zero_point;
  detail::unary_span(path, requant, x.data(), y.data(), static_cast<index_t>(x.size()));
  return out;
}

/// torch.ops.quantized.mul_scalar(x, c): only the parameters change (qmul.cpp):
///   c > 0: s' = c * s, z' = z, codes copied;  c == 0: s' = 1, z' = 0, every code 0;
///   c < 0: s' = |c| * s, z' = qmax - (z - qmin), y = qmax + qmin - q.
/// Returns the output parameters (s' computed in double, then rounded to float). Raises ctq::error
/// when c is not finite or s' is not a usable float scale. x and y may be the same buffer.
template <QuantizedByte T, class Arch = ctq::arch::best>
PerTensorQParams mul_scalar(std::span<const T> x, const PerTensorQParams& x_qp, double c, std::span<T> y,
                            Arch path = {}) {
  constexpr std::string_view op = "mul_scalar";
  detail::check_qparams<T>(x_qp, op, "input");
  detail::check_length(y.size(), x.size(), op, "the output");
  if (!std::isfinite(c)) raise(ctq::detail::message() << "ctq: mul_scalar: the scalar " << c << " must be finite");
  if (c == 0.0) {
    if (!y.empty()) std::memset(y.data(), 0, y.size());
    return {1.0f, 0};
  }
  const PerTensorQParams out{static_cast<float>(std::fabs(c) * static_cast<double>(x_qp.scale)),
                             c > 0.0 ? x_qp.zero_point : detail::qmax<T> - (x_qp.zero_point - detail::qmin<T>)};
  if (!(out.scale > 0.0f) || !std::isfinite(out.scale) || !std::isfinite(1.0f / out.scale)) {
    raise(ctq::detail::message() << "ctq: mul_scalar: the output scale " << std::fabs(c) << " * " << x_qp.scale
                                 << " is not a usable float scale (it must lie in [2^-126, 2^128))");
  }
  if (c > 0.0) {
    detail::copy_codes(x, y);
  } else {
    // qmax + qmin - q: an order-reversing table.
    CodeTable<T> flip;
    for (std::size_t i = 0; i < 256; ++i)
      flip.out[i] = static_cast<T>(detail::qmax<T> + detail::qmin<T> - CodeTable<T>::code(i));
    detail::lookup_span(path, flip, x.data(), y.data(), static_cast<index_t>(x.size()));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// cat

/// One input of cat: an NHWC buffer of `channels` channels and its parameters.
template <QuantizedByte T>
struct CatInput {
  std::span<const T> data;
  index_t channels = 0;
  PerTensorQParams qparams;
};

namespace detail {

// The requantization of one input to the output parameters, as a table: quantize(dequantize(q)).
template <QuantizedByte T>
CodeTable<T> requantize_table(const PerTensorQParams& in, const PerTensorQParams& out, bool fma_form) {
  CodeTable<T> t;
  for (std::size_t i = 0; i < 256; ++i) {
    const std::int32_t q = CodeTable<T>::code(i);
    t.out[i] =
        fma_form
            ? quantize_with<T>(dequantize_fma(in.scale, in.zero_point, q), inverse_f64(out.scale), out.zero_point)
            : quantize_with<T>(dequantize_exact(in.scale, in.zero_point, q), inverse_f32(out.scale), out.zero_point);
  }
  return t;
}

}  // namespace detail

/// torch.ops.quantized.cat(xs, dim=channels, scale, zero_point) for NHWC buffers of shape
/// [n, h, w, channels_i]: the output [n, h, w, sum channels_i] requantized into `out_qp`.
/// PyTorch has two kernels. For contiguous (NCHW) tensors it dequantizes, concatenates and
/// quantizes ((q - z) * s, then 1.0f / s_out). For channels-last tensors (or contiguous ones that
/// are also channels-last contiguous: one channel or H = W = 1, for every input) it runs
/// qcat_nhwc_kernel, whose vector body (the first channels_i / 8 * 8 channels of each input)
/// dequantizes with an FMA and uses float(1.0 / s_out); ctq reproduces both (torch.format).
/// Raises ctq::error when the buffer sizes or channel counts do not match.
template <QuantizedByte T, class Arch = ctq::arch::best>
void cat(std::span<const CatInput<T>> inputs, index_t n, index_t h, index_t w, std::span<T> out,
         const PerTensorQParams& out_qp, TorchConfig torch = {}, Arch path = {}) {
  constexpr std::string_view op = "cat";
  if (inputs.empty()) raise("ctq: cat: no inputs; give at least one");
  if (n < 0 || h < 1 || w < 1) {
    raise(ctq::detail::message() << "ctq: cat: need n >= 0, h >= 1, w >= 1; got n = " << n << ", h = " << h
                                 << ", w = " << w);
  }
  detail::check_qparams<T>(out_qp, op, "output");
  const index_t pixels = n * h * w;
  index_t channels = 0;
  bool all_channels_last = true;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const auto& in = inputs[k];
    if (in.channels < 1) {
      raise(ctq::detail::message() << "ctq: cat: input " << k << " has " << in.channels << " channels; need >= 1");
    }
    ctq::detail::message which;
    which << "input " << k;
    detail::check_qparams<T>(in.qparams, op, which.c_str());
    if (static_cast<index_t>(in.data.size()) != pixels * in.channels) {
      raise(ctq::detail::message() << "ctq: cat: input " << k << " has " << in.data.size() << " elements, but " << n
                                   << " x " << h << " x " << w << " x " << in.channels << " = " << pixels * in.channels
                                   << " were expected");
    }
    channels += in.channels;
    all_channels_last = all_channels_last && (in.channels == 1 || (h == 1 && w == 1));
  }
  if (static_cast<index_t>(out.size()) != pixels * channels) {
    raise(ctq::detail::message() << "ctq: cat: the output has " << out.size() << " elements, but " << n << " x " << h
                                 << " x " << w << " x " << channels << " = " << pixels * channels << " were expected");
  }
  const bool nhwc_kernel = torch.format == memory_format::channels_last || all_channels_last;
  index_t offset = 0;
  for (const auto& in : inputs) {
    const auto exact = detail::requantize_table<T>(in.qparams, out_qp, false);
    const index_t c = in.channels, vector_channels = nhwc_kernel ? c / 8 * 8 : 0;
    if (vector_channels > 0) {
      const auto fused = detail::requantize_table<T>(in.qparams, out_qp, true);
      for (index_t p = 0; p < pixels; ++p) {
        detail::lookup_span(path, fused, in.data.data() + p * c, out.data() + p * channels + offset, vector_channels);
        detail::lookup_span(path, exact, in.data.data() + p * c + vector_channels,
                            out.data() + p * channels + offset + vector_channels, c - vector_channels);
      }
    } else if (c == channels) {
      detail::lookup_span(path, exact, in.data.data(), out.data(), pixels * c);
    } else {
      for (index_t p = 0; p < pixels; ++p) {
        detail::lookup_span(path, exact, in.data.data() + p * c, out.data() + p * channels + offset, c);
      }
    }
    offset += c;
  }
}

}  // namespace ctq::kernels
