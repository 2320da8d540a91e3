// Quantization-aware training modules: a conv or linear layer whose weight passes through the
// qconfig's weight fake-quantizer on every forward, optionally followed by a BatchNorm whose
// folding is simulated, and by a ReLU. One class template serves PyTorch's
//   nn::qat::Conv / Linear                    (torch.ao.nn.qat.Conv1d/2d/3d, Linear)
//   nn::intrinsic::qat::ConvReLU / LinearReLU (ConvReLU1d/2d/3d, LinearReLU)
//   nn::intrinsic::qat::ConvBn / ConvBnReLU   (ConvBn1d/2d/3d, ConvBnReLU1d/2d/3d)
// prepare_qat makes them from the float (fused) modules; convert turns them into the int8 ones.
//
// With a BatchNorm, the forward is PyTorch's _ConvBnNd (the approximate folding):
//   running_std = sqrt(running_var + eps),  sf = bn.weight / running_std        (per channel)
//   conv  = conv(x, weight_fake_quant(weight * sf))                            (no bias)
//   y     = bn(conv / sf [+ bias])
// The BatchNorm normalizes with the batch's statistics (and updates the running ones) while
// training, unless freeze_bn_stats() froze it; then it uses the running statistics. The backward
// pass differentiates all of it, bn.weight through sf as well, and the fake-quantizer by the
// straight-through estimator (its mask).
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../core/detail/fp.hpp"
#include "../../core/error.hpp"
#include "../../core/tensor.hpp"
#include "../../core/visit.hpp"
#include "../../fake_quantize/fake_quantize.hpp"
#include "../../qconfig/qconfig.hpp"
#include "../batchnorm.hpp"
#include "../conv.hpp"
#include "../grad.hpp"
#include "../linear.hpp"
#include "../module.hpp"

namespace ctq::nn::qat {

namespace detail {

/// The float operation of a weighted layer with an explicit weight (the fake-quantized one).
template <class L>
struct layer_ops;

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B>
struct layer_ops<nn::ConvNd<R, In, Out, K, S, P, D, G, B>> {
  using layer = nn::ConvNd<R, In, Out, K, S, P, D, G, B>;
  static constexpr bool is_conv = true;
  static constexpr index_t out_features = Out;
  static constexpr std::string_view name = R == 1 ? "Conv1d" : R == 2 ? "Conv2d" : "Conv3d";

  template <int XR>
  static Tensor<float, XR> forward(const Tensor<float, XR>& x, const float* w, const float* b) {
    static_assert(XR == R + 2, "ctq: nn::qat::Conv: the input must have rank spatial dims + 2 ([N, spatial..., C])");
    if (x.dim(R + 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::qat::" << name << ": the input has " << x.dim(R + 1)
                                   << " channels (last dimension), the layer has in_channels " << In);
    }
    Tensor<float, XR> y(layer::output_shape(x.shape()));
    nn::detail::conv_forward(x.data(), x.dim(0), nn::detail::conv_shape<R>(x.shape(), K, S, P, D, name), In, Out, G, w,
                             b, y.data());
    return y;
  }
  /// gx written, gw and gb (nullptr: none) accumulated.
  static void backward(const DynTensor& x, const float* w, const float* gy, float* gx, float* gw, float* gb) {
    const auto xs = x.shape_as<R + 2>(name);
    nn::detail::conv_backward(x.data(), xs[0], nn::detail::conv_shape<R>(xs, K, S, P, D, name), In, Out, G, w, gy, gx,
                              gw, gb);
  }
};

template <index_t In, index_t Out, bool B>
struct layer_ops<nn::Linear<In, Out, B>> {
  static constexpr bool is_conv = false;
  static constexpr index_t out_features = Out;
  static constexpr std::string_view name = "Linear";

