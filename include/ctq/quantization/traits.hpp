// The traits prepare and convert read (PyTorch's module mappings as trait specialisations):
//   observes_output<Float>: prepare attaches the qconfig's activation observer to its output;
//   quantized_module<Float>: ::type is the module convert puts in its place, ::convert<QC>(float,
//     info) builds it, ::needs_qconfig says whether it is swapped only where a qconfig applies
//     (prepare then records the qconfig even if nothing is observed, e.g. DeQuantStub or a
//     weight-only module).
// The default mapping is in quantization/mappings/; specialise both traits for a custom module
// (PyTorch's custom module API: float -> observed -> quantized).
#pragma once

#include <type_traits>
#include <vector>

#include "../core/quantize.hpp"
#include "../nn/quantized/engine.hpp"

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

/// Modules whose output prepare observes (where a qconfig applies).
template <class M>
struct observes_output : std::false_type {};

/// Modules prepare wraps where a qconfig applies: observed ones, and those convert swaps only
/// under a qconfig.
template <class M>
inline constexpr bool needs_qconfig = observes_output<M>::value || [] {
  if constexpr (has_quantized_module<M>)
    return quantized_module<M>::needs_qconfig;
  else
    return false;
}();

namespace detail {

template <class O>
struct observer_of {
  using type = O;
};
template <class O>
requires requires { typename O::observer_type; }
struct observer_of<O> {
  using type = typename O::observer_type;
};

/// The weight quantized with observer (or fake-quantizer) obs, which sees w first, then
/// quantize_per_tensor / quantize_per_channel to qint8 with its parameters. A QAT layer's trained
/// weight fake-quantizer goes on averaging here unless its observer was disabled (PyTorch's
/// from_float runs weight_fake_quant on the weight).
template <class WeightObserver, int R>
nn::quantized::QuantizedWeight quantize_weight_with(WeightObserver& obs, const Tensor<float, R>& w) {
  static_assert(WeightObserver::dtype == dtype::qint8, "ctq: convert: ctq's int8 kernels take qint8 weights");
  (void)obs(w);
  const auto qp = obs.calculate_qparams();
  const auto q = ctq::quantize<dtype::qint8, WeightObserver::qscheme>(w, qp);
  nn::quantized::QuantizedWeight r;
  r.values.assign(q.int_repr().begin(), q.int_repr().end());
  if constexpr (is_per_tensor(WeightObserver::qscheme)) {
    r.scales = {qp.scale};
    r.zero_points = {qp.zero_point};
  } else {
    static_assert(observer_of<WeightObserver>::type::ch_axis == 0,
                  "ctq: convert: per-channel weights must be observed along axis 0");
    r.scales = qp.scales;
    r.zero_points.assign(qp.zero_points.begin(), qp.zero_points.end());
    r.per_channel = true;
  }
  return r;
}

/// The weight quantized as PyTorch's convert does it: a fresh instance of the qconfig's weight
/// observer sees the float weight, then quantize_weight_with.
template <class WeightObserver, int R>
nn::quantized::QuantizedWeight quantize_weight(const Tensor<float, R>& w) {
  WeightObserver obs;
  return quantize_weight_with(obs, w);
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

// --- dynamic quantization ----------------------------------------------------------------------

/// What a dynamic mapping knows when it builds a module: the engine whose numerics to follow and
/// whether the input's range is reduced to 7 bits (PyTorch's dynamic modules pass
/// reduce_range=True; engines without it ignore it).
struct DynamicConvertInfo {
  nn::quantized::EngineConfig engine;
  bool reduce_range = true;
};

/// The dynamic mapping of a float module: `template <class QC> static auto convert(const F&,
/// const DynamicConvertInfo&)` returning the dynamic module for QConfigDynamic QC (its weight
/// observer decides qint8 per tensor / per channel, or float16). Specialise for a custom module.
template <class F>
struct dynamic_quantized_module {
  static constexpr bool unmapped = true;
};

template <class F>
inline constexpr bool has_dynamic_quantized_module = !requires {
  dynamic_quantized_module<F>::unmapped;
};

/// The module kinds of quantize_dynamic's spec (PyTorch's set of module types).
namespace dynamic_kind {
struct linear {};
struct lstm {};
struct gru {};
struct rnn_cell {};
struct lstm_cell {};
struct gru_cell {};
}  // namespace dynamic_kind

/// The kind of a float module (void: none). Specialised next to each dynamic mapping.
template <class F>
struct dynamic_kind_of {
  using type = void;
};

}  // namespace ctq
