// quantize / dequantize / fake_quantize / quantize_per_tensor_dynamic / requantize over Tensor and
// QTensor, per tensor and per channel, with PyTorch 1.13's numerics (docs/numerics.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "arch.hpp"
#include "detail/affine_kernels.hpp"
#include "dtype.hpp"
#include "error.hpp"
#include "qparams.hpp"
#include "qscheme.hpp"
#include "qtensor.hpp"
#include "tensor.hpp"

namespace ctq {

namespace detail {

inline constexpr auto deduce_qscheme = static_cast<qscheme>(0xff);

inline void raise_nan(std::string_view op) {
  raise(message() << "ctq: " << op
                  << ": the input contains NaN; quantization parameters and values would be "
                     "meaningless (check the data or the layer that produced it)");
}

// Calls f(outer_index, channel, offset, length) for each contiguous run of one channel: with the
// tensor viewed as [outer, channels, inner], a run is `inner` elements long.
template <std::size_t R, class F>
void for_each_channel_run(const std::array<index_t, R>& shape, int axis, F&& f) {
  const index_t channels = shape[static_cast<std::size_t>(axis)];
  const index_t inner = inner_size(shape, axis);
  const index_t outer = outer_size(shape, axis);
  for (index_t o = 0; o < outer; ++o) {
    for (index_t c = 0; c < channels; ++c) f(c, (o * channels + c) * inner, inner);
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// quantize

/// Quantizes a float tensor into dtype D with the given parameters; the scheme follows from the
/// parameter type (PerTensorQParams -> per_tensor_affine, PerChannelQParams<int32_t> ->
/// per_channel_affine, PerChannelQParams<float> -> per_channel_affine_float_qparams) unless S names
/// a symmetric one. Raises ctq::error on NaN input or unusable parameters.
///   ctq::quantize<ctq::dtype::quint8>(x, ctq::PerTensorQParams{0.1f, 128});
template <dtype D, qscheme S = detail::deduce_qscheme, class X, class QP, class Arch = arch::best>
auto quantize(const X& x, const QP& qparams, Arch path = {}) {
  static_assert(is_float_tensor<X>,
                "ctq: quantize: the input must be a float Tensor (Tensor<float, R>); a QTensor is already quantized");
  static_assert(is_quantized_dtype<D>,
                "ctq: quantize: the dtype has no integer storage (float16/float32); use to_float16 for float16");
  static_assert(is_per_tensor_qparams<QP> || is_per_channel_qparams<QP>,
                "ctq: quantize: the parameters must be PerTensorQParams or PerChannelQParams");
  constexpr qscheme scheme = S == detail::deduce_qscheme ? default_qscheme_for<QP> : S;
  static_assert(std::is_same_v<qparams_for<scheme>, QP>,
                "ctq: quantize: the parameter type does not fit the named qscheme (per-tensor schemes take "
                "PerTensorQParams, per-channel ones PerChannelQParams, float_qparams PerChannelQParams<float>)");
  constexpr int R = X::rank;
  QTensor<D, scheme, R> q(x.shape(), qparams);
  bool nan = false;
  if constexpr (is_per_tensor(scheme)) {
    nan = detail::quantize_span<D>(path, x.data(), q.data(), 0, x.size(), q.scale(), q.zero_point());
  } else {
    const auto& qp = q.qparams();
    detail::for_each_channel_run(x.shape(), qp.axis, [&](index_t c, index_t off, index_t len) {
      const auto cs = static_cast<std::size_t>(c);
      if constexpr (has_float_zero_point(scheme)) {
        nan |= detail::quantize_span_float_qparams<D>(x.data() + off, q.data(), off, len, qp.scales[cs],
                                                      qp.zero_points[cs]);
      } else {
        nan |= detail::quantize_span<D>(path, x.data() + off, q.data(), off, len, qp.scales[cs], qp.zero_points[cs]);
      }
    });
  }
  if (nan) detail::raise_nan("quantize");
  return q;
}

/// PyTorch's torch.quantize_per_tensor(x, scale, zero_point, dtype).
template <dtype D, class X, class Arch = arch::best>
auto quantize_per_tensor(const X& x, float scale, std::int32_t zero_point, Arch path = {}) {
  return quantize<D>(x, PerTensorQParams{scale, zero_point}, path);
}

/// PyTorch's torch.quantize_per_channel(x, scales, zero_points, axis, dtype). Integer zero points
/// give per_channel_affine, float zero points per_channel_affine_float_qparams.
template <dtype D, class X, class ZP, class Arch = arch::best>
auto quantize_per_channel(const X& x, std::vector<float> scales, std::vector<ZP> zero_points, int axis,
                          Arch path = {}) {
  return quantize<D>(x, PerChannelQParams<ZP>{std::move(scales), std::move(zero_points), axis}, path);
}

// ---------------------------------------------------------------------------------------------
// dequantize

/// Real values of a QTensor: (q - zero_point) * scale, per tensor or per channel.
template <class Q, class Arch = arch::best>
auto dequantize(const Q& q, Arch path = {}) {
  static_assert(is_qtensor<Q>, "ctq: dequantize: the input must be a QTensor; a float Tensor is not quantized");
  constexpr dtype D = Q::dtype_value;
  constexpr qscheme S = Q::qscheme_value;
  Tensor<float, Q::rank> y(q.shape());
  if constexpr (is_per_tensor(S)) {
    detail::dequantize_span<D>(path, q.data(), 0, y.data(), y.size(), q.scale(), q.zero_point());
  } else {
    const auto& qp = q.qparams();
    detail::for_each_channel_run(q.shape(), qp.axis, [&](index_t c, index_t off, index_t len) {
      const auto cs = static_cast<std::size_t>(c);
      if constexpr (has_float_zero_point(S)) {
        detail::dequantize_span_float_qparams<D>(q.data(), off, y.data() + off, len, qp.scales[cs], qp.zero_points[cs]);
      } else {
        detail::dequantize_span<D>(path, q.data(), off, y.data() + off, len, qp.scales[cs], qp.zero_points[cs]);
      }
    });
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// fake_quantize

/// Output and straight-through-estimator mask of a fake-quantize (PyTorch's *_cachemask ops).
template <int R>
struct FakeQuantizeResult {
  Tensor<float, R> output;
  Tensor<std::uint8_t, R> mask;  // 1 where the gradient passes, 0 where the value was clamped
};

namespace detail {

inline void check_fake_quant_args(float scale, std::int64_t zero_point, std::int64_t qmin, std::int64_t qmax,
                                  std::string_view op) {
  check_quant_range(qmin, qmax, op);
  check_scale(scale, op);
  check_zero_point(zero_point, qmin, qmax, op);
}

template <class X, class Arch>
auto fake_quantize_per_tensor_impl(const X& x, float scale, std::int32_t zero_point, std::int64_t qmin,
                                   std::int64_t qmax, bool want_mask, Arch path) {
  static_assert(is_float_tensor<X>,
                "ctq: fake_quantize: the input must be a float Tensor (Tensor<float, R>); fake-quantize simulates "
                "quantization in float");
  check_fake_quant_args(scale, zero_point, qmin, qmax, "fake_quantize_per_tensor_affine");
  FakeQuantizeResult<X::rank> r{Tensor<float, X::rank>(x.shape()), {}};
  if (want_mask) r.mask = Tensor<std::uint8_t, X::rank>(x.shape());
  const bool nan = fake_quantize_span(path, x.data(), r.output.data(), want_mask ? r.mask.data() : nullptr, x.size(),
                                      scale, zero_point, qmin, qmax);
  if (nan) raise_nan("fake_quantize_per_tensor_affine");
  return r;
}

template <class X, class ZP, class Arch>
auto fake_quantize_per_channel_impl(const X& x, std::span<const float> scales, std::span<const ZP> zero_points,
                                    int axis, std::int64_t qmin, std::int64_t qmax, bool want_mask, Arch path) {
  static_assert(is_float_tensor<X>,
                "ctq: fake_quantize: the input must be a float Tensor (Tensor<float, R>); fake-quantize simulates "
                "quantization in float");
  constexpr std::string_view op = "fake_quantize_per_channel_affine";
  constexpr int R = X::rank;
  axis = normalize_axis(axis, R, op);
  const index_t channels = x.shape()[static_cast<std::size_t>(axis)];
  if (static_cast<index_t>(scales.size()) != channels || static_cast<index_t>(zero_points.size()) != channels) {
    raise(message() << "ctq: " << op << ": " << scales.size() << " scales and " << zero_points.size()
                    << " zero points for " << channels << " channels along axis " << axis);
  }
  for (std::size_t c = 0; c < scales.size(); ++c) {
    if constexpr (std::is_same_v<ZP, float>) {
      check_quant_range(qmin, qmax, op);
      check_scale(scales[c], op);
      check_zero_point(zero_points[c], qmin, qmax, op);
    } else {
      check_fake_quant_args(scales[c], zero_points[c], qmin, qmax, op);
    }
  }
  FakeQuantizeResult<R> r{Tensor<float, R>(x.shape()), {}};
  if (want_mask) r.mask = Tensor<std::uint8_t, R>(x.shape());
  bool nan = false;
  for_each_channel_run(x.shape(), axis, [&](index_t c, index_t off, index_t len) {
    const auto cs = static_cast<std::size_t>(c);
    std::uint8_t* m = want_mask ? r.mask.data() + off : nullptr;
    if constexpr (std::is_same_v<ZP, float>) {
      nan |= fake_quantize_span_float_zp(x.data() + off, r.output.data() + off, m, len, scales[cs], zero_points[cs],
                                         qmin, qmax);
    } else {
      nan |= fake_quantize_span(path, x.data() + off, r.output.data() + off, m, len, scales[cs], zero_points[cs], qmin,
                                qmax);
    }
  });
  if (nan) raise_nan(op);
  return r;
}

}  // namespace detail

/// PyTorch's torch.fake_quantize_per_tensor_affine: quantize and dequantize in one step, in float.
template <class X, class Arch = arch::best>
auto fake_quantize_per_tensor_affine(const X& x, float scale, std::int32_t zero_point, std::int64_t quant_min,
                                     std::int64_t quant_max, Arch path = {}) {
  return detail::fake_quantize_per_tensor_impl(x, scale, zero_point, quant_min, quant_max, false, path).output;
}

/// As fake_quantize_per_tensor_affine, also returning the gradient mask for the backward pass.
template <class X, class Arch = arch::best>
auto fake_quantize_per_tensor_affine_cachemask(const X& x, float scale, std::int32_t zero_point, std::int64_t quant_min,
                                               std::int64_t quant_max, Arch path = {}) {
  return detail::fake_quantize_per_tensor_impl(x, scale, zero_point, quant_min, quant_max, true, path);
}

/// PyTorch's torch.fake_quantize_per_channel_affine. Integer zero points follow (4); float zero
/// points (per_channel_affine_float_qparams) follow (4'), without FMA contraction.
template <class X, class Arch = arch::best>
auto fake_quantize_per_channel_affine(const X& x, std::span<const float> scales,
                                      std::span<const std::int32_t> zero_points, int axis, std::int64_t quant_min,
                                      std::int64_t quant_max, Arch path = {}) {
  return detail::fake_quantize_per_channel_impl(x, scales, zero_points, axis, quant_min, quant_max, false, path).output;
}
template <class X, class Arch = arch::best>
auto fake_quantize_per_channel_affine(const X& x, std::span<const float> scales, std::span<const float> zero_points,
                                      int axis, std::int64_t quant_min, std::int64_t quant_max, Arch path = {}) {
  return detail::fake_quantize_per_channel_impl(x, scales, zero_points, axis, quant_min, quant_max, false, path).output;
}

/// As fake_quantize_per_channel_affine, also returning the gradient mask.
template <class X, class Arch = arch::best>
auto fake_quantize_per_channel_affine_cachemask(const X& x, std::span<const float> scales,
                                                std::span<const std::int32_t> zero_points, int axis,
                                                std::int64_t quant_min, std::int64_t quant_max, Arch path = {}) {
  return detail::fake_quantize_per_channel_impl(x, scales, zero_points, axis, quant_min, quant_max, true, path);
}
template <class X, class Arch = arch::best>
auto fake_quantize_per_channel_affine_cachemask(const X& x, std::span<const float> scales,
                                                std::span<const float> zero_points, int axis, std::int64_t quant_min,
                                                std::int64_t quant_max, Arch path = {}) {
  return detail::fake_quantize_per_channel_impl(x, scales, zero_points, axis, quant_min, quant_max, true, path);
}

/// Straight-through estimator: grad_input = grad_output * mask (a product, as in PyTorch, so a
/// negative gradient where the mask is 0 gives -0 and NaN stays NaN).
template <int R>
Tensor<float, R> fake_quantize_backward(const Tensor<float, R>& grad_output, const Tensor<std::uint8_t, R>& mask) {
  if (grad_output.shape() != mask.shape()) {
    raise("ctq: fake_quantize_backward: the gradient and the mask have different shapes");
  }
  Tensor<float, R> g(grad_output.shape());
  for (index_t i = 0; i < g.size(); ++i) g[i] = grad_output[i] * static_cast<float>(mask[i]);
  return g;
}

// ---------------------------------------------------------------------------------------------
// dynamic quantization and requantization

/// PyTorch's torch.quantize_per_tensor_dynamic: parameters from the tensor's own min and max
/// (choose_qparams), then quantize. D is quint8 or qint8. PyTorch's qnnpack engine ignores
/// reduce_range; pass false to reproduce it, true for its onednn/x86 behaviour.
/// Raises ctq::error on an empty tensor or NaN.
template <dtype D, class X, class Arch = arch::best>
auto quantize_per_tensor_dynamic(const X& x, bool reduce_range, Arch path = {}) {
  static_assert(is_float_tensor<X>, "ctq: quantize_per_tensor_dynamic: the input must be a float Tensor");
  static_assert(D != dtype::float16,
                "ctq: quantize_per_tensor_dynamic: float16 has no scale or zero point; use to_float16");
  static_assert(D == dtype::quint8 || D == dtype::qint8,
                "ctq: quantize_per_tensor_dynamic: the dtype must be quint8 or qint8");
  if (x.empty()) raise("ctq: quantize_per_tensor_dynamic: the input is empty; min and max are undefined");
  const auto v = x.array();
  if (v.isNaN().any()) detail::raise_nan("quantize_per_tensor_dynamic");
  const auto chosen = choose_qparams(v.minCoeff(), v.maxCoeff(), static_cast<std::int32_t>(dtype_traits<D>::quant_min),
                                     static_cast<std::int32_t>(dtype_traits<D>::quant_max), false, false, reduce_range);
  return quantize<D>(x, chosen.as_per_tensor(), path);
}

/// Re-expresses a per-tensor QTensor in another dtype and parameters: quantize(dequantize(q)),
/// PyTorch's requantize_val, streamed through a small stack buffer.
template <dtype D, class Q, class Arch = arch::best>
auto requantize(const Q& q, const PerTensorQParams& to, Arch path = {}) {
  static_assert(is_qtensor<Q>, "ctq: requantize: the input must be a QTensor");
  static_assert(is_per_tensor(Q::qscheme_value), "ctq: requantize: the input must be quantized per tensor");
  static_assert(is_quantized_dtype<D>, "ctq: requantize: the target dtype has no integer storage");
  QTensor<D, qscheme::per_tensor_affine, Q::rank> out(q.shape(), to);
  constexpr index_t block = 256;
  float buf[block];
  for (index_t i = 0; i < q.size(); i += block) {
    const index_t n = std::min(block, q.size() - i);
    detail::dequantize_span<Q::dtype_value>(path, q.data(), i, buf, n, q.scale(), q.zero_point());
    detail::quantize_span<D>(path, buf, out.data(), i, n, to.scale, to.zero_point);
  }
  return out;
}

/// x.to(float16): round to nearest even, as PyTorch's float16 dynamic and weight-only paths do.
template <class X>
auto to_float16(const X& x) {
  static_assert(is_float_tensor<X>, "ctq: to_float16: the input must be a float Tensor");
  std::vector<float16_t> h(static_cast<std::size_t>(x.size()));
  for (index_t i = 0; i < x.size(); ++i) h[static_cast<std::size_t>(i)] = float16_t::from_float(x[i]);
  return h;
}

}  // namespace ctq
