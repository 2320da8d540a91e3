// tensor_quant / fake_tensor_quant: amax-based symmetric quantization (NVIDIA pytorch_quantization's
// tensor_quant.py), per tensor or with one amax per kept axis, and its straight-through gradient.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "quant_descriptor.hpp"

namespace ctq {

/// amax values broadcast against a tensor of rank R: `shape` is 1 on the reduced axes and the
/// tensor's size on the kept ones; `values` is row-major over `shape`.
template <int R>
struct Amax {
  Shape<R> shape{};
  std::vector<float> values;

  static Amax per_tensor(float amax) {
    Amax a;
    a.shape.fill(1);
    a.values = {amax};
    return a;
  }
  index_t size() const { return static_cast<index_t>(values.size()); }
};

namespace detail {

// Calls f(flat_index, amax_index) for every element of a tensor of `shape`, where amax_index is
// the element's position in an Amax broadcast over it.
template <int R, class F>
void for_each_broadcast(const Shape<R>& shape, const Shape<R>& amax_shape, F&& f) {
  index_t stride[R > 0 ? R : 1] = {};
  index_t s = 1;
  for (int d = R - 1; d >= 0; --d) {
    const auto ds = static_cast<std::size_t>(d);
    if (amax_shape[ds] != 1 && amax_shape[ds] != shape[ds]) {
      raise(message() << "ctq: tensor_quant: amax of size " << amax_shape[ds] << " on axis " << d
                      << " does not broadcast against size " << shape[ds]);
    }
    stride[d] = amax_shape[ds] == 1 ? 0 : s;
    s *= amax_shape[ds];
  }
  const index_t n = checked_numel(shape, "tensor_quant");
  if (n == 0) return;
  index_t coord[R > 0 ? R : 1] = {};
  index_t a = 0;
  for (index_t i = 0; i < n; ++i) {
    f(i, a);
    for (int d = R - 1; d >= 0; --d) {  // advance the odometer
      const auto ds = static_cast<std::size_t>(d);
      if (++coord[d] < shape[ds]) {
        a += stride[d];
        break;
      }
      a -= stride[d] * (shape[ds] - 1);
      coord[d] = 0;
    }
  }
}

}  // namespace detail

/// max |x| over every axis not in `keep` (NVIDIA's reduce_amax with keepdims).
template <int R>
Amax<R> reduce_amax(const Tensor<float, R>& x, AxisSet keep = {}) {
  Amax<R> a;
  for (int d = 0; d < R; ++d) {
    a.shape[static_cast<std::size_t>(d)] = keep.contains(d, R) ? x.dim(d) : 1;
  }
  a.values.assign(static_cast<std::size_t>(detail::checked_numel(a.shape, "reduce_amax")), 0.0f);
  detail::for_each_broadcast<R>(x.shape(), a.shape, [&](index_t i, index_t k) {
    const float v = std::fabs(x[i]);
    float& m = a.values[static_cast<std::size_t>(k)];
    m = v > m ? v : m;
  });
  return a;
}

/// Integer values (held in float, as NVIDIA returns them) and the scale per amax entry.
template <int R>
struct TensorQuantResult {
  Tensor<float, R> outputs;
  std::vector<float> scale;
};

namespace detail {

// (13) scale = max_bound / amax in float32, max_bound = 2^(bits - 1 + unsigned) - 1; an amax at
// or below 2^-24 quantizes everything to 0 and reports scale 1. q = clamp(round(x * scale),
// min_bound, max_bound) with min_bound = 0 (unsigned), -max_bound (narrow range) or
// -max_bound - 1; rounding half to even. Shared by tensor_quant and the MSE calibrator.
struct amax_quantizer {
  static constexpr float epsilon = 1.0f / static_cast<float>(1 << 24);
  float max_bound, min_bound;

  amax_quantizer(int num_bits, bool is_unsigned, bool narrow_range)
      : max_bound(static_cast<float>(std::ldexp(1.0, num_bits - 1 + (is_unsigned ? 1 : 0)) - 1.0)),
        min_bound(is_unsigned ? 0.0f : (narrow_range ? -max_bound : -max_bound - 1.0f)) {}

  // The scale used while quantizing, and the one reported (and divided by in fake quantization).
  float quant_scale(float amax) const { return amax <= epsilon ? 0.0f : max_bound / amax; }
  static float reported_scale(float amax, float quant_scale) { return amax <= epsilon ? 1.0f : quant_scale; }

