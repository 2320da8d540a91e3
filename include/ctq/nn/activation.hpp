// Float activations (elementwise, any rank): ReLU, ReLU6, Hardtanh, Hardswish, Hardsigmoid,
// Sigmoid, Tanh, ELU, LeakyReLU. Hyper-parameters are template arguments.
#pragma once

#include <cmath>
#include <string_view>

#include "../core/tensor.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {
/// An elementwise float module: y = F(x) for every element.
template <class Derived>
struct Elementwise : ctq::detail::rejects_quantized {
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    Tensor<float, R> y(x.shape());
    Derived::apply(x.array(), y.array());
    return y;
  }
};
}  // namespace detail

struct ReLU : detail::Elementwise<ReLU> {
  static constexpr std::string_view name = "ReLU";
  static void apply(const auto& x, auto&& y) { y = x.max(0.0f); }
};

template <float MinVal = -1.0f, float MaxVal = 1.0f>
struct Hardtanh : detail::Elementwise<Hardtanh<MinVal, MaxVal>> {
  static_assert(MinVal < MaxVal, "ctq: nn::Hardtanh: min_val must be below max_val");
  static constexpr std::string_view name = "Hardtanh";
  static constexpr float min_val = MinVal, max_val = MaxVal;
  static void apply(const auto& x, auto&& y) { y = x.max(MinVal).min(MaxVal); }
};

struct ReLU6 : detail::Elementwise<ReLU6> {
  static constexpr std::string_view name = "ReLU6";
  static void apply(const auto& x, auto&& y) { y = x.max(0.0f).min(6.0f); }
};

struct Hardswish : detail::Elementwise<Hardswish> {
  static constexpr std::string_view name = "Hardswish";
  static void apply(const auto& x, auto&& y) { y = x * (x + 3.0f).max(0.0f).min(6.0f) / 6.0f; }
};

struct Hardsigmoid : detail::Elementwise<Hardsigmoid> {
  static constexpr std::string_view name = "Hardsigmoid";
  static void apply(const auto& x, auto&& y) { y = (x + 3.0f).max(0.0f).min(6.0f) / 6.0f; }
};

struct Sigmoid : detail::Elementwise<Sigmoid> {
  static constexpr std::string_view name = "Sigmoid";
  static void apply(const auto& x, auto&& y) { y = 1.0f / (1.0f + (-x).exp()); }
};

struct Tanh : detail::Elementwise<Tanh> {
  static constexpr std::string_view name = "Tanh";
  static void apply(const auto& x, auto&& y) { y = x.tanh(); }
};

template <float Alpha = 1.0f>
struct ELU : detail::Elementwise<ELU<Alpha>> {
  static constexpr std::string_view name = "ELU";
  static constexpr float alpha = Alpha;
  static void apply(const auto& x, auto&& y) { y = (x > 0.0f).select(x, Alpha * (x.exp() - 1.0f)); }
};

template <float NegativeSlope = 0.01f>
struct LeakyReLU : detail::Elementwise<LeakyReLU<NegativeSlope>> {
  static constexpr std::string_view name = "LeakyReLU";
  static constexpr float negative_slope = NegativeSlope;
  static void apply(const auto& x, auto&& y) { y = (x > 0.0f).select(x, NegativeSlope * x); }
};

/// Dropout in evaluation: the identity (ctq's float modules run inference; QAT training is
/// issue-tracked separately).
template <float P = 0.5f>
struct Dropout : ctq::detail::rejects_quantized {
  static_assert(P >= 0.0f && P <= 1.0f, "ctq: nn::Dropout: p must be in [0, 1]");
  static constexpr std::string_view name = "Dropout";
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) const {
    return x;
  }
};

}  // namespace ctq::nn
