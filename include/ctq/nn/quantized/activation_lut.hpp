// Quantized activations that are 8-bit functions of the code (a 256-entry table per input
// parameter set, kernels/activation.hpp): ELU and LeakyReLU with the output parameters their
// observer chose (PyTorch's nnq.ELU, nnq.LeakyReLU), and Sigmoid, Tanh, Hardsigmoid with the fixed
// output parameters of PyTorch's quantized kernels. PyTorch's eager prepare gives these three no
// observer (their FixedQParamsFakeQuantize is attached only in training mode, and convert removes
// it) and convert leaves them as they are, to run on quantized tensors; so they take float
// tensors too, computed as the float module does.
#pragma once

#include <cstdint>
#include <string_view>

#include "../../kernels/activation.hpp"
#include "../../kernels/torch_numerics.hpp"
#include "../activation.hpp"
#include "../module.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

namespace detail {

using LutTable = kernels::CodeTable<std::uint8_t>;

/// The output parameters PyTorch fixes for hardsigmoid on quint8: 1/256, zero point 0.
inline constexpr PerTensorQParams hardsigmoid_output_qparams{1.0f / 256.0f, 0};

/// torch.nn.functional.hardsigmoid on a quint8 tensor: y = min(max(x + 3, 0), 6) / 6 with output
/// parameters 1/256, 0. ATen (x86, fbgemm, onednn): FMA dequantization (its vector body),
/// quantized with 256. qnnpack: QNNPACK's table, lrintf(clamp(256 * y)) with exact
/// dequantization. (Belongs beside sigmoid_table in kernels/activation.hpp.)
inline LutTable hardsigmoid_table(const PerTensorQParams& in, kernels::TorchConfig torch) {
  kernels::detail::check_qparams<std::uint8_t>(in, "hardsigmoid", "input");
  const bool qnnpack = kernels::detail::uses_qnnpack<std::uint8_t>(torch);
  LutTable t;
  for (std::size_t i = 0; i < 256; ++i) {
    const std::int32_t q = LutTable::code(i);
    const float x = qnnpack ? kernels::detail::dequantize_exact(in.scale, in.zero_point, q)
                            : kernels::detail::dequantize_fma(in.scale, in.zero_point, q);
    float c = x + 3.0f;
    c = c > 0.0f ? c : 0.0f;
    c = c < 6.0f ? c : 6.0f;
    const float y = c / 6.0f;
    // 256 * y is exact (a power of two): the qnnpack table and ATen's quantize round the same value
    t.out[i] = qnnpack ? kernels::detail::qnnpack_round(256.0f * y)
                       : kernels::detail::quantize_with<std::uint8_t>(y, 256.0f, hardsigmoid_output_qparams.zero_point);
  }
  return t;
}

/// The table for the last input parameters seen, rebuilt only when they change (a forward pass
/// over inputs of one scale builds it once and allocates nothing).
class LutCache {
 public:
  template <class Build>
  const LutTable& get(const PerTensorQParams& in, Build&& build) {
    if (!valid_ || in.scale != in_.scale || in.zero_point != in_.zero_point) {
      table_ = build(in);
      in_ = in;
      valid_ = true;
    }
    return table_;
  }

 private:
  LutTable table_;
  PerTensorQParams in_;
  bool valid_ = false;
};

template <int R>
QActivation<R> apply_table(const QActivation<R>& x, const PerTensorQParams& out, const LutTable& t) {
  QActivation<R> y(x.shape(), out);
  kernels::lookup(t, x.int_repr(), y.int_repr());
  return y;
}

template <int R>
PerTensorQParams qparams_of(const QActivation<R>& x) {
  return {x.scale(), x.zero_point()};
}

}  // namespace detail

/// ELU with the output parameters its observer chose (nnq.ELU): x > 0 ? x : alpha (exp(x) - 1).
template <float Alpha = 1.0f>
class ELU : public ctq::detail::rejects_float {
 public:
  static constexpr std::string_view name = "ELU (quantized)";
  static constexpr float alpha = Alpha;
  ELU() = default;
  ELU(PerTensorQParams out, EngineConfig engine) : out_(out), engine_(engine) {}