  float quantize(float x, float scale) const {
    const float q = std::nearbyint(x * scale);
    return q < min_bound ? min_bound : (q > max_bound ? max_bound : q);
  }
};

template <int R>
TensorQuantResult<R> tensor_quant_impl(const Tensor<float, R>& x, const Amax<R>& amax, int num_bits, bool is_unsigned,
                                       bool narrow_range) {
  if (num_bits < 2 || num_bits > 16)
    raise(message() << "ctq: tensor_quant: num_bits " << num_bits << " is not in 2..16");
  for (float a : amax.values) {
    if (!(a >= 0.0f) || !std::isfinite(a))
      raise(message() << "ctq: tensor_quant: amax " << a << " must be finite and >= 0");
  }
  for (index_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) raise("ctq: tensor_quant: the input contains NaN");
    if (is_unsigned && x[i] < 0.0f) {
      raise("ctq: tensor_quant: negative values in unsigned quantization (use a signed descriptor)");
    }
  }
  const amax_quantizer quantizer(num_bits, is_unsigned, narrow_range);
  std::vector<float> scale(amax.values.size());
  for (std::size_t k = 0; k < scale.size(); ++k) scale[k] = quantizer.quant_scale(amax.values[k]);
  Tensor<float, R> out(x.shape());
  detail::for_each_broadcast<R>(x.shape(), amax.shape, [&](index_t i, index_t k) {
    out[i] = quantizer.quantize(x[i], scale[static_cast<std::size_t>(k)]);
  });
  for (std::size_t k = 0; k < scale.size(); ++k) scale[k] = amax_quantizer::reported_scale(amax.values[k], scale[k]);
  return {std::move(out), std::move(scale)};
}

}  // namespace detail

/// NVIDIA's tensor_quant(inputs, amax, num_bits, unsigned, narrow_range): integer values (as
/// floats) and the scale. Raises ctq::error on NaN input, a negative or non-finite amax, negative
/// input with is_unsigned, or an amax that does not broadcast.
template <int R>
TensorQuantResult<R> tensor_quant(const Tensor<float, R>& x, const Amax<R>& amax, int num_bits = 8,
                                  bool is_unsigned = false, bool narrow_range = true) {
  return detail::tensor_quant_impl(x, amax, num_bits, is_unsigned, narrow_range);
}
template <int R>
TensorQuantResult<R> tensor_quant(const Tensor<float, R>& x, float amax, int num_bits = 8, bool is_unsigned = false,
                                  bool narrow_range = true) {
  return tensor_quant(x, Amax<R>::per_tensor(amax), num_bits, is_unsigned, narrow_range);
}

/// NVIDIA's fake_tensor_quant: tensor_quant's outputs divided by the scale, in float32.
template <int R>
Tensor<float, R> fake_tensor_quant(const Tensor<float, R>& x, const Amax<R>& amax, int num_bits = 8,
                                   bool is_unsigned = false, bool narrow_range = true) {
  auto r = detail::tensor_quant_impl(x, amax, num_bits, is_unsigned, narrow_range);
  detail::for_each_broadcast<R>(x.shape(), amax.shape, [&](index_t i, index_t k) {
    r.outputs[i] = r.outputs[i] / r.scale[static_cast<std::size_t>(k)];
  });
  return std::move(r.outputs);
}
template <int R>
Tensor<float, R> fake_tensor_quant(const Tensor<float, R>& x, float amax, int num_bits = 8, bool is_unsigned = false,
                                   bool narrow_range = true) {
  return fake_tensor_quant(x, Amax<R>::per_tensor(amax), num_bits, is_unsigned, narrow_range);
}

/// The straight-through estimator of both: grad where |x| <= amax, +0 elsewhere.
template <int R>
Tensor<float, R> tensor_quant_backward(const Tensor<float, R>& grad_output, const Tensor<float, R>& x,
                                       const Amax<R>& amax) {
  if (grad_output.shape() != x.shape()) raise("ctq: tensor_quant_backward: gradient and input shapes differ");
  Tensor<float, R> g(x.shape());
  detail::for_each_broadcast<R>(x.shape(), amax.shape, [&](index_t i, index_t k) {
    g[i] = std::fabs(x[i]) <= amax.values[static_cast<std::size_t>(k)] ? grad_output[i] : 0.0f;
  });
  return g;
}

}  // namespace ctq