  template <int XR>
  static Tensor<float, XR> forward(const Tensor<float, XR>& x, const float* w, const float* b) {
    if (x.dim(XR - 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::qat::Linear: the input's last dimension is " << x.dim(XR - 1)
                                   << ", the layer has in_features " << In);
    }
    auto shape = x.shape();
    shape[XR - 1] = Out;
    Tensor<float, XR> y(shape);
    nn::detail::linear_forward(x.data(), x.size() / In, In, Out, w, b, y.data());
    return y;
  }
  static void backward(const DynTensor& x, const float* w, const float* gy, float* gx, float* gw, float* gb) {
    nn::detail::linear_backward(x.data(), gy, x.size() / In, In, Out, w, gw, gb, gx);
  }
};

struct no_bn {};

template <class L, class BN, bool Relu>
constexpr std::string_view layer_name() {
  constexpr bool conv = layer_ops<L>::is_conv;
  if constexpr (!std::is_void_v<BN>) return Relu ? "ConvBnReLU" : "ConvBn";
  if constexpr (Relu) return conv ? "ConvReLU" : "LinearReLU";
  return layer_ops<L>::name;
}

}  // namespace detail

/// Layer L (nn::ConvNd or nn::Linear) with a fake-quantized weight, BatchNorm BN folded in
/// simulation (void: none) and a ReLU when Relu; QC the qconfig it was prepared with. State and
/// parameter names are PyTorch's: "weight", "bias", "bn.weight", "bn.running_mean", ...
template <class L, class BN, bool Relu, class QC>
class WeightedLayer : public ctq::detail::rejects_quantized {
  static_assert(is_qconfig<QC>, "ctq: nn::qat: the last template argument must be a QConfig");
  static_assert(
      requires(const typename QC::weight& fq, std::span<float> g) { fq.backward_in_place(g); },
      "ctq: nn::qat: quantization-aware training needs a qconfig whose weight is a fake-quantizer (FakeQuantize or "
      "FusedMovingAvgObsFakeQuantize; use get_default_qat_qconfig<Backend>)");
  using ops = detail::layer_ops<L>;
  static constexpr index_t Out = ops::out_features;

 public:
  static constexpr bool has_bn = !std::is_void_v<BN>;
  static constexpr bool relu = Relu;
  static constexpr std::string_view name = detail::layer_name<L, BN, Relu>();
  using float_type = L;
  using bn_type = std::conditional_t<has_bn, BN, detail::no_bn>;
  using qconfig = QC;
  using weight_fake_quant_type = typename QC::weight;

  WeightedLayer() = default;
  explicit WeightedLayer(L l) : layer(std::move(l)) {}
  WeightedLayer(L l, bn_type b) : layer(std::move(l)), bn(std::move(b)) {}

  using ctq::detail::rejects_quantized::operator();
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) {
    const auto& w = layer.weight;
    const index_t per = w.size() / Out;
    Tensor<float, XR> y;
    if constexpr (has_bn) {
      running_std_.resize(static_cast<std::size_t>(Out));
      factor_.resize(static_cast<std::size_t>(Out));
      for (index_t c = 0; c < Out; ++c) {
        const auto i = static_cast<std::size_t>(c);
        running_std_[i] = std::sqrt(ctq::detail::no_contract(bn.running_var[c] + BN::eps));
        factor_[i] = bn.weight[c] / running_std_[i];
      }
      auto scaled = w;
      for (index_t c = 0; c < Out; ++c)
        for (index_t k = 0; k < per; ++k) scaled[c * per + k] = w[c * per + k] * factor_[static_cast<std::size_t>(c)];
      weight_fq_ = weight_fake_quant(scaled);
      y = ops::forward(x, weight_fq_.data(), nullptr);
      if (training) conv_.assign(y);
      for (index_t i = 0; i < y.size(); ++i) {
        const index_t c = i % Out;
        y[i] = y[i] / factor_[static_cast<std::size_t>(c)];
        if constexpr (L::has_bias) y[i] = y[i] + layer.bias[c];
      }
      bn_trained_ = bn.training = training && !freeze_bn;
      if (training && !bn_trained_) bn_input_.assign(y);
      y = bn(y);
    } else {
      weight_fq_ = weight_fake_quant(w);
      y = ops::forward(x, weight_fq_.data(), L::has_bias ? layer.bias.data() : nullptr);
    }
    if constexpr (Relu) {
      y.array() = y.array().max(0.0f);
      if (training) out_.assign(y);
    }
    if (training) input_.assign(x);
    return y;
  }

