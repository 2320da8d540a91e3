// The static-quantization mapping of the normalization modules (PyTorch's
// DEFAULT_STATIC_QUANT_MODULE_MAPPINGS entries): BatchNorm2d / 3d -> nnq.BatchNorm2d / 3d, the
// fused BNReLU2d / 3d -> nniq.BNReLU2d / 3d, LayerNorm, GroupNorm, InstanceNorm1d / 2d / 3d -> nnq.
// prepare observes each one's output; convert keeps the float weight and bias. As in PyTorch,
// BatchNorm1d has no quantized module (it stays float), and a quantized InstanceNorm normalizes
// with each instance's statistics even when the float module tracked running statistics.
#pragma once

#include <type_traits>
#include <vector>

#include "../../nn/batchnorm.hpp"
#include "../../nn/intrinsic/fused.hpp"
#include "../../nn/normalization.hpp"
#include "../../nn/quantized/normalization.hpp"
#include "../traits.hpp"

namespace ctq {

namespace detail {
/// A float parameter's values (row-major); empty for an absent one.
template <int R>
std::vector<float> norm_values(const Tensor<float, R>& t) {
  return {t.values().begin(), t.values().end()};
}

template <int R, index_t C, float Eps, bool Relu>
nn::quantized::BatchNormT<R, C, Relu> convert_batch_norm(const nn::BatchNormNd<R, C, Eps>& m, const ConvertInfo& info) {
  return nn::quantized::BatchNormT<R, C, Relu>(norm_values(m.weight), norm_values(m.bias), norm_values(m.running_mean),
                                               norm_values(m.running_var), Eps, info.output, info.engine);
}
}  // namespace detail

// Outputs prepare observes.
template <int R, index_t C, float Eps>
requires(R == 2 || R == 3) struct observes_output<nn::BatchNormNd<R, C, Eps>> : std::true_type {
};
template <class Dims, float Eps, bool Affine>
struct observes_output<nn::LayerNorm<Dims, Eps, Affine>> : std::true_type {};
template <index_t G, index_t C, float Eps, bool Affine>
struct observes_output<nn::GroupNorm<G, C, Eps, Affine>> : std::true_type {};
template <int R, index_t C, float Eps, bool Affine, bool Track>
struct observes_output<nn::InstanceNormNd<R, C, Eps, Affine, Track>> : std::true_type {};
// (nn::intrinsic::BNReLU is observed as every fused module with a ReLU: mappings/core.hpp.)

template <int R, index_t C, float Eps>
requires(R == 2 || R == 3) struct quantized_module<nn::BatchNormNd<R, C, Eps>> {
  using type = nn::quantized::BatchNormT<R, C, false>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::BatchNormNd<R, C, Eps>& m, const ConvertInfo& info) {
    return detail::convert_batch_norm<R, C, Eps, false>(m, info);
  }
};

template <int R, index_t C, float Eps>
requires(R == 2 || R == 3) struct quantized_module<nn::intrinsic::BNReLU<nn::BatchNormNd<R, C, Eps>>> {
  using type = nn::quantized::BatchNormT<R, C, true>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::intrinsic::BNReLU<nn::BatchNormNd<R, C, Eps>>& m, const ConvertInfo& info) {
    return detail::convert_batch_norm<R, C, Eps, true>(m.inner, info);
  }
};

template <class Dims, float Eps, bool Affine>
struct quantized_module<nn::LayerNorm<Dims, Eps, Affine>> {
  using type = nn::quantized::LayerNorm<Dims>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::LayerNorm<Dims, Eps, Affine>& m, const ConvertInfo& info) {
    return type(detail::norm_values(m.weight), detail::norm_values(m.bias), nn::quantized::detail::eps_as_double(Eps),
                info.output, info.engine);
  }
};

template <index_t G, index_t C, float Eps, bool Affine>
struct quantized_module<nn::GroupNorm<G, C, Eps, Affine>> {
  using type = nn::quantized::GroupNorm<G, C>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::GroupNorm<G, C, Eps, Affine>& m, const ConvertInfo& info) {
    return type(detail::norm_values(m.weight), detail::norm_values(m.bias), nn::quantized::detail::eps_as_double(Eps),
                info.output, info.engine);
  }
};

template <int R, index_t C, float Eps, bool Affine, bool Track>
struct quantized_module<nn::InstanceNormNd<R, C, Eps, Affine, Track>> {
  using type = nn::quantized::InstanceNormNd<R, C>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::InstanceNormNd<R, C, Eps, Affine, Track>& m, const ConvertInfo& info) {
    return type(detail::norm_values(m.weight), detail::norm_values(m.bias), nn::quantized::detail::eps_as_double(Eps),
                info.output, info.engine);
  }
};

}  // namespace ctq
