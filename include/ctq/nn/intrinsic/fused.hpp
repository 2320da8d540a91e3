// Fused float modules (PyTorch's torch.nn.intrinsic): what fuse_modules makes of a group in
// evaluation — the BatchNorm folded into the conv or linear weights, a ReLU kept as a flag.
// prepare observes only the fused module's output; convert maps each to one quantized kernel.
// State names follow PyTorch's ("conv1.0.weight": child 0 is the conv or linear).
#pragma once

#include <string>
#include <string_view>

#include "../activation.hpp"
#include "../batchnorm.hpp"
#include "../conv.hpp"
#include "../linear.hpp"
#include "../module.hpp"

namespace ctq::nn::intrinsic {

namespace detail {
/// Module M followed by a ReLU; state under "0.".
template <class M, std::string_view const& Name>
struct WithReLU : ctq::detail::rejects_quantized {
  static constexpr std::string_view name = Name;
  using inner_type = M;
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    auto y = inner(x);
    y.array() = y.array().max(0.0f);
    return y;
  }
  template <class F>
  void visit_state(F&& f) {
    inner.visit_state([&](std::string_view leaf, auto& t) {
      std::string key = "0.";
      key += leaf;
      f(std::string_view{key}, t);
    });
  }
  M inner;
};
inline constexpr std::string_view conv_relu_name = "ConvReLU";
inline constexpr std::string_view linear_relu_name = "LinearReLU";
inline constexpr std::string_view bn_relu_name = "BNReLU";
}  // namespace detail

/// Conv followed by ReLU (PyTorch's ConvReLU1d/2d/3d).
template <class Conv>
using ConvReLU = detail::WithReLU<Conv, detail::conv_relu_name>;
/// Linear followed by ReLU.
template <class Lin>
using LinearReLU = detail::WithReLU<Lin, detail::linear_relu_name>;
/// BatchNorm followed by ReLU (PyTorch's BNReLU2d/3d).
template <class BN>
using BNReLU = detail::WithReLU<BN, detail::bn_relu_name>;

template <class T>
inline constexpr bool is_with_relu = false;
template <class M, std::string_view const& N>
inline constexpr bool is_with_relu<detail::WithReLU<M, N>> = true;

}  // namespace ctq::nn::intrinsic