  /// d loss / d x from g = d loss / d y of the last training-mode forward; adds to weight_grad,
  /// bias_grad and the BatchNorm's gradients.
  DynTensor backward(const DynTensor& g_out) {
    ctq::nn::detail::check_saved(input_, name);
    DynTensor g = g_out;
    if constexpr (Relu) {
      ctq::nn::detail::check_grad_shape(g, out_.shape(), name);
      ctq::nn::detail::mask_by_relu_output(g, out_);
    }
    ctq::nn::detail::ensure_grad(layer.weight_grad, layer.weight);
    if constexpr (L::has_bias) ctq::nn::detail::ensure_grad(layer.bias_grad, layer.bias);
    auto gw = layer.weight;  // d loss / d (fake-quantized weight), accumulated from zero
    gw.array().setZero();
    DynTensor gx(input_.shape());
    const index_t per = gw.size() / Out;
    if constexpr (has_bn) {
      DynTensor g_orig = bn_trained_ ? bn.backward(g) : frozen_bn_backward(g);
      // conv_orig = conv / sf + bias: d/d conv = g_orig / sf; d/d sf = -g_orig conv / sf^2
      std::vector<double> g_factor(static_cast<std::size_t>(Out), 0.0);
      for (index_t i = 0; i < g_orig.size(); ++i) {
        const auto c = static_cast<std::size_t>(i % Out);
        if constexpr (L::has_bias) layer.bias_grad[static_cast<index_t>(c)] += g_orig.data()[i];
        const float gc = g_orig.data()[i] / factor_[c];
        g_factor[c] -= static_cast<double>(gc) * conv_.data()[i] / factor_[c];
        g_orig.data()[i] = gc;
      }
      ops::backward(input_, weight_fq_.data(), g_orig.data(), gx.data(), gw.data(), nullptr);
      weight_fake_quant.backward_in_place(gw.values());
      // scaled weight = weight * sf: d/d weight = g sf; d/d sf = sum g weight; sf = bn.weight / running_std
      for (index_t c = 0; c < Out; ++c) {
        const auto ci = static_cast<std::size_t>(c);
        double s = g_factor[ci];
        for (index_t k = 0; k < per; ++k) {
          s += static_cast<double>(gw[c * per + k]) * layer.weight[c * per + k];
          layer.weight_grad[c * per + k] += gw[c * per + k] * factor_[ci];
        }
        bn.weight_grad[c] += static_cast<float>(s / running_std_[ci]);
      }
    } else {
      ops::backward(input_, weight_fq_.data(), g.data(), gx.data(), gw.data(),
                    L::has_bias ? layer.bias_grad.data() : nullptr);
      weight_fake_quant.backward_in_place(gw.values());
      layer.weight_grad.array() += gw.array();
    }
    return gx;
  }

  /// Freeze the BatchNorm: it normalizes with (and keeps) its running statistics from now on
  /// (PyTorch's freeze_bn_stats). update_bn_stats undoes it.
  void freeze_bn_stats() { freeze_bn = true; }
  void update_bn_stats() { freeze_bn = false; }

  template <class F>
  void visit_parameters(F&& f) {
    layer.visit_parameters(f);
    if constexpr (has_bn) {
      bn.visit_parameters(
          [&](std::string_view leaf, auto& v, auto& g) { f(std::string_view{"bn." + std::string(leaf)}, v, g); });
    }
  }
  template <class F>
  void visit_state(F&& f) {
    layer.visit_state(f);
    if constexpr (has_bn) {
      bn.visit_state([&](std::string_view leaf, auto& t) { f(std::string_view{"bn." + std::string(leaf)}, t); });
    }
  }
  /// The weight's fake-quantizer is a child ("weight_fake_quant"), so enable_fake_quant /
  /// disable_observer / get_observer_dict reach it.
  template <class F>
  void for_each_child(F&& f) {
    f(std::string_view("weight_fake_quant"), weight_fake_quant);
  }
  template <class F>
  void for_each_child(F&& f) const {
    f(std::string_view("weight_fake_quant"), weight_fake_quant);
  }

