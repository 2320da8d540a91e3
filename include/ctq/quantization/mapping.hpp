// The default static-quantization module mapping (PyTorch's DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)
// as trait specialisations: quantized_module<Float>::type is the module convert puts in its
// place, and quantized_module<Float>::convert<QC>(float_module, info) builds it. Specialise
// quantized_module for a custom module (PyTorch's custom module API: float -> observed ->
// quantized; specialise observes_output too if prepare should observe its output).
#pragma once

#include <type_traits>
#include <vector>

#include "../core/quantize.hpp"
#include "../nn/activation.hpp"
#include "../nn/conv.hpp"
#include "../nn/functional.hpp"
#include "../nn/intrinsic/fused.hpp"
#include "../nn/linear.hpp"
#include "../nn/pooling.hpp"
#include "../nn/quantized/activation.hpp"
#include "../nn/quantized/conv.hpp"
#include "../nn/quantized/engine.hpp"
#include "../nn/quantized/functional.hpp"
#include "../nn/quantized/linear.hpp"
#include "../nn/quantized/pooling.hpp"
#include "../nn/quantized/quantize.hpp"
#include "stubs.hpp"

namespace ctq {

/// What convert knows when it builds a quantized module: the output parameters its observer
/// chose (observed modules only) and the engine.
struct ConvertInfo {
  PerTensorQParams output;
  nn::quantized::EngineConfig engine;
};

/// No mapping: convert leaves the module as it is.
template <class F>
struct quantized_module {};

template <class F>
inline constexpr bool has_quantized_module = requires {
  typename quantized_module<F>::type;
};

namespace detail {

/// The weight quantized as PyTorch's convert does it: the qconfig's weight observer run on the
/// float weight, then quantize_per_tensor / quantize_per_channel to qint8.
template <class WeightObserver, int R>
nn::quantized::QuantizedWeight quantize_weight(const Tensor<float, R>& w) {
  static_assert(WeightObserver::dtype == dtype::qint8, "ctq: convert: ctq's int8 kernels take qint8 weights");
  WeightObserver obs;
  obs(w);
  const auto qp = obs.calculate_qparams();
  const auto q = ctq::quantize<dtype::qint8, WeightObserver::qscheme>(w, qp);
  nn::quantized::QuantizedWeight r;
  r.values.assign(q.int_repr().begin(), q.int_repr().end());
  if constexpr (is_per_tensor(WeightObserver::qscheme)) {
    r.scales = {qp.scale};
    r.zero_points = {qp.zero_point};
  } else {
    static_assert(WeightObserver::ch_axis == 0, "ctq: convert: per-channel weights must be observed along axis 0");
    r.scales = qp.scales;
    r.zero_points.assign(qp.zero_points.begin(), qp.zero_points.end());
    r.per_channel = true;
  }
  return r;
}

template <class Lin>
std::vector<float> bias_of(const Lin& m) {
  return {m.bias.values().begin(), m.bias.values().end()};
}

/// A stateless mapping: the same module with or without a qconfig.
template <class Q>
struct stateless_mapping {
  using type = Q;
  static constexpr bool needs_qconfig = false;
  template <class QC, class F>
  static type convert(const F&, const ConvertInfo& info) {
    if constexpr (requires(Q q) { q.engine = info.engine; }) {
      Q q;
      q.engine = info.engine;
      return q;
    } else {
      return Q{};
    }
  }
};

}  // namespace detail

template <>
struct quantized_module<QuantStub> {
  using type = nn::quantized::Quantize;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const QuantStub&, const ConvertInfo& info) {
    type q;
    q.qparams = info.output;
    return q;
  }
};

template <>
struct quantized_module<DeQuantStub> : detail::stateless_mapping<nn::quantized::DeQuantize> {
  static constexpr bool needs_qconfig = true;
};

template <index_t In, index_t Out, bool B>
struct quantized_module<nn::Linear<In, Out, B>> {
  using type = nn::quantized::LinearT<In, Out, false>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::Linear<In, Out, B>& m, const ConvertInfo& info) {
    return type(detail::quantize_weight<typename QC::weight>(m.weight), detail::bias_of(m), info.output, info.engine);
  }
};

template <index_t In, index_t Out, bool B>
struct quantized_module<nn::intrinsic::LinearReLU<nn::Linear<In, Out, B>>> {
  using type = nn::quantized::LinearT<In, Out, true>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::intrinsic::LinearReLU<nn::Linear<In, Out, B>>& m, const ConvertInfo& info) {
    return type(detail::quantize_weight<typename QC::weight>(m.inner.weight), detail::bias_of(m.inner), info.output,
                info.engine);
  }
};

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B>
struct quantized_module<nn::ConvNd<R, In, Out, K, S, P, D, G, B>> {
  using type = nn::quantized::ConvT<R, In, Out, K, S, P, D, G, false>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::ConvNd<R, In, Out, K, S, P, D, G, B>& m, const ConvertInfo& info) {
    return type(detail::quantize_weight<typename QC::weight>(m.weight), detail::bias_of(m), info.output, info.engine);
  }
};

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B>
struct quantized_module<nn::intrinsic::ConvReLU<nn::ConvNd<R, In, Out, K, S, P, D, G, B>>> {
  using type = nn::quantized::ConvT<R, In, Out, K, S, P, D, G, true>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::intrinsic::ConvReLU<nn::ConvNd<R, In, Out, K, S, P, D, G, B>>& m,
                      const ConvertInfo& info) {
    return type(detail::quantize_weight<typename QC::weight>(m.inner.weight), detail::bias_of(m.inner), info.output,
                info.engine);
  }
};

template <>
struct quantized_module<nn::FloatFunctional> {
  using type = nn::quantized::QFunctional;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::FloatFunctional&, const ConvertInfo& info) {
    return type(info.output, info.engine);
  }
};

template <>
struct quantized_module<nn::Hardswish> {
  using type = nn::quantized::Hardswish;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::Hardswish&, const ConvertInfo& info) {
    return type(info.output, info.engine);
  }
};

// Modules PyTorch runs on quantized tensors as they are: mapped whatever the qconfig.
template <>
struct quantized_module<nn::ReLU> : detail::stateless_mapping<nn::quantized::ReLU> {};
template <>
struct quantized_module<nn::ReLU6> : detail::stateless_mapping<nn::quantized::ReLU6> {};
template <float P>
struct quantized_module<nn::Dropout<P>> : detail::stateless_mapping<nn::quantized::Dropout> {};
template <>
struct quantized_module<nn::Flatten> : detail::stateless_mapping<nn::quantized::Flatten> {};
template <index_t K, index_t S, index_t P, index_t D, bool C>
struct quantized_module<nn::MaxPool2d<K, S, P, D, C>>
    : detail::stateless_mapping<nn::quantized::MaxPool2d<K, S, P, D, C>> {};
template <index_t K, index_t S, index_t P, bool C, bool I>
struct quantized_module<nn::AvgPool2d<K, S, P, C, I>>
    : detail::stateless_mapping<nn::quantized::AvgPool2d<K, S, P, C, I>> {};
template <index_t OH, index_t OW>
struct quantized_module<nn::AdaptiveAvgPool2d<OH, OW>>
    : detail::stateless_mapping<nn::quantized::AdaptiveAvgPool2d<OH, OW>> {};

}  // namespace ctq
