// quantize_dynamic: PyTorch's torch.ao.quantization.quantize_dynamic as one type rewrite. Every
// leaf whose module kind is in the spec (or which a QConfigMapping gives a dynamic qconfig) and
// that has a dynamic mapping becomes its nn::quantized::dynamic module: weights quantized (qint8
// per tensor or per channel, or float16) and packed once; activations stay float between layers
// and are quantized per call inside each layer. No observers, no calibration.
//
//   auto q = quantize_dynamic(model);                                    // Linear, LSTM, GRU, cells; qint8
//   auto h = quantize_dynamic<module_kinds<dynamic_kind::linear>, dtype::float16>(model);
//   auto m = quantize_dynamic<QConfigMapping<no_qconfig, for_name<"fc", per_channel_dynamic_qconfig>>>(model);
#pragma once

#include <type_traits>
#include <utility>

#include "../core/dtype.hpp"
#include "../nn/module.hpp"
#include "../nn/quantized/engine.hpp"
#include "../qconfig/backend.hpp"
#include "../qconfig/default_qconfigs.hpp"
#include "engine_config.hpp"
#include "mapping.hpp"
#include "qconfig_mapping.hpp"
#include "traits.hpp"
#include "transform.hpp"

namespace ctq {

/// A set of module kinds, each quantized with the dtype's default dynamic qconfig.
template <class... Kinds>
struct module_kinds {};

/// PyTorch's default set: Linear, LSTM, GRU, LSTMCell, RNNCell, GRUCell.
using default_dynamic_kinds = module_kinds<dynamic_kind::linear, dynamic_kind::lstm, dynamic_kind::gru,
                                           dynamic_kind::lstm_cell, dynamic_kind::rnn_cell, dynamic_kind::gru_cell>;

namespace detail {

template <dtype D>
struct default_dynamic_qconfig_for {
  static_assert(D == dtype::qint8 || D == dtype::float16,
                "ctq: quantize_dynamic: the dtype is qint8 or float16 (as PyTorch's quantize_dynamic)");
  using type = std::conditional_t<D == dtype::float16, float16_dynamic_qconfig, default_dynamic_qconfig>;
};

// The qconfig of the leaf of type M at Path under the spec (no_qconfig: leave it).
template <class Spec, dtype D, fixed_string Path, class M>
struct dynamic_qconfig_at {
  using type = typename qconfig_at<Spec, Path, M>::type;  // a QConfigMapping or a plain qconfig
};
template <class... Kinds, dtype D, fixed_string Path, class M>
struct dynamic_qconfig_at<module_kinds<Kinds...>, D, Path, M> {
  using kind = typename dynamic_kind_of<M>::type;
  static constexpr bool listed = (std::is_same_v<kind, Kinds> || ...);
  using type = std::conditional_t<listed, typename default_dynamic_qconfig_for<D>::type, no_qconfig>;
};

template <class Spec, dtype D, class B>
struct dynamic_pass {
  template <fixed_string Path, class M>
  auto leaf(M& m) {
    if constexpr (has_dynamic_quantized_module<M>) {
      using QC = typename dynamic_qconfig_at<Spec, D, Path, M>::type;
      if constexpr (std::is_same_v<QC, no_qconfig>) {
        return std::move(m);
      } else {
        static_assert(
            QC::is_dynamic || requires { QC::weight::dtype; },
            "ctq: quantize_dynamic: the qconfig must be a QConfigDynamic (or a QConfig whose weight "
            "observer has a dtype)");
        return dynamic_quantized_module<M>::template convert<QC>(m, DynamicConvertInfo{engine_config<B>(), true});
      }
    } else {
      return std::move(m);
    }
  }
};

}  // namespace detail

/// The dynamically quantized model (PyTorch's quantize_dynamic(model, qconfig_spec, dtype)).
/// Spec: module_kinds<...> (with dtype D: qint8 or float16), or a QConfigMapping / QConfigDynamic
/// (D is then unused). B: the backend whose numerics the layers follow.
template <class Spec = default_dynamic_kinds, dtype D = dtype::qint8, class B = default_backend, class Model>
auto quantize_dynamic(Model model) {
  static_assert(Backend<B>, "ctq: quantize_dynamic: the third template argument must be a backend tag");
  detail::dynamic_pass<Spec, D, B> pass;
  return detail::rewrite(model, pass);
}

}  // namespace ctq