  using ctq::detail::rejects_float::operator();
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) {
    const auto& t = cache_.get(detail::qparams_of(x), [&](const PerTensorQParams& in) {
      return kernels::elu_table<std::uint8_t>(in, out_, Alpha);
    });
    return detail::apply_table(x, out_, t);
  }

  PerTensorQParams output_qparams() const { return out_; }
  float scale() const { return out_.scale; }
  std::int32_t zero_point() const { return out_.zero_point; }

 private:
  PerTensorQParams out_;
  EngineConfig engine_;
  detail::LutCache cache_;
};

/// LeakyReLU with the output parameters its observer chose (nnq.LeakyReLU): x > 0 ? x :
/// negative_slope x.
template <float NegativeSlope = 0.01f>
class LeakyReLU : public ctq::detail::rejects_float {
 public:
  static constexpr std::string_view name = "LeakyReLU (quantized)";
  static constexpr float negative_slope = NegativeSlope;
  LeakyReLU() = default;
  LeakyReLU(PerTensorQParams out, EngineConfig engine) : out_(out), engine_(engine) {}

  using ctq::detail::rejects_float::operator();
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) {
    const auto& t = cache_.get(detail::qparams_of(x), [&](const PerTensorQParams& in) {
      return kernels::leaky_relu_table<std::uint8_t>(in, out_, NegativeSlope);
    });
    return detail::apply_table(x, out_, t);
  }

  PerTensorQParams output_qparams() const { return out_; }
  float scale() const { return out_.scale; }
  std::int32_t zero_point() const { return out_.zero_point; }

 private:
  PerTensorQParams out_;
  EngineConfig engine_;
  detail::LutCache cache_;
};

/// Sigmoid on quantized tensors: output parameters 1/256, 0 (torch.sigmoid's); float tensors as
/// nn::Sigmoid.
struct Sigmoid {
  static constexpr std::string_view name = "Sigmoid (quantized)";
  EngineConfig engine;

  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    return nn::Sigmoid{}(x);
  }
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) {
    const auto& t = cache_.get(detail::qparams_of(x), [&](const PerTensorQParams& in) {
      return kernels::sigmoid_table<std::uint8_t>(in, engine.torch);
    });
    return detail::apply_table(x, kernels::sigmoid_output_qparams<std::uint8_t>(), t);
  }

 private:
  detail::LutCache cache_;
};

/// Tanh on quantized tensors: output parameters 2/256, 128 (torch.tanh's); float tensors as
/// nn::Tanh.
struct Tanh {
  static constexpr std::string_view name = "Tanh (quantized)";
  EngineConfig engine;

  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    return nn::Tanh{}(x);
  }
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) {
    const auto& t = cache_.get(detail::qparams_of(x), [&](const PerTensorQParams& in) {
      return kernels::tanh_table<std::uint8_t>(in, engine.torch);
    });
    return detail::apply_table(x, kernels::tanh_output_qparams<std::uint8_t>(), t);
  }

 private:
  detail::LutCache cache_;
};

/// Hardsigmoid on quantized tensors: output parameters 1/256, 0 (PyTorch's quantized
/// hardsigmoid); float tensors as nn::Hardsigmoid.
struct Hardsigmoid {
  static constexpr std::string_view name = "Hardsigmoid (quantized)";
  EngineConfig engine;

  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    return nn::Hardsigmoid{}(x);
  }
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) {
    const auto& t = cache_.get(detail::qparams_of(x),
                               [&](const PerTensorQParams& in) { return detail::hardsigmoid_table(in, engine.torch); });
    return detail::apply_table(x, detail::hardsigmoid_output_qparams, t);
  }

 private:
  detail::LutCache cache_;
};

}  // namespace ctq::nn::quantized
