// Pooling and Flatten on quantized tensors (PyTorch runs nn.MaxPool2d, nn.AvgPool2d,
// nn.AdaptiveAvgPool2d and nn.Flatten on quantized tensors unchanged; convert maps them here).
// Each also takes float tensors, as its float module. Output parameters are the input's.
#pragma once

#include <string_view>

#include "../../kernels/pooling.hpp"
#include "../module.hpp"
#include "../pooling.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

namespace detail {
inline kernels::Nhwc nhwc(const Shape<4>& s) { return {s[0], s[1], s[2], s[3]}; }
template <int R>
QActivation<R> empty_like_params(const Shape<R>& shape, const QActivation<R>& x) {
  return QActivation<R>(shape, PerTensorQParams{x.scale(), x.zero_point()});
}
}  // namespace detail

template <index_t K, index_t S = 0, index_t P = 0, index_t D = 1, bool CeilMode = false>
struct MaxPool2d {
  using float_module = nn::MaxPool2d<K, S, P, D, CeilMode>;
  static constexpr std::string_view name = "MaxPool2d (quantized)";
  EngineConfig engine;

  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const { return float_module{}(x); }
  QActivation<4> operator()(const QActivation<4>& x) const {
    auto y = detail::empty_like_params(float_module::output_shape(x.shape()), x);
    const kernels::MaxPool2dOptions o{{K, K}, {float_module::stride, float_module::stride}, {P, P}, {D, D}, CeilMode};
    kernels::max_pool2d<std::uint8_t>(x.int_repr(), detail::nhwc(x.shape()), y.int_repr(), o, engine.torch);
    return y;
  }
};

template <index_t K, index_t S = 0, index_t P = 0, bool CeilMode = false, bool CountIncludePad = true>
struct AvgPool2d {
  using float_module = nn::AvgPool2d<K, S, P, CeilMode, CountIncludePad>;
  static constexpr std::string_view name = "AvgPool2d (quantized)";
  EngineConfig engine;

  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const { return float_module{}(x); }
  QActivation<4> operator()(const QActivation<4>& x) const {
    auto y = detail::empty_like_params(float_module::output_shape(x.shape()), x);
    kernels::AvgPool2dOptions o;
    o.kernel = {K, K};
    o.stride = {float_module::stride, float_module::stride};
    o.padding = {P, P};
    o.ceil_mode = CeilMode;
    o.count_include_pad = CountIncludePad;
    kernels::avg_pool2d<std::uint8_t>(x.int_repr(), detail::nhwc(x.shape()), {x.scale(), x.zero_point()}, y.int_repr(),
                                      o, engine.torch);
    return y;
  }
};

template <index_t OH, index_t OW = OH>
struct AdaptiveAvgPool2d {
  using float_module = nn::AdaptiveAvgPool2d<OH, OW>;
  static constexpr std::string_view name = "AdaptiveAvgPool2d (quantized)";
  EngineConfig engine;

  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const { return float_module{}(x); }
  QActivation<4> operator()(const QActivation<4>& x) const {
    auto y = detail::empty_like_params(float_module::output_shape(x.shape()), x);
    kernels::adaptive_avg_pool2d<std::uint8_t>(x.int_repr(), detail::nhwc(x.shape()), {x.scale(), x.zero_point()},
                                               y.int_repr(), {OH, OW}, engine.torch);
    return y;
  }
};

template <index_t K, index_t S = 0, index_t P = 0, index_t D = 1, bool CeilMode = false>
struct MaxPool1d {
  using float_module = nn::MaxPool1d<K, S, P, D, CeilMode>;
  static constexpr std::string_view name = "MaxPool1d (quantized)";
  EngineConfig engine;

  Tensor<float, 3> operator()(const Tensor<float, 3>& x) const { return float_module{}(x); }
  QActivation<3> operator()(const QActivation<3>& x) const {
    auto y = detail::empty_like_params(float_module::output_shape(x.shape()), x);
    const kernels::MaxPool1dOptions o{K, float_module::stride, P, D, CeilMode};
    kernels::max_pool1d<std::uint8_t>(x.int_repr(), {x.dim(0), x.dim(1), x.dim(2)}, y.int_repr(), o, engine.torch);
    return y;
  }
};

template <index_t K, index_t S = 0, index_t P = 0, bool CeilMode = false, bool CountIncludePad = true>
struct AvgPool1d {
  using float_module = nn::AvgPool1d<K, S, P, CeilMode, CountIncludePad>;
  static constexpr std::string_view name = "AvgPool1d (quantized)";
  EngineConfig engine;

  Tensor<float, 3> operator()(const Tensor<float, 3>& x) const { return float_module{}(x); }
  QActivation<3> operator()(const QActivation<3>& x) const {
    auto y = detail::empty_like_params(float_module::output_shape(x.shape()), x);
    const kernels::AvgPool1dOptions o{K, float_module::stride, P, CeilMode, CountIncludePad};
    kernels::avg_pool1d<std::uint8_t>(x.int_repr(), {x.dim(0), x.dim(1), x.dim(2)}, {x.scale(), x.zero_point()},
                                      y.int_repr(), o, engine.torch);
    return y;
  }
};

template <index_t O>
struct AdaptiveAvgPool1d {
  using float_module = nn::AdaptiveAvgPool1d<O>;
  static constexpr std::string_view name = "AdaptiveAvgPool1d (quantized)";
  EngineConfig engine;

  Tensor<float, 3> operator()(const Tensor<float, 3>& x) const { return float_module{}(x); }
  QActivation<3> operator()(const QActivation<3>& x) const {
    auto y = detail::empty_like_params(float_module::output_shape(x.shape()), x);
    kernels::adaptive_avg_pool1d<std::uint8_t>(x.int_repr(), {x.dim(0), x.dim(1), x.dim(2)},
                                               {x.scale(), x.zero_point()}, y.int_repr(), O, engine.torch);
    return y;
  }
};

/// Flatten in PyTorch's channel-major order (see nn::Flatten), codes and parameters kept.
struct Flatten {
  static constexpr std::string_view name = "Flatten (quantized)";
  template <int R>
  Tensor<float, 2> operator()(const Tensor<float, R>& x) const {
    return nn::Flatten{}(x);
  }
  template <int R>
  QActivation<2> operator()(const QActivation<R>& x) const {
    static_assert(R >= 2, "ctq: Flatten: the input needs a batch dimension and at least one more");
    const index_t batch = x.dim(0), channels = x.dim(R - 1);
    const index_t features = batch == 0 ? 0 : x.size() / batch;
    QActivation<2> y({batch, features}, PerTensorQParams{x.scale(), x.zero_point()});
    if (channels > 0) nn::detail::flatten_channels_first(x.data(), batch, features / channels, channels, y.data());
    return y;
  }
};

}  // namespace ctq::nn::quantized
