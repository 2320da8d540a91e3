// Quantized activations on raw buffers, as PyTorch 1.13 computes them. relu, relu6, hardtanh and
// clamp are integer clamps of the codes. hardswish, sigmoid, tanh, elu and leaky_relu are 8-bit
// functions of the code: each is a 256-entry CodeTable, built once from the parameters by
// dequantizing every code, applying the float function the way PyTorch's kernel does and
// quantizing; `lookup` then maps a buffer through it. The one-call forms build and apply a table.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "../core/detail/fp.hpp"
#include "torch_numerics.hpp"

namespace ctq::kernels {

namespace detail {

// y = min(max(q, lo), hi): relu (lo = zero point), relu6, hardtanh / clamp.
template <QuantizedByte T>
inline void clamp_span(ctq::arch::scalar, T lo, T hi, const T* x, T* y, index_t n) {
  for (index_t i = 0; i < n; ++i) {
    const T v = x[i] < lo ? lo : x[i];
    y[i] = v > hi ? hi : v;
  }
}

#if CTQ_HAS_XSIMD
template <QuantizedByte T, class A>
inline void clamp_span(ctq::arch::simd<A>, T lo, T hi, const T* x, T* y, index_t n) {
  using I = xsimd::batch<std::int32_t, A>;
  constexpr index_t w = static_cast<index_t>(I::size);
  const I vlo(static_cast<std::int32_t>(lo)), vhi(static_cast<std::int32_t>(hi));
  index_t i = 0;
  for (; i + w <= n; i += w) {
    ctq::detail::store_narrow(xsimd::min(xsimd::max(ctq::detail::load_widen<A>(x + i), vlo), vhi), y + i);
  }
  clamp_span(ctq::arch::scalar{}, lo, hi, x + i, y + i, n - i);
}
#endif

template <QuantizedByte T, class Arch>
void clamp_codes(std::span<const T> x, std::span<T> y, T lo, T hi, std::string_view op, Arch path) {
  check_length(y.size(), x.size(), op, "the output");
  clamp_span(path, lo, hi, x.data(), y.data(), static_cast<index_t>(x.size()));
}

// QNNPACK builds its tables with lrintf of a float already clamped to [0, 255].
inline std::uint8_t qnnpack_round(float v) {
  v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
  return static_cast<std::uint8_t>(std::nearbyint(v));
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Integer clamps: output parameters are the input's.

/// torch.relu / torch.nn.quantized.ReLU: y = max(q, zero_point), every engine.
template <QuantizedByte T, class Arch = ctq::arch::best>
void relu(std::span<const T> x, const PerTensorQParams& qp, std::span<T> y, Arch path = {}) {
  detail::check_qparams<T>(qp, "relu", "input");
  detail::clamp_codes(x, y, static_cast<T>(qp.zero_point), std::numeric_limits<T>::max(), "relu", path);
}

/// torch.ops.quantized.relu6 / torch.nn.quantized.ReLU6: y = min(max(q, zero_point), q6) with
/// q6 = quantize(6.0) (1.0f / scale, ties to even, saturated), every engine.
template <QuantizedByte T, class Arch = ctq::arch::best>
void relu6(std::span<const T> x, const PerTensorQParams& qp, std::span<T> y, Arch path = {}) {
  detail::check_qparams<T>(qp, "relu6", "input");
  const T six = detail::quantize_with<T>(6.0f, detail::inverse_f32(qp.scale), qp.zero_point);
  detail::clamp_codes(x, y, static_cast<T>(qp.zero_point), six, "relu6", path);
}

/// torch.nn.quantized.functional.hardtanh(x, min_val, max_val), and torch.clamp(x, min, max), on a
/// quantized tensor: both bounds quantized with the input's parameters, then the codes clamped
/// (max(q, q_min) first, so q_min > q_max gives q_max everywhere, as in PyTorch). Pass -inf / +inf
/// for a missing bound. Raises ctq::error on a NaN bound.
template <QuantizedByte T, class Arch = ctq::arch::best>
void hardtanh(std::span<const T> x, const PerTensorQParams& qp, float min_val, float max_val, std::span<T> y,
              Arch path = {}) {
  detail::check_qparams<T>(qp, "hardtanh", "input");
  if (std::isnan(min_val) || std::isnan(max_val)) raise("ctq: hardtanh: a bound is NaN; give numbers (or +-inf)");
  const float inv = detail::inverse_f32(qp.scale);
  const T lo = detail::quantize_with<T>(min_val, inv, qp.zero_point);
  const T hi = detail::quantize_with<T>(max_val, inv, qp.zero_point);
  detail::clamp_codes(x, y, lo, hi, "hardtanh", path);
}

// ---------------------------------------------------------------------------------------------
// Table-driven activations.

/// The output parameters PyTorch fixes for sigmoid: scale 1/256, zero point 0 (quint8) or -128
/// (qint8).
template <QuantizedByte T>
constexpr PerTensorQParams sigmoid_output_qparams() {
  return {1.0f / 256.0f, std::is_signed_v<T> ? -128 : 0};
}

/// The output parameters PyTorch fixes for tanh: scale 2/256, zero point 128 (quint8) or 0 (qint8).
template <QuantizedByte T>
constexpr PerTensorQParams tanh_output_qparams() {
  return {2.0f / 256.0f, std::is_signed_v<T> ? 0 : 128};
}

/// torch.ops.quantized.hardswish(x, scale, zero_point): y = x * min(max(x + 3, 0), 6) / 6.
/// ATen (x86, fbgemm, onednn; qint8 on qnnpack): FMA dequantization, (x * clamp) / 6 in float,
/// quantized with float(1.0 / out_scale). qnnpack with quint8: QNNPACK's table,
/// lrintf(clamp(x * clamp / 6 * (1.0f / out_scale) + zero_point)) with exact dequantization.
template <QuantizedByte T>
CodeTable<T> hardswish_table(const PerTensorQParams& in, const PerTensorQParams& out, TorchConfig torch = {}) {
  detail::check_qparams<T>(in, "hardswish", "input");
  detail::check_qparams<T>(out, "hardswish", "output");
  CodeTable<T> t;
  for (std::size_t i = 0; i < 256; ++i) {
    const std::int32_t q = CodeTable<T>::code(i);
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      if (detail::uses_qnnpack<T>(torch)) {
        const float x = detail::dequantize_exact(in.scale, in.zero_point, q);
        float x2 = x + 3.0f;
        x2 = x2 > 0.0f ? x2 : 0.0f;
        x2 = x2 < 6.0f ? x2 : 6.0f;
        x2 = x * x2 / 6.0f;
        const float scaled =
            ctq::detail::no_contract(detail::inverse_f32(out.scale) * x2) + static_cast<float>(out.zero_point);
        t.out[i] = detail::qnnpack_round(scaled);
        continue;
      }
    }
    const float x = detail::dequantize_fma(in.scale, in.zero_point, q);
    float c = x + 3.0f;
    c = c < 0.0f ? 0.0f : (c > 6.0f ? 6.0f : c);
    t.out[i] = detail::quantize_with<T>(x * c / 6.0f, detail::inverse_f64(out.scale), out.zero_point);
  }
  return t;
}

/// torch.sigmoid on a quantized tensor (output parameters: sigmoid_output_qparams<T>()).
/// ATen (x86, fbgemm, onednn; qint8 on qnnpack): 1 / (1 + exp(-x)) with Sleef's expf (as
/// PyTorch's AVX2 code; bit-exact) after FMA dequantization, quantized with 256. qnnpack with
/// quint8: QNNPACK's table, lrintf(clamp(256 / (1 + expf(-x)))) with the C library's expf (glibc
/// here) and exact dequantization.
template <QuantizedByte T>
CodeTable<T> sigmoid_table(const PerTensorQParams& in, TorchConfig torch = {}) {
  detail::check_qparams<T>(in, "sigmoid", "input");
  constexpr PerTensorQParams out = sigmoid_output_qparams<T>();
  CodeTable<T> t;
  for (std::size_t i = 0; i < 256; ++i) {
    const std::int32_t q = CodeTable<T>::code(i);
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      if (detail::uses_qnnpack<T>(torch)) {
        const float x = detail::dequantize_exact(in.scale, in.zero_point, q);
        t.out[i] = detail::qnnpack_round(256.0f / (1.0f + std::exp(-x)));
        continue;
      }
    }
    const float x = detail::dequantize_fma(in.scale, in.zero_point, q);
    const float y = 1.0f / (1.0f + detail::sleef_expf(-x));
    t.out[i] = detail::quantize_with<T>(y, 256.0f, out.zero_point);
  }
  return t;
}

/// torch.tanh on a quantized tensor (output parameters: tanh_output_qparams<T>()).
/// ATen (x86, fbgemm, onednn; qint8 on qnnpack): tanh after FMA dequantization, quantized with 128.
/// PyTorch's AVX2 code takes tanh from Sleef (tanhf_u10), ctq from the C library: they can differ
/// in the last bit, which moves an output code only when tanh(x) * 128 falls within that bit of a
/// rounding boundary (tests/data/qops_reference.json: no code differed in any table tested).
/// qnnpack with quint8: QNNPACK's table, lrintf(clamp(float(128 * tanh(double(x)) + 128))).
template <QuantizedByte T>
CodeTable<T> tanh_table(const PerTensorQParams& in, TorchConfig torch = {}) {
  detail::check_qparams<T>(in, "tanh", "input");
  constexpr PerTensorQParams out = tanh_output_qparams<T>();
  CodeTable<T> t;
  for (std::size_t i = 0; i < 256; ++i) {
    const std::int32_t q = CodeTable<T>::code(i);
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      if (detail::uses_qnnpack<T>(torch)) {
        const float x = detail::dequantize_exact(in.scale, in.zero_point, q);
        const double scaled = ctq::detail::no_contract(128.0 * std::tanh(static_cast<double>(x))) + 128.0;
        t.out[i] = detail::qnnpack_round(static_cast<float>(scaled));
        continue;
      }
    }
    const float x = detail::dequantize_fma(in.scale, in.zero_point, q);
    t.out[i] = detail::quantize_with<T>(std::tanh(x), 128.0f, out.zero_point);
  }
  return t;
}

