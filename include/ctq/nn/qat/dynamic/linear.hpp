// nn::qat::dynamic::Linear: a float Linear whose weight passes through the qconfig's weight
// fake-quantizer on every forward, for dynamic quantization-aware training (PyTorch's
// torch.ao.nn.qat.dynamic.Linear). Activations stay float: at inference a dynamic Linear
// quantizes its input per call, so the qconfig's activation must be memoryless (a moving-average
// observer with averaging_constant 1: each batch's own range, as a per-call choice).
//
//   auto qat = prepare_qat_dynamic(model);   // nn::Linear -> nn::qat::dynamic::Linear
//   ... train qat (forward / backward) ...
//   auto q = quantize_dynamic(qat);          // -> nn::quantized::dynamic::Linear
#pragma once

#include <random>
#include <string_view>
#include <type_traits>

#include "../../../core/error.hpp"
#include "../../../core/tensor.hpp"
#include "../../../fake_quantize/fake_quantize.hpp"
#include "../../../observers/moving_average_min_max_observer.hpp"
#include "../../../observers/moving_average_per_channel_min_max_observer.hpp"
#include "../../../qconfig/qconfig.hpp"
#include "../../linear.hpp"

namespace ctq {

namespace detail {
template <class T>
inline constexpr bool is_memoryless_observer = false;
template <MovingAverageMinMaxObserverArgs A>
inline constexpr bool is_memoryless_observer<MovingAverageMinMaxObserver<A>> = A.averaging_constant == 1.0f;
template <MovingAveragePerChannelMinMaxObserverArgs A>
inline constexpr bool is_memoryless_observer<MovingAveragePerChannelMinMaxObserver<A>> = A.averaging_constant == 1.0f;

template <class T>
constexpr bool memoryless() {
  if constexpr (requires { typename std::remove_cvref_t<decltype(std::declval<T&>().activation_post_process)>; }) {
    return is_memoryless_observer<std::remove_cvref_t<decltype(std::declval<T&>().activation_post_process)>>;
  } else {
    return is_memoryless_observer<T>;
  }
}
}  // namespace detail

/// PyTorch's activation_is_memoryless(qconfig): the activation observer (or the fake-quantizer's
/// observer) is a moving-average observer with averaging_constant 1.
template <class QC>
inline constexpr bool activation_is_memoryless = detail::memoryless<typename QC::activation>();

}  // namespace ctq

namespace ctq::nn::qat::dynamic {

/// The gradients of one backward pass.
struct LinearGradients {
  Tensor<float, 2> input;   ///< dL/dx [rows, In]
  Tensor<float, 2> weight;  ///< dL/dW [Out, In], through the fake-quantizer's straight-through mask
  Tensor<float, 1> bias;    ///< dL/db [Out] (empty without bias)
};

/// y = x fq(W)^T + b. QC: the qconfig it was prepared with (default_dynamic_qat_qconfig, or any
/// qconfig whose activation is memoryless and whose weight is a fake-quantizer).
template <index_t In, index_t Out, bool Bias, class QC>
class Linear : public ctq::detail::rejects_quantized {
  static_assert(is_qconfig<QC>, "ctq: nn::qat::dynamic::Linear: the last argument must be a QConfig");
  static_assert(activation_is_memoryless<QC>,
                "ctq: nn::qat::dynamic::Linear: dynamic QAT needs a memoryless activation observer (a moving-average "
                "observer with averaging_constant 1), as PyTorch requires");
  static_assert(FakeQuantizer<typename QC::weight>,
                "ctq: nn::qat::dynamic::Linear: the qconfig's weight must be a fake-quantizer (FakeQuantize, ...)");

 public:
  static constexpr std::string_view name = "Linear";
  static constexpr index_t in_features = In, out_features = Out;
  static constexpr bool has_bias = Bias;
  using qconfig = QC;  ///< quantize_dynamic converts with it (PyTorch: the module's qconfig)
  using weight_fake_quant_type = typename QC::weight;

  Linear() : weight({Out, In}), bias(Bias ? Shape<1>{Out} : Shape<1>{0}) {}
  /// From a float Linear (PyTorch's from_float): the weights are moved over.
  explicit Linear(nn::Linear<In, Out, Bias>&& m) : weight(std::move(m.weight)), bias(std::move(m.bias)) {}

  using ctq::detail::rejects_quantized::operator();
  /// x: [..., In]; the fake-quantizer observes the weight and quantizes it, then y = x W_fq^T + b.
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    static_assert(R >= 1, "ctq: nn::qat::dynamic::Linear: the input needs at least one dimension");
    if (x.dim(R - 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::qat::dynamic::Linear: the input's last dimension is " << x.dim(R - 1)
                                   << ", the layer has in_features " << In);
    }
    weight_fq_ = weight_fake_quant(weight);
    auto shape = x.shape();
    shape[R - 1] = Out;
    Tensor<float, R> y(shape);
    nn::detail::linear_forward(x.data(), x.size() / In, In, Out, weight_fq_.data(), Bias ? bias.data() : nullptr,
                               y.data());
    return y;
  }

  /// The gradients for input x [rows, In] and dL/dy [rows, Out], after a forward: dx = dy W_fq,
  /// dW = mask * (dy^T x) (the straight-through estimator of the weight's fake quantization),
  /// db = column sums of dy.
  LinearGradients backward(const Tensor<float, 2>& x, const Tensor<float, 2>& grad_output) const {
    if (weight_fq_.size() != Out * In) raise("ctq: nn::qat::dynamic::Linear: backward before forward");
    if (x.dim(1) != In || grad_output.dim(1) != Out || x.dim(0) != grad_output.dim(0)) {
      raise(ctq::detail::message() << "ctq: nn::qat::dynamic::Linear: backward takes x [rows, " << In
                                   << "] and the gradient [rows, " << Out << "]; got [" << x.dim(0) << ", " << x.dim(1)
                                   << "] and [" << grad_output.dim(0) << ", " << grad_output.dim(1) << "]");
    }
    const index_t rows = x.dim(0);
    LinearGradients g{Tensor<float, 2>({rows, In}), Tensor<float, 2>({Out, In}),
                      Tensor<float, 1>(Bias ? Shape<1>{Out} : Shape<1>{0})};
    Tensor<float, 2> grad_wq({Out, In});
    nn::detail::linear_backward(x.data(), grad_output.data(), rows, In, Out, weight_fq_.data(), grad_wq.data(),
                                Bias ? g.bias.data() : nullptr, g.input.data());
    g.weight = weight_fake_quant.backward(grad_wq);
    return g;
  }

  /// The fake-quantized weight of the last forward (empty before the first).
  const Tensor<float, 2>& fake_quantized_weight() const { return weight_fq_; }

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight"}, weight);
    if constexpr (Bias) f(std::string_view{"bias"}, bias);
  }
  void reset_parameters(std::mt19937& g) {
    nn::detail::fill_uniform_fan_in(weight, In, g);
    if constexpr (Bias) nn::detail::fill_uniform_fan_in(bias, In, g);
  }

  Tensor<float, 2> weight;
  Tensor<float, 1> bias;  ///< empty when Bias is false
  weight_fake_quant_type weight_fake_quant;

 private:
  Tensor<float, 2> weight_fq_;  // the fake-quantized weight of the last forward (for backward)
};

}  // namespace ctq::nn::qat::dynamic
