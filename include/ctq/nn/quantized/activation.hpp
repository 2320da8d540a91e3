// Quantized activations and the modules that pass quantized tensors through: ReLU, ReLU6,
// Hardswish, Dropout (PyTorch's nnq.ReLU6, nnq.Hardswish, nnq.Dropout; torch.relu on quantized
// tensors). ReLU, ReLU6 and Dropout also take float tensors, since convert maps them whether or
// not they sit in a quantized region (their result does not depend on a qconfig).
#pragma once

#include <string_view>
#include <vector>

#include "../../kernels/activation.hpp"
#include "../activation.hpp"
#include "../module.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

namespace detail {
template <int R, class F>
QActivation<R> map_codes(const QActivation<R>& x, PerTensorQParams out, F&& f) {
  QActivation<R> y(x.shape(), out);
  f(x.int_repr(), PerTensorQParams{x.scale(), x.zero_point()}, y.int_repr());
  return y;
}
}  // namespace detail

/// max(q, zero_point), parameters kept; float tensors as nn::ReLU.
struct ReLU {
  static constexpr std::string_view name = "ReLU (quantized)";
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    return nn::ReLU{}(x);
  }
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) const {
    return detail::map_codes(x, {x.scale(), x.zero_point()},
                             [](auto in, auto qp, auto out) { kernels::relu<std::uint8_t>(in, qp, out); });
  }
};

/// min(max(q, zero_point), quantize(6)), parameters kept; float tensors as nn::ReLU6.
struct ReLU6 {
  static constexpr std::string_view name = "ReLU6 (quantized)";
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    return nn::ReLU6{}(x);
  }
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) const {
    return detail::map_codes(x, {x.scale(), x.zero_point()},
                             [](auto in, auto qp, auto out) { kernels::relu6<std::uint8_t>(in, qp, out); });
  }
};

/// Dropout in evaluation: the identity on either kind of tensor.
struct Dropout {
  static constexpr std::string_view name = "Dropout (quantized)";
  template <class X>
  const X& operator()(const X& x) const {
    return x;
  }
};

/// Hardswish with the output parameters its observer chose (nnq.Hardswish).
class Hardswish : public ctq::detail::rejects_float {
 public:
  static constexpr std::string_view name = "Hardswish (quantized)";
  Hardswish() = default;
  Hardswish(PerTensorQParams out, EngineConfig engine) : out_(out), engine_(engine) {}
  using ctq::detail::rejects_float::operator();
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) const {
    return detail::map_codes(x, out_, [&](auto in, auto qp, auto out) {
      kernels::hardswish<std::uint8_t>(in, qp, out, out_, engine_.torch);
    });
  }
  PerTensorQParams output_qparams() const { return out_; }

 private:
  PerTensorQParams out_;
  EngineConfig engine_;
};

}  // namespace ctq::nn::quantized