/// torch.ops.quantized.elu(x, scale, zero_point, alpha, scale_coef, input_scale_coef), every engine:
///   x > 0: y = x * scale_coef;  otherwise y = ((exp(x * input_scale_coef) - 1) * alpha) * scale_coef
/// with FMA dequantization, Sleef's expf and float(1.0 / out_scale). Raises on non-finite
/// coefficients.
template <QuantizedByte T>
CodeTable<T> elu_table(const PerTensorQParams& in, const PerTensorQParams& out, float alpha = 1.0f,
                       float scale_coef = 1.0f, float input_scale_coef = 1.0f) {
  detail::check_qparams<T>(in, "elu", "input");
  detail::check_qparams<T>(out, "elu", "output");
  if (!std::isfinite(alpha) || !std::isfinite(scale_coef) || !std::isfinite(input_scale_coef)) {
    raise(ctq::detail::message() << "ctq: elu: alpha " << alpha << ", scale " << scale_coef << " and input_scale "
                                 << input_scale_coef << " must be finite");
  }
  CodeTable<T> t;
  for (std::size_t i = 0; i < 256; ++i) {
    const float x = detail::dequantize_fma(in.scale, in.zero_point, CodeTable<T>::code(i));
    const float y = x > 0.0f ? x : (detail::sleef_expf(x * input_scale_coef) - 1.0f) * alpha;
    t.out[i] = detail::quantize_with<T>(y * scale_coef, detail::inverse_f64(out.scale), out.zero_point);
  }
  return t;
}

