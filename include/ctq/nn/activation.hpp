// Float activations (elementwise, any rank): ReLU, ReLU6, Hardtanh, Hardswish, Hardsigmoid,
// Sigmoid, Tanh, ELU, LeakyReLU. Hyper-parameters are template arguments.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>

#include "../core/tensor.hpp"
#include "grad.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {
/// An elementwise float module: y = F(x) for every element. In training mode the input is kept
/// and backward gives dx = F'(x) dy, with PyTorch's choice of derivative at each kink.
template <class Derived>
struct Elementwise : ctq::detail::rejects_quantized {
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    Tensor<float, R> y(x.shape());
    Derived::apply(x.array(), y.array());
    if (training) saved_input_.assign(x);
    return y;
  }
  DynTensor backward(const DynTensor& g) {
    check_saved(saved_input_, Derived::name);
    check_grad_shape(g, saved_input_.shape(), Derived::name);
    DynTensor dx(saved_input_.shape());
    Derived::derivative(saved_input_.array(), g.array(), dx.array());
    return dx;
  }

  bool training = false;

 private:
  mutable DynTensor saved_input_;
};
}  // namespace detail

struct ReLU : detail::Elementwise<ReLU> {
  static constexpr std::string_view name = "ReLU";
  static void apply(const auto& x, auto&& y) { y = x.max(0.0f); }
  static void derivative(const auto& x, const auto& g, auto&& dx) { dx = (x > 0.0f).select(g, 0.0f); }
};

template <float MinVal = -1.0f, float MaxVal = 1.0f>
struct Hardtanh : detail::Elementwise<Hardtanh<MinVal, MaxVal>> {
  static_assert(MinVal < MaxVal, "ctq: nn::Hardtanh: min_val must be below max_val");
  static constexpr std::string_view name = "Hardtanh";
  static constexpr float min_val = MinVal, max_val = MaxVal;
  static void apply(const auto& x, auto&& y) { y = x.max(MinVal).min(MaxVal); }
  static void derivative(const auto& x, const auto& g, auto&& dx) { dx = (x > MinVal && x < MaxVal).select(g, 0.0f); }
};

struct ReLU6 : detail::Elementwise<ReLU6> {
  static constexpr std::string_view name = "ReLU6";
  static void apply(const auto& x, auto&& y) { y = x.max(0.0f).min(6.0f); }
  static void derivative(const auto& x, const auto& g, auto&& dx) { dx = (x > 0.0f && x < 6.0f).select(g, 0.0f); }
};

struct Hardswish : detail::Elementwise<Hardswish> {
  static constexpr std::string_view name = "Hardswish";
  static void apply(const auto& x, auto&& y) { y = x * (x + 3.0f).max(0.0f).min(6.0f) / 6.0f; }
  static void derivative(const auto& x, const auto& g, auto&& dx) {
    dx = (x < -3.0f).select(0.0f, (x <= 3.0f).select(g * (x / 3.0f + 0.5f), g));
  }
};

struct Hardsigmoid : detail::Elementwise<Hardsigmoid> {
  static constexpr std::string_view name = "Hardsigmoid";
  static void apply(const auto& x, auto&& y) { y = (x + 3.0f).max(0.0f).min(6.0f) / 6.0f; }
  static void derivative(const auto& x, const auto& g, auto&& dx) {
    dx = (x > -3.0f && x < 3.0f).select(g * (1.0f / 6.0f), 0.0f);  // PyTorch multiplies by float(1/6)
  }
};

struct Sigmoid : detail::Elementwise<Sigmoid> {
  static constexpr std::string_view name = "Sigmoid";
  static void apply(const auto& x, auto&& y) { y = 1.0f / (1.0f + (-x).exp()); }
  static void derivative(const auto& x, const auto& g, auto&& dx) {
    const Eigen::ArrayXf y = 1.0f / (1.0f + (-x).exp());
    dx = g * (1.0f - y) * y;
  }
};

struct Tanh : detail::Elementwise<Tanh> {
  static constexpr std::string_view name = "Tanh";
  static void apply(const auto& x, auto&& y) { y = x.tanh(); }
  static void derivative(const auto& x, const auto& g, auto&& dx) {
    const Eigen::ArrayXf y = x.tanh();
    dx = g * (1.0f - y * y);
  }
};

template <float Alpha = 1.0f>
struct ELU : detail::Elementwise<ELU<Alpha>> {
  static constexpr std::string_view name = "ELU";
  static constexpr float alpha = Alpha;
  static void apply(const auto& x, auto&& y) { y = (x > 0.0f).select(x, Alpha * (x.exp() - 1.0f)); }
  static void derivative(const auto& x, const auto& g, auto&& dx) { dx = (x > 0.0f).select(g, g * Alpha * x.exp()); }
};

template <float NegativeSlope = 0.01f>
struct LeakyReLU : detail::Elementwise<LeakyReLU<NegativeSlope>> {
  static constexpr std::string_view name = "LeakyReLU";
  static constexpr float negative_slope = NegativeSlope;
  static void apply(const auto& x, auto&& y) { y = (x > 0.0f).select(x, NegativeSlope * x); }
  static void derivative(const auto& x, const auto& g, auto&& dx) { dx = (x > 0.0f).select(g, NegativeSlope * g); }
};

/// Dropout: the identity in evaluation; in training mode each element is zeroed with probability
/// P and the rest scaled by 1 / (1 - P), as PyTorch (its random numbers differ: ctq draws from
/// the `generator` member, a std::mt19937 with its default seed unless the user reseeds it).
template <float P = 0.5f>
struct Dropout : ctq::detail::rejects_quantized {
  static_assert(P >= 0.0f && P <= 1.0f, "ctq: nn::Dropout: p must be in [0, 1]");
  static constexpr std::string_view name = "Dropout";
  static constexpr float p = P;
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    if (!training || P == 0.0f) {
      if (training) {
        mask_.reset(std::span<const index_t>(x.shape().data(), R));
        mask_.array().setOnes();
      }
      return x;
    }
    mask_.reset(std::span<const index_t>(x.shape().data(), R));
    const float keep_scale = P == 1.0f ? 0.0f : 1.0f / (1.0f - P);
    std::bernoulli_distribution keep(1.0 - static_cast<double>(P));
    for (float& m : mask_.values()) m = keep(generator) ? keep_scale : 0.0f;
    Tensor<float, R> y(x.shape());
    y.array() = x.array() * mask_.array();
    return y;
  }
  DynTensor backward(const DynTensor& g) {
    detail::check_saved(mask_, name);
    detail::check_grad_shape(g, mask_.shape(), name);
    DynTensor dx(g.shape());
    dx.array() = g.array() * mask_.array();
    return dx;
  }

  bool training = false;
  mutable std::mt19937 generator{5489u};

 private:
  mutable DynTensor mask_;
};

}  // namespace ctq::nn
