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
#include "../grad.hpp"
#include "../linear.hpp"
#include "../module.hpp"

namespace ctq::nn::intrinsic {

namespace detail {
/// visit(m, g) with g calling f(prefix + leaf, tensors...): m's state or parameters under a
/// dotted prefix ("0.", "1.").
template <class M, class F, class Visit>
void visit_prefixed(std::string_view prefix, M& m, F& f, Visit visit) {
  visit(m, [&](std::string_view leaf, auto&... t) {
    std::string key(prefix);
    key += leaf;
    f(std::string_view{key}, t...);
  });
}

/// Module M followed by a ReLU; state and parameters under "0.". Trainable as the two in a row:
/// training mode reaches M, and backward masks the gradient where the output is 0, then runs M's.
template <class M, std::string_view const& Name>
struct WithReLU : ctq::detail::rejects_quantized {
  static constexpr std::string_view name = Name;
  using inner_type = M;
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    return relu_(inner(x));
  }
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {  // M in training mode may update its state
    return relu_(inner(x));
  }
  /// g: the gradient of the last training-mode output; returns the input's gradient.
  DynTensor backward(const DynTensor& g) {
    ctq::nn::detail::check_saved(out_, name);
    ctq::nn::detail::check_grad_shape(g, out_.shape(), name);
    DynTensor masked = g;
    ctq::nn::detail::mask_by_relu_output(masked, out_);
    return inner.backward(masked);
  }
  void set_training(bool mode) {
    training = mode;
    inner.training = mode;
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit_prefixed("0.", inner, f, [](auto& m, auto&& g) { m.visit_parameters(g); });
  }
  template <class F>
  void visit_state(F&& f) {
    visit_prefixed("0.", inner, f, [](auto& m, auto&& g) { m.visit_state(g); });
  }
  M inner;
  bool training = false;

 private:
  template <int R>
  Tensor<float, R> relu_(Tensor<float, R> y) const {
    y.array() = y.array().max(0.0f);
    if (training) out_.assign(y);
    return y;
  }
  mutable DynTensor out_;  // the ReLU's output of the last training-mode forward
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

namespace detail {
/// Conv, then BatchNorm, then (Relu) a ReLU, kept apart: what fuse_modules_qat makes of a group,
/// so that prepare_qat can simulate the folding during training. State under "0." (the conv) and
/// "1." (the BatchNorm), as PyTorch's Sequential-like nni.ConvBn2d. Trainable as the three
/// modules in a row (training mode reaches the conv and the BatchNorm through this module).
template <class Conv, class BN, bool Relu>
struct ConvBnAct : ctq::detail::rejects_quantized {
  static_assert(Conv::spatial_dims == BN::spatial_dims,
                "ctq: nn::intrinsic::ConvBn: a Conv{1,2,3}d goes with the BatchNorm of the same dimension");
  static_assert(Conv::out_channels == BN::num_features,
                "ctq: nn::intrinsic::ConvBn: the BatchNorm's num_features differs from the conv's out_channels");
  static constexpr std::string_view name = Relu ? "ConvBnReLU" : "ConvBn";
  using conv_type = Conv;
  using bn_type = BN;
  static constexpr bool relu = Relu;

  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    conv.training = bn.training = training;
    auto y = bn(conv(x));
    if constexpr (Relu) {
      y.array() = y.array().max(0.0f);
      if (training) out_.assign(y);
    }
    return y;
  }
  DynTensor backward(const DynTensor& g) {
    if constexpr (Relu) {
      ctq::nn::detail::check_saved(out_, name);
      DynTensor gr = g;
      ctq::nn::detail::mask_by_relu_output(gr, out_);
      return conv.backward(bn.backward(gr));
    } else {
      return conv.backward(bn.backward(g));
    }
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit_prefixed("0.", conv, f, [](auto& m, auto&& g) { m.visit_parameters(g); });
    visit_prefixed("1.", bn, f, [](auto& m, auto&& g) { m.visit_parameters(g); });
  }
  template <class F>
  void visit_state(F&& f) {
    visit_prefixed("0.", conv, f, [](auto& m, auto&& g) { m.visit_state(g); });
    visit_prefixed("1.", bn, f, [](auto& m, auto&& g) { m.visit_state(g); });
  }

  Conv conv;
  BN bn;
  bool training = false;

 private:
  DynTensor out_;  // the ReLU's output of the last training-mode forward
};
}  // namespace detail

/// Conv + BatchNorm, unfolded (PyTorch's nni.ConvBn1d/2d/3d), for quantization-aware training.
template <class Conv, class BN>
using ConvBn = detail::ConvBnAct<Conv, BN, false>;
/// Conv + BatchNorm + ReLU, unfolded (PyTorch's nni.ConvBnReLU1d/2d/3d).
template <class Conv, class BN>
using ConvBnReLU = detail::ConvBnAct<Conv, BN, true>;

template <class T>
inline constexpr bool is_conv_bn = false;
template <class C, class B, bool R>
inline constexpr bool is_conv_bn<detail::ConvBnAct<C, B, R>> = true;

template <class T>
inline constexpr bool is_with_relu = false;
template <class M, std::string_view const& N>
inline constexpr bool is_with_relu<detail::WithReLU<M, N>> = true;

}  // namespace ctq::nn::intrinsic
