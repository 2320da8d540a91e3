// The dynamic mapping of Linear and LinearReLU (PyTorch's DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS):
// qint8 weights (per tensor or per channel, by the qconfig's weight observer) or float16 weights.
#pragma once

#include "../../nn/intrinsic/fused.hpp"
#include "../../nn/linear.hpp"
#include "../../nn/quantized/dynamic/linear.hpp"
#include "../traits.hpp"

namespace ctq {

namespace detail {
template <bool Relu, index_t In, index_t Out, bool B, class QC>
auto dynamic_linear(const nn::Linear<In, Out, B>& m, const DynamicConvertInfo& info) {
  if constexpr (QC::weight::dtype == dtype::float16) {
    return nn::quantized::dynamic::LinearFp16T<In, Out, Relu>(m.weight, bias_of(m));
  } else {
    static_assert(QC::weight::dtype == dtype::qint8,
                  "ctq: quantize_dynamic: Linear's weights are qint8 or float16 (the qconfig's weight observer)");
    return nn::quantized::dynamic::LinearT<In, Out, Relu>(quantize_weight<typename QC::weight>(m.weight), bias_of(m),
                                                          info.engine, info.reduce_range);
  }
}
}  // namespace detail

template <index_t In, index_t Out, bool B>
struct dynamic_kind_of<nn::Linear<In, Out, B>> {
  using type = dynamic_kind::linear;
};
template <index_t In, index_t Out, bool B>
struct dynamic_kind_of<nn::intrinsic::LinearReLU<nn::Linear<In, Out, B>>> {
  using type = dynamic_kind::linear;
};

template <index_t In, index_t Out, bool B>
struct dynamic_quantized_module<nn::Linear<In, Out, B>> {
  template <class QC>
  static auto convert(const nn::Linear<In, Out, B>& m, const DynamicConvertInfo& info) {
    return detail::dynamic_linear<false, In, Out, B, QC>(m, info);
  }
};

template <index_t In, index_t Out, bool B>
struct dynamic_quantized_module<nn::intrinsic::LinearReLU<nn::Linear<In, Out, B>>> {
  template <class QC>
  static auto convert(const nn::intrinsic::LinearReLU<nn::Linear<In, Out, B>>& m, const DynamicConvertInfo& info) {
    return detail::dynamic_linear<true, In, Out, B, QC>(m.inner, info);
  }
};

}  // namespace ctq