/// torch.ops.quantized.leaky_relu(x, negative_slope, inplace, scale, zero_point), and
/// torch.nn.functional.leaky_relu on a quantized tensor (out = in), every engine:
///   y = x > 0 ? x : x * negative_slope, FMA dequantization, quantized with 1.0f / out_scale.
template <QuantizedByte T>
CodeTable<T> leaky_relu_table(const PerTensorQParams& in, const PerTensorQParams& out, float negative_slope) {
  detail::check_qparams<T>(in, "leaky_relu", "input");
  detail::check_qparams<T>(out, "leaky_relu", "output");
  if (!std::isfinite(negative_slope)) {
    raise(ctq::detail::message() << "ctq: leaky_relu: negative_slope " << negative_slope << " must be finite");
  }
  CodeTable<T> t;
  for (std::size_t i = 0; i < 256; ++i) {
    const float x = detail::dequantize_fma(in.scale, in.zero_point, CodeTable<T>::code(i));
    t.out[i] = detail::quantize_with<T>(x * (x > 0.0f ? 1.0f : negative_slope), detail::inverse_f32(out.scale),
                                        out.zero_point);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// One-call forms: build the table, apply it. Modules keep the table instead.

/// hardswish into the given output parameters (see hardswish_table).
template <QuantizedByte T, class Arch = ctq::arch::best>
void hardswish(std::span<const T> x, const PerTensorQParams& in, std::span<T> y, const PerTensorQParams& out,
               TorchConfig torch = {}, Arch path = {}) {
  lookup(hardswish_table<T>(in, out, torch), x, y, path);
}

/// sigmoid; returns the output parameters PyTorch fixes (see sigmoid_table).
template <QuantizedByte T, class Arch = ctq::arch::best>
PerTensorQParams sigmoid(std::span<const T> x, const PerTensorQParams& in, std::span<T> y, TorchConfig torch = {},
                         Arch path = {}) {
  lookup(sigmoid_table<T>(in, torch), x, y, path);
  return sigmoid_output_qparams<T>();
}

/// tanh; returns the output parameters PyTorch fixes (see tanh_table).
template <QuantizedByte T, class Arch = ctq::arch::best>
PerTensorQParams tanh(std::span<const T> x, const PerTensorQParams& in, std::span<T> y, TorchConfig torch = {},
                      Arch path = {}) {
  lookup(tanh_table<T>(in, torch), x, y, path);
  return tanh_output_qparams<T>();
}

/// elu into the given output parameters (see elu_table).
template <QuantizedByte T, class Arch = ctq::arch::best>
void elu(std::span<const T> x, const PerTensorQParams& in, std::span<T> y, const PerTensorQParams& out,
         float alpha = 1.0f, float scale_coef = 1.0f, float input_scale_coef = 1.0f, Arch path = {}) {
  lookup(elu_table<T>(in, out, alpha, scale_coef, input_scale_coef), x, y, path);
}

/// leaky_relu into the given output parameters (see leaky_relu_table).
template <QuantizedByte T, class Arch = ctq::arch::best>
void leaky_relu(std::span<const T> x, const PerTensorQParams& in, std::span<T> y, const PerTensorQParams& out,
                float negative_slope, Arch path = {}) {
  lookup(leaky_relu_table<T>(in, out, negative_slope), x, y, path);
}

}  // namespace ctq::kernels
