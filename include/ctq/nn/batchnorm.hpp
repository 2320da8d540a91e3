// nn::BatchNorm1d / 2d / 3d over the last (channel) dimension of channels-last tensors. In
// evaluation (the default): y = (x - running_mean) / sqrt(running_var + eps) * weight + bias. In
// training (nn::train): the batch's statistics normalize, the running ones are updated as
// PyTorch does, and backward gives the gradients. PyTorch's state names: weight, bias,
// running_mean, running_var.
#pragma once

#include <cmath>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "grad.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {
/// y = x * alpha + beta per channel, alpha = w / sqrt(var + eps), beta = b - mean * alpha.
inline void batchnorm_forward(const float* x, index_t pixels, index_t c, const float* w, const float* b,
                              const float* mean, const float* var, float eps, float* y) {
  Eigen::ArrayXf alpha(c), beta(c);
  for (index_t i = 0; i < c; ++i) {
    alpha[i] = w[i] / std::sqrt(var[i] + eps);
    beta[i] = b[i] - mean[i] * alpha[i];
  }
  using RowMajor = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> xm(x, pixels, c);
  Eigen::Map<RowMajor> ym(y, pixels, c);
  ym = (xm.rowwise() * alpha.transpose()).rowwise() + beta.transpose();
}

/// Training-mode batch norm of x [pixels, c]: per channel mean and biased variance var (double
/// sums), x_hat = (x - mean) * inv_std with inv_std = 1 / sqrt(var + eps), y = x_hat * w + b.
/// Running statistics as PyTorch: running = (1 - momentum) running + momentum stat, with the
/// unbiased variance var * pixels / (pixels - 1) (pixels >= 2).
inline void batchnorm_train_forward(const float* x, index_t pixels, index_t c, const float* w, const float* b,
                                    float eps, double momentum, float* running_mean, float* running_var, float* x_hat,
                                    float* inv_std, float* y) {
  std::vector<double> mean(static_cast<std::size_t>(c), 0.0), sq(static_cast<std::size_t>(c), 0.0);
  for (index_t p = 0; p < pixels; ++p)
    for (index_t ch = 0; ch < c; ++ch) mean[static_cast<std::size_t>(ch)] += x[p * c + ch];
  for (double& m : mean) m /= static_cast<double>(pixels);
  for (index_t p = 0; p < pixels; ++p)
    for (index_t ch = 0; ch < c; ++ch) {
      const double d = x[p * c + ch] - mean[static_cast<std::size_t>(ch)];
      sq[static_cast<std::size_t>(ch)] += d * d;
    }
  for (index_t ch = 0; ch < c; ++ch) {
    const auto i = static_cast<std::size_t>(ch);
    const double var = sq[i] / static_cast<double>(pixels), unbiased = sq[i] / static_cast<double>(pixels - 1);
    inv_std[ch] = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mean[i]);
    running_var[ch] = static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * unbiased);
  }
  for (index_t p = 0; p < pixels; ++p)
    for (index_t ch = 0; ch < c; ++ch) {
      const index_t i = p * c + ch;
      x_hat[i] = static_cast<float>((x[i] - mean[static_cast<std::size_t>(ch)]) * inv_std[ch]);
      y[i] = x_hat[i] * w[ch] + b[ch];
    }
}

/// The training-mode gradient: with n = pixels, sums over the batch per channel,
/// gb += sum g, gw += sum g x_hat, gx = w inv_std (g - sum g / n - x_hat sum(g x_hat) / n).
inline void batchnorm_backward(const float* g, const float* x_hat, const float* inv_std, const float* w, index_t pixels,
                               index_t c, float* gx, float* gw, float* gb) {
  std::vector<double> sg(static_cast<std::size_t>(c), 0.0), sgx(static_cast<std::size_t>(c), 0.0);
  for (index_t p = 0; p < pixels; ++p)
    for (index_t ch = 0; ch < c; ++ch) {
      sg[static_cast<std::size_t>(ch)] += g[p * c + ch];
      sgx[static_cast<std::size_t>(ch)] += static_cast<double>(g[p * c + ch]) * x_hat[p * c + ch];
    }
  std::vector<float> mean_g(static_cast<std::size_t>(c)), mean_gx(static_cast<std::size_t>(c));
  for (index_t ch = 0; ch < c; ++ch) {
    const auto i = static_cast<std::size_t>(ch);
    gb[ch] += static_cast<float>(sg[i]);
    gw[ch] += static_cast<float>(sgx[i]);
    mean_g[i] = static_cast<float>(sg[i] / static_cast<double>(pixels));
    mean_gx[i] = static_cast<float>(sgx[i] / static_cast<double>(pixels));
  }
  for (index_t p = 0; p < pixels; ++p)
    for (index_t ch = 0; ch < c; ++ch) {
      const index_t i = p * c + ch;
      const auto j = static_cast<std::size_t>(ch);
      gx[i] = w[ch] * inv_std[ch] * (g[i] - mean_g[j] - x_hat[i] * mean_gx[j]);
    }
}
}  // namespace detail