  /// The fake-quantized (and, with a BatchNorm, scaled) weight of the last forward.
  const auto& fake_quantized_weight() const { return weight_fq_; }

  L layer;     ///< the float layer: weight, bias and their gradients ("weight", "bias")
  bn_type bn;  ///< the BatchNorm ("bn."), when BN is not void
  weight_fake_quant_type weight_fake_quant;
  bool training = false;  ///< nn::train sets it
  bool freeze_bn = false;

 private:
  // eval-mode BatchNorm: y = (x - mean) / running_std * w + b per channel
  DynTensor frozen_bn_backward(const DynTensor& g) {
    if constexpr (has_bn) {
      ctq::nn::detail::ensure_grad(bn.weight_grad, bn.weight);
      ctq::nn::detail::ensure_grad(bn.bias_grad, bn.bias);
      std::vector<float> inv(static_cast<std::size_t>(Out));
      for (index_t c = 0; c < Out; ++c)
        inv[static_cast<std::size_t>(c)] = 1.0f / std::sqrt(ctq::detail::no_contract(bn.running_var[c] + BN::eps));
      DynTensor gx(g.shape());
      for (index_t i = 0; i < g.size(); ++i) {
        const index_t c = i % Out;
        const float r = inv[static_cast<std::size_t>(c)];
        gx.data()[i] = g.data()[i] * bn.weight[c] * r;
        bn.weight_grad[c] += g.data()[i] * (bn_input_.data()[i] - bn.running_mean[c]) * r;
        bn.bias_grad[c] += g.data()[i];
      }
      return gx;
    } else {
      return g;
    }
  }

  decltype(std::declval<L&>().weight) weight_fq_;
  std::vector<float> running_std_, factor_;  // per channel, of the last forward (with a BatchNorm)
  DynTensor input_, conv_, bn_input_, out_;
  bool bn_trained_ = false;
};

/// A conv layer with a fake-quantized weight (PyTorch's torch.ao.nn.qat.Conv1d/2d/3d).
template <class C, class QC>
using Conv = WeightedLayer<C, void, false, QC>;
/// A linear layer with a fake-quantized weight (PyTorch's torch.ao.nn.qat.Linear).
template <class L, class QC>
using Linear = WeightedLayer<L, void, false, QC>;

template <class T>
inline constexpr bool is_weighted_layer = false;
template <class L, class BN, bool R, class QC>
inline constexpr bool is_weighted_layer<WeightedLayer<L, BN, R, QC>> = true;

}  // namespace ctq::nn::qat

namespace ctq::nn::intrinsic::qat {

/// Conv + ReLU with a fake-quantized weight (PyTorch's nniqat.ConvReLU1d/2d/3d).
template <class Conv, class QC>
using ConvReLU = nn::qat::WeightedLayer<Conv, void, true, QC>;
/// Linear + ReLU with a fake-quantized weight (PyTorch's nniqat.LinearReLU).
template <class Lin, class QC>
using LinearReLU = nn::qat::WeightedLayer<Lin, void, true, QC>;
/// Conv + BatchNorm with the folding simulated (PyTorch's nniqat.ConvBn1d/2d/3d).
template <class Conv, class BN, class QC>
using ConvBn = nn::qat::WeightedLayer<Conv, BN, false, QC>;
/// Conv + BatchNorm + ReLU with the folding simulated (PyTorch's nniqat.ConvBnReLU1d/2d/3d).
template <class Conv, class BN, class QC>
using ConvBnReLU = nn::qat::WeightedLayer<Conv, BN, true, QC>;

/// Freezes every simulated BatchNorm in model (PyTorch's model.apply(freeze_bn_stats)).
template <class M>
void freeze_bn_stats(M& model) {
  visit_modules(model, [](std::string_view, auto& m) {
    if constexpr (requires { m.freeze_bn_stats(); }) m.freeze_bn_stats();
  });
}
/// Lets every simulated BatchNorm in model update its statistics again (update_bn_stats).
template <class M>
void update_bn_stats(M& model) {
  visit_modules(model, [](std::string_view, auto& m) {
    if constexpr (requires { m.update_bn_stats(); }) m.update_bn_stats();
  });
}

}  // namespace ctq::nn::intrinsic::qat
