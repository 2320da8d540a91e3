// nn::Linear<In, Out, Bias>: y = x W^T + b over the last dimension (PyTorch's torch.nn.Linear),
// weight [Out][In] as PyTorch stores it; float math through Eigen.
#pragma once

#include <random>
#include <string_view>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "grad.hpp"
#include "init.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {
/// y = x W^T + b for `rows` rows (one function for every Linear type).
inline void linear_forward(const float* x, index_t rows, index_t in, index_t out, const float* weight,
                           const float* bias, float* y) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> xm(x, rows, in);
  Eigen::Map<const RowMajor> wm(weight, out, in);
  Eigen::Map<RowMajor> ym(y, rows, out);
  ym.noalias() = xm * wm.transpose();
  if (bias != nullptr) ym.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, out);
}

/// The backward pass of y = x W^T + b for `rows` rows: grad_w += g^T x, grad_b += column sums of
/// g (when grad_b is not null), and writes grad_x = g W.
inline void linear_backward(const float* x, const float* g, index_t rows, index_t in, index_t out, const float* weight,
                            float* grad_w, float* grad_b, float* grad_x) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> xm(x, rows, in), gm(g, rows, out), wm(weight, out, in);
  Eigen::Map<RowMajor>(grad_w, out, in).noalias() += gm.transpose() * xm;
  if (grad_b != nullptr) Eigen::Map<Eigen::RowVectorXf>(grad_b, out) += gm.colwise().sum();
  Eigen::Map<RowMajor>(grad_x, rows, in).noalias() = gm * wm;
}
}  // namespace detail

template <index_t In, index_t Out, bool Bias = true>
class Linear : public ctq::detail::rejects_quantized {
  static_assert(In >= 1 && Out >= 1, "ctq: nn::Linear: in_features and out_features must be positive");

 public:
  static constexpr std::string_view name = "Linear";
  static constexpr index_t in_features = In, out_features = Out;
  static constexpr bool has_bias = Bias;

  Linear() : weight({Out, In}), bias(Bias ? Shape<1>{Out} : Shape<1>{0}) {}

  using ctq::detail::rejects_quantized::operator();
  /// x: [..., In] (rank 2: a batch of rows); y: [..., Out].
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    static_assert(R >= 1, "ctq: nn::Linear: the input needs at least one dimension");
    if (x.dim(R - 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::Linear: the input's last dimension is " << x.dim(R - 1)
                                   << ", the layer has in_features " << In);
    }
    auto shape = x.shape();
    shape[R - 1] = Out;
    Tensor<float, R> y(shape);
    detail::linear_forward(x.data(), x.size() / In, In, Out, weight.data(), Bias ? bias.data() : nullptr, y.data());
    if (training) saved_input_.assign(x);
    return y;
  }

  /// g: the gradient of the last training-mode output; returns the input's gradient.
  DynTensor backward(const DynTensor& g) {
    detail::check_saved(saved_input_, name);
    const index_t rows = saved_input_.size() / In;
    if (g.rank() != saved_input_.rank() || g.dim(-1) != Out || g.size() != rows * Out) {
      raise("ctq: nn::Linear::backward: the gradient's shape differs from the forward output's");
    }
    detail::ensure_grad(weight_grad, weight);
    if constexpr (Bias) detail::ensure_grad(bias_grad, bias);
    DynTensor grad_x(saved_input_.shape());
    detail::linear_backward(saved_input_.data(), g.data(), rows, In, Out, weight.data(), weight_grad.data(),
                            Bias ? bias_grad.data() : nullptr, grad_x.data());
    return grad_x;
  }
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view{"weight"}, weight, weight_grad);
    if constexpr (Bias) f(std::string_view{"bias"}, bias, bias_grad);
  }

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight"}, weight);
    if constexpr (Bias) f(std::string_view{"bias"}, bias);
  }
  void reset_parameters(std::mt19937& g) {
    detail::fill_uniform_fan_in(weight, In, g);
    if constexpr (Bias) detail::fill_uniform_fan_in(bias, In, g);
  }

  Tensor<float, 2> weight;
  Tensor<float, 1> bias;         ///< empty when Bias is false
  Tensor<float, 2> weight_grad;  ///< empty until the first backward pass or nn::zero_grad
  Tensor<float, 1> bias_grad;
  bool training = false;

 private:
  mutable DynTensor saved_input_;
};

}  // namespace ctq::nn