/// R: 1, 2 or 3 (BatchNorm1d takes [N, C] or [N, L, C]); C channels; Eps as in PyTorch.
template <int R, index_t C, float Eps = 1e-5f>
class BatchNormNd : public ctq::detail::rejects_quantized {
  static_assert(R >= 1 && R <= 3, "ctq: nn::BatchNorm: 1d, 2d or 3d");
  static_assert(C >= 1, "ctq: nn::BatchNorm: num_features must be positive");
  static_assert(Eps > 0.0f, "ctq: nn::BatchNorm: eps must be positive");

 public:
  static constexpr std::string_view name = R == 1 ? "BatchNorm1d" : R == 2 ? "BatchNorm2d" : "BatchNorm3d";
  static constexpr int spatial_dims = R;
  static constexpr index_t num_features = C;
  static constexpr float eps = Eps;
  static constexpr double momentum = 0.1;  ///< PyTorch's default: running = 0.9 running + 0.1 batch

  BatchNormNd() : weight({C}), bias({C}), running_mean({C}), running_var({C}) {
    weight.array().setOnes();
    running_var.array().setOnes();
  }

  using ctq::detail::rejects_quantized::operator();
  /// Evaluation: normalizes with the running statistics. A const module cannot train (training
  /// updates running_mean and running_var), so training mode raises here.
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) const {
    check_input(x);
    if (training) {
      raise(ctq::detail::message() << "ctq: nn::" << name
                                   << ": a const module in training mode (training updates the running statistics)");
    }
    Tensor<float, XR> y(x.shape());
    detail::batchnorm_forward(x.data(), x.size() / C, C, weight.data(), bias.data(), running_mean.data(),
                              running_var.data(), Eps, y.data());
    return y;
  }
  /// Training mode: normalizes with the batch's statistics, updates the running ones and keeps
  /// what backward needs; evaluation mode as the const overload.
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) {
    if (!training) return std::as_const(*this)(x);
    check_input(x);
    const index_t pixels = x.size() / C;
    if (pixels < 2) {
      raise(ctq::detail::message() << "ctq: nn::" << name
                                   << ": expected more than 1 value per channel when training (the input has " << pixels
                                   << ")");
    }
    Tensor<float, XR> y(x.shape());
    x_hat_.reset(std::span<const index_t>(x.shape().data(), x.shape().size()));
    const index_t channels[1] = {C};
    inv_std_.reset(channels);
    detail::batchnorm_train_forward(x.data(), pixels, C, weight.data(), bias.data(), Eps, momentum, running_mean.data(),
                                    running_var.data(), x_hat_.data(), inv_std_.data(), y.data());
    return y;
  }

  /// d loss / d x from g = d loss / d y of the last forward pass in training mode (the batch's
  /// statistics depend on x too); adds to weight_grad and bias_grad.
  DynTensor backward(const DynTensor& g) {
    detail::check_saved(x_hat_, name);
    detail::check_grad_shape(g, x_hat_.shape(), name);
    detail::ensure_grad(weight_grad, weight);
    detail::ensure_grad(bias_grad, bias);
    DynTensor gx(x_hat_.shape());
    detail::batchnorm_backward(g.data(), x_hat_.data(), inv_std_.data(), weight.data(), g.size() / C, C, gx.data(),
                               weight_grad.data(), bias_grad.data());
    return gx;
  }

  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view{"weight"}, weight, weight_grad);
    f(std::string_view{"bias"}, bias, bias_grad);
  }

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight"}, weight);
    f(std::string_view{"bias"}, bias);
    f(std::string_view{"running_mean"}, running_mean);
    f(std::string_view{"running_var"}, running_var);
  }
  void reset_parameters(std::mt19937&) {
    weight.array().setOnes();
    bias.array().setZero();
    running_mean.array().setZero();
    running_var.array().setOnes();
  }

  Tensor<float, 1> weight, bias, running_mean, running_var;
  Tensor<float, 1> weight_grad, bias_grad;  ///< accumulated by backward (empty until then)
  bool training = false;                    ///< nn::train sets it

 private:
  template <int XR>
  static void check_input(const Tensor<float, XR>& x) {
    static_assert(XR == R + 2 || (R == 1 && XR == 2),
                  "ctq: nn::BatchNorm: BatchNorm1d takes [N, C] or [N, L, C], 2d [N, H, W, C], 3d [N, D, H, W, C]");
    if (x.dim(XR - 1) != C) {
      raise(ctq::detail::message() << "ctq: nn::" << name << ": the input has " << x.dim(XR - 1)
                                   << " channels (last dimension), the layer has " << C);
    }
  }

  DynTensor x_hat_, inv_std_;  // saved by the last training-mode forward
};

template <index_t C, float Eps = 1e-5f>
using BatchNorm1d = BatchNormNd<1, C, Eps>;
template <index_t C, float Eps = 1e-5f>
using BatchNorm2d = BatchNormNd<2, C, Eps>;
template <index_t C, float Eps = 1e-5f>
using BatchNorm3d = BatchNormNd<3, C, Eps>;

}  // namespace ctq::nn
