// Backends as tags, and QConfigFor<Backend, QConfig>: what each backend's int8 kernels can run,
// checked at compile time with a one-line message per rule.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../core/qscheme.hpp"
#include "qconfig.hpp"

namespace ctq::backend {
/// FBGEMM (x86 servers): quint8 activations within 7 bits (vpmaddubsw saturates int16 sums of
/// two uint8 x int8 products on CPUs without VNNI: PyTorch's reduce_range exists because of it).
struct fbgemm {
  static constexpr std::string_view name = "fbgemm";
  static constexpr bool needs_reduced_activation_range = true;
  static constexpr bool allows_qint8_activations = false;
};
/// PyTorch's x86 backend (FBGEMM or oneDNN by CPU): the same requirements as fbgemm.
struct x86 {
  static constexpr std::string_view name = "x86";
  static constexpr bool needs_reduced_activation_range = true;
  static constexpr bool allows_qint8_activations = false;
};
/// QNNPACK (ARM, mobile): full 8-bit activations; qint8 activations with symmetric qconfigs.
struct qnnpack {
  static constexpr std::string_view name = "qnnpack";
  static constexpr bool needs_reduced_activation_range = false;
  static constexpr bool allows_qint8_activations = true;
};
/// oneDNN (x86 with VNNI): full 8-bit quint8 activations.
struct onednn {
  static constexpr std::string_view name = "onednn";
  static constexpr bool needs_reduced_activation_range = false;
  static constexpr bool allows_qint8_activations = false;
};
}  // namespace ctq::backend

namespace ctq {

template <class B>
concept Backend = requires {
  { B::name } -> std::convertible_to<std::string_view>;
  { B::needs_reduced_activation_range } -> std::convertible_to<bool>;
};

namespace detail {

// What the rules need of an observer or fake-quantizer type: dtype, qscheme, quant range, and
// whether it computes parameters at all (Placeholder/Noop/Recording/Identity do not).
template <class T>
struct quant_info {
  static constexpr bool computes_qparams = requires { typename T::qparams_type; };
  static constexpr bool has_dtype = requires { T::dtype; };
  static constexpr dtype dtype_value = [] {
    if constexpr (requires { T::dtype; })
      return T::dtype;
    else
      return dtype::float32;
  }();
  static constexpr qscheme qscheme_value = [] {
    if constexpr (requires { T::qscheme; })
      return T::qscheme;
    else
      return qscheme::per_tensor_affine;
  }();
  static constexpr std::int64_t range = [] {
    if constexpr (requires { T::quant_max; })
      return T::quant_max - T::quant_min + 1;
    else
      return std::int64_t{0};
  }();
  static constexpr bool dynamic_marker = [] {
    if constexpr (requires { T::compute_dtype; })
      return T::compute_dtype == dtype::quint8 || T::compute_dtype == dtype::qint8;
    else
      return false;
  }();
};

template <class B, class QC>
struct qconfig_rules {
  using A = quant_info<typename QC::activation>;
  using W = quant_info<typename QC::weight>;
  static constexpr bool static_qconfig = !QC::is_dynamic && !A::dynamic_marker;
  static constexpr bool activation_quantized = A::computes_qparams;
  static constexpr bool activation_dtype_ok =
      A::dtype_value == dtype::quint8 || (B::allows_qint8_activations && A::dtype_value == dtype::qint8);
  static constexpr bool activation_range_ok = !B::needs_reduced_activation_range || A::range <= 128;
  static constexpr bool weight_quantized = W::computes_qparams;
  static constexpr bool weight_dtype_ok = W::dtype_value == dtype::qint8;
  static constexpr bool weight_scheme_ok = W::qscheme_value != qscheme::per_channel_affine_float_qparams;
  static constexpr bool ok = static_qconfig && activation_quantized && activation_dtype_ok && activation_range_ok &&
                             weight_quantized && weight_dtype_ok && weight_scheme_ok;
};

}  // namespace detail

/// QC can run as static int8 quantization (conv, linear) on backend B:
///   - a QConfig, not a QConfigDynamic (nor a QConfig with a dynamic activation placeholder)
///   - the activation observer computes parameters, with dtype quint8 (qint8 too on qnnpack)
///   - on fbgemm and x86 the activation range has at most 128 levels (reduce_range or [0, 127])
///   - the weight observer computes parameters, with dtype qint8 and not float_qparams
template <class B, class QC>
concept QConfigFor = Backend<B> && is_qconfig<QC> && detail::qconfig_rules<B, QC>::ok;

/// Checks QConfigFor rule by rule, failing with the message of the first rule broken.
template <class B, class QC>
constexpr bool validate_qconfig() {
  static_assert(Backend<B>, "ctq: qconfig: the first argument must be a backend tag (ctq::backend::x86, ...)");
  static_assert(is_qconfig<QC>, "ctq: qconfig: the second argument must be a QConfig or QConfigDynamic");
  using R = detail::qconfig_rules<B, QC>;
  static_assert(R::static_qconfig,
                "ctq: qconfig: a dynamic qconfig cannot be used for static quantization (use quantize_dynamic)");
  static_assert(R::activation_quantized,
                "ctq: qconfig: the activation observer computes no quantization parameters (static quantization "
                "needs MinMaxObserver, HistogramObserver, ...)");
  static_assert(R::activation_dtype_ok,
                "ctq: qconfig: the backend's int8 kernels take quint8 activations (qint8 only on qnnpack)");
  static_assert(R::activation_range_ok,
                "ctq: qconfig: fbgemm and x86 need activations within 7 bits (reduce_range=true or quant range "
                "[0, 127]): vpmaddubsw saturates on CPUs without VNNI");
  static_assert(R::weight_quantized, "ctq: qconfig: the weight observer computes no quantization parameters");
  static_assert(R::weight_scheme_ok,
                "ctq: qconfig: per_channel_affine_float_qparams weights are for embeddings only, not conv/linear");
  static_assert(R::weight_dtype_ok, "ctq: qconfig: conv and linear weights must be qint8");
  return true;
}

}  // namespace ctq
