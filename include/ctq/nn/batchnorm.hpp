// nn::BatchNorm1d / 2d / 3d in evaluation (running statistics), over the last (channel)
// dimension of channels-last tensors: y = (x - running_mean) / sqrt(running_var + eps) * weight
// + bias. PyTorch's state names: weight, bias, running_mean, running_var.
#pragma once

#include <cmath>
#include <random>
#include <string_view>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
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

  BatchNormNd() : weight({C}), bias({C}), running_mean({C}), running_var({C}) {
    weight.array().setOnes();
    running_var.array().setOnes();
  }

  using ctq::detail::rejects_quantized::operator();
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) const {
    static_assert(XR == R + 2 || (R == 1 && XR == 2),
                  "ctq: nn::BatchNorm: BatchNorm1d takes [N, C] or [N, L, C], 2d [N, H, W, C], 3d [N, D, H, W, C]");
    if (x.dim(XR - 1) != C) {
      raise(ctq::detail::message() << "ctq: nn::" << name << ": the input has " << x.dim(XR - 1)
                                   << " channels (last dimension), the layer has " << C);
    }
    Tensor<float, XR> y(x.shape());
    detail::batchnorm_forward(x.data(), x.size() / C, C, weight.data(), bias.data(), running_mean.data(),
                              running_var.data(), Eps, y.data());
    return y;
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
};

template <index_t C, float Eps = 1e-5f>
using BatchNorm1d = BatchNormNd<1, C, Eps>;
template <index_t C, float Eps = 1e-5f>
using BatchNorm2d = BatchNormNd<2, C, Eps>;
template <index_t C, float Eps = 1e-5f>
using BatchNorm3d = BatchNormNd<3, C, Eps>;

}  // namespace ctq::nn
