// The default static-quantization mapping of ctq's core modules (PyTorch's
// DEFAULT_STATIC_QUANT_MODULE_MAPPINGS): stubs, Linear, Conv, the fused modules, FloatFunctional,
// Hardswish, and the modules PyTorch runs on quantized tensors unchanged.
#pragma once

#include <type_traits>

#include "../../nn/activation.hpp"
#include "../../nn/conv.hpp"
#include "../../nn/functional.hpp"
#include "../../nn/intrinsic/fused.hpp"
#include "../../nn/linear.hpp"
#include "../../nn/pooling.hpp"
#include "../../nn/quantized/activation.hpp"
#include "../../nn/quantized/conv.hpp"
#include "../../nn/quantized/functional.hpp"
#include "../../nn/quantized/linear.hpp"
#include "../../nn/quantized/pooling.hpp"
#include "../../nn/quantized/quantize.hpp"
#include "../stubs.hpp"
#include "../traits.hpp"

namespace ctq {

// Outputs prepare observes.
template <>
struct observes_output<QuantStub> : std::true_type {};
template <>
struct observes_output<nn::FloatFunctional> : std::true_type {};
template <>
struct observes_output<nn::Hardswish> : std::true_type {};
template <index_t In, index_t Out, bool B>
struct observes_output<nn::Linear<In, Out, B>> : std::true_type {};
template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B>
struct observes_output<nn::ConvNd<R, In, Out, K, S, P, D, G, B>> : std::true_type {};
template <class M, std::string_view const& N>
struct observes_output<nn::intrinsic::detail::WithReLU<M, N>> : std::true_type {};

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
template <index_t K, index_t S, index_t P, index_t D, bool C>
struct quantized_module<nn::MaxPool1d<K, S, P, D, C>>
    : detail::stateless_mapping<nn::quantized::MaxPool1d<K, S, P, D, C>> {};
template <index_t K, index_t S, index_t P, bool C, bool I>
struct quantized_module<nn::AvgPool1d<K, S, P, C, I>>
    : detail::stateless_mapping<nn::quantized::AvgPool1d<K, S, P, C, I>> {};
template <index_t O>
struct quantized_module<nn::AdaptiveAvgPool1d<O>> : detail::stateless_mapping<nn::quantized::AdaptiveAvgPool1d<O>> {};
template <index_t OH, index_t OW>
struct quantized_module<nn::AdaptiveAvgPool2d<OH, OW>>
    : detail::stateless_mapping<nn::quantized::AdaptiveAvgPool2d<OH, OW>> {};

}  // namespace ctq
