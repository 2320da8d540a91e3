// Dynamic quantization-aware training: prepare_qat_dynamic turns Linear leaves into
// nn::qat::dynamic::Linear, and quantize_dynamic turns those into nn::quantized::dynamic::Linear
// with the qconfig they were prepared with (PyTorch: prepare_qat with the mapping
// {nn.Linear: nnqatd.Linear}, then convert with DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS, where
// nnqd.Linear.from_float observes the trained weight with a fresh instance of the module's
// qconfig.weight).
#pragma once

#include <type_traits>
#include <utility>

#include "../../nn/linear.hpp"
#include "../../nn/qat/dynamic/linear.hpp"
#include "../../nn/quantized/dynamic/linear.hpp"
#include "../../qconfig/default_qconfigs.hpp"
#include "../qconfig_mapping.hpp"
#include "../traits.hpp"
#include "../transform.hpp"

namespace ctq {

template <index_t In, index_t Out, bool B, class QC>
struct dynamic_kind_of<nn::qat::dynamic::Linear<In, Out, B, QC>> {
  using type = dynamic_kind::linear;
};

template <index_t In, index_t Out, bool B, class QC>
struct dynamic_quantized_module<nn::qat::dynamic::Linear<In, Out, B, QC>> {
  /// The spec's qconfig only selects the layer; the weight is quantized with the prepared one.
  template <class>
  static auto convert(const nn::qat::dynamic::Linear<In, Out, B, QC>& m, const DynamicConvertInfo& info) {
    // A fresh observer of the fake-quantizer's kind sees the trained weight; the fake-quantizer's
    // own qparams would be its observer's, so this is PyTorch's weight_observer(mod.weight).
    using Observer = typename QC::weight::observer_type;
    static_assert(Observer::dtype == dtype::qint8,
                  "ctq: quantize_dynamic: a dynamic QAT Linear converts to qint8 weights (its weight fake-quantizer's "
                  "dtype)");
    return nn::quantized::dynamic::LinearT<In, Out, false>(detail::quantize_weight<Observer>(m.weight),
                                                           detail::bias_of(m), info.engine, info.reduce_range);
  }
};

namespace detail {
template <class M>
inline constexpr bool is_float_linear = false;
template <index_t In, index_t Out, bool B>
inline constexpr bool is_float_linear<nn::Linear<In, Out, B>> = true;

template <class Spec>
struct qat_dynamic_pass {
  template <fixed_string Path, class M>
  auto leaf(M& m) {
    using QC = typename qconfig_at<Spec, Path, M>::type;
    if constexpr (is_float_linear<M> && !std::is_same_v<QC, no_qconfig>) {
      return nn::qat::dynamic::Linear<M::in_features, M::out_features, M::has_bias, QC>(std::move(m));
    } else {
      return std::move(m);
    }
  }
};
}  // namespace detail

/// Every nn::Linear that Spec gives a qconfig becomes nn::qat::dynamic::Linear with it. Spec: a
/// QConfig (default_dynamic_qat_qconfig) or a QConfigMapping. The qconfig's activation must be
/// memoryless (checked at compile time), its weight a fake-quantizer.
template <class Spec = default_dynamic_qat_qconfig, class Model>
auto prepare_qat_dynamic(Model model) {
  detail::qat_dynamic_pass<Spec> pass;
  return detail::rewrite(model, pass);
}

}  // namespace ctq
