// convert<Backend>(prepared): PyTorch's eager convert as a type rewrite. Every Observed module is
// replaced by its quantized_module mapping, built from the observer's output parameters and the
// qconfig's weight observer (weights quantized and packed here, once); modules PyTorch runs on
// quantized tensors unchanged (ReLU, pooling, Flatten, Dropout) get their quantized form. The
// backend picks the numerics the kernels reproduce (PyTorch's quantized engine) and is checked
// against every qconfig at compile time (QConfigFor).
#pragma once

#include <type_traits>
#include <utility>

#include "../kernels/requantize.hpp"
#include "../kernels/torch_numerics.hpp"
#include "../qconfig/backend.hpp"
#include "engine_config.hpp"
#include "mapping.hpp"
#include "prepare.hpp"
#include "transform.hpp"

namespace ctq {

namespace detail {

template <class B>
struct convert_pass {
  template <fixed_string Path, class M>
  auto leaf(M& m) {
    if constexpr (is_observed<M>) {
      using F = typename M::module_type;
      using QC = typename M::qconfig;
      static_assert(has_quantized_module<F>,
                    "ctq: convert: no quantized module for this observed module (specialise ctq::quantized_module)");
      ConvertInfo info{{}, engine_config<B>()};
      if constexpr (M::observing) {
        static_assert(validate_qconfig<B, QC>());
        static_assert(QC::activation::dtype == dtype::quint8,
                      "ctq: convert: ctq's int8 kernels take quint8 activations (qint8 activations are not "
                      "supported yet)");
        if constexpr (requires { m.activation_post_process.state().observed(); }) {
          if (!m.activation_post_process.state().observed()) {
            raise(ctq::detail::message() << "ctq: convert: the observer of '" << Path.view()
                                         << "' saw no data: run the prepared model on calibration batches first");
          }
        }
        info.output = m.activation_post_process.calculate_qparams();
      }
      return quantized_module<F>::template convert<QC>(m.module, info);
    } else if constexpr (has_quantized_module<M>) {
      if constexpr (!quantized_module<M>::needs_qconfig) {
        return quantized_module<M>::template convert<no_qconfig>(m, ConvertInfo{{}, engine_config<B>()});
      } else {
        return std::move(m);
      }
    } else {
      return std::move(m);
    }
  }
};

}  // namespace detail

/// The quantized model (PyTorch's torch.ao.quantization.convert), for backend B.
template <class B = default_backend, class Prepared>
auto convert(Prepared prepared) {
  static_assert(Backend<B>, "ctq: convert: the template argument must be a backend tag (ctq::backend::x86, ...)");
  detail::convert_pass<B> pass;
  return detail::rewrite(prepared, pass);
}

namespace detail {

template <class M>
constexpr bool leaf_runs_in_float() {
  if constexpr (std::is_base_of_v<ctq::detail::rejects_quantized, M>)
    return !std::is_same_v<M, nn::quantized::Quantize>;  // the one float-input int8 module
  else
    return is_observed<M>;  // prepared, never converted
}

template <class M>
constexpr bool all_leaves_quantized() {
  if constexpr (nn::Container<M>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (all_leaves_quantized<nn::child_t<M, I>>() && ...);
    }
    (std::make_index_sequence<nn::child_count<M>>{});
  } else {
    return !leaf_runs_in_float<M>();
  }
}

}  // namespace detail

/// True when no layer of model type M computes in float: every float module was converted (a
/// BatchNorm1d left unfused, a layer under no_qconfig, or an unconverted model is false). Quantize
/// and DeQuantize at the edges are allowed. `static_assert(fully_quantized<decltype(qnet)>)`.
template <class M>
inline constexpr bool fully_quantized = detail::all_leaves_quantized<M>();

/// prepare, calibrate and convert in one call (PyTorch's quantize(model, run_fn, run_args)):
/// run_fn(prepared) feeds the calibration data.
template <class QConfigOrMapping, class B = default_backend, class Model, class RunFn>
auto quantize(Model model, RunFn&& run_fn) {
  auto prepared = prepare<QConfigOrMapping>(std::move(model));
  std::forward<RunFn>(run_fn)(prepared);
  return convert<B>(std::move(prepared));
}

}  // namespace ctq
