// Quant modules of the amax toolkit (NVIDIA pytorch_quantization's nn.QuantLinear, QuantConvNd,
// QuantConvTransposeNd, quant pooling) over TensorQuantizer, the compile-time counterpart of
// quant_modules.initialize() (replace_with_quant_modules, a type rewrite) and the calibration
// helpers NVIDIA's examples loop over a model with.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../nn/conv.hpp"
#include "../nn/conv_transpose.hpp"
#include "../nn/linear.hpp"
#include "../nn/module.hpp"
#include "../nn/pooling.hpp"
#include "../quantization/transform.hpp"
#include "quant_descriptor.hpp"
#include "tensor_quantizer.hpp"

namespace ctq {

namespace quant_nn {

namespace detail {

template <int R>
constexpr QuantDescriptor conv_weight_desc() {
  return R == 1 ? QUANT_DESC_8BIT_CONV1D_WEIGHT_PER_CHANNEL
                : (R == 2 ? QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL : QUANT_DESC_8BIT_CONV3D_WEIGHT_PER_CHANNEL);
}
template <int R>
constexpr QuantDescriptor conv_transpose_weight_desc() {
  return R == 1 ? QUANT_DESC_8BIT_CONVTRANSPOSE1D_WEIGHT_PER_CHANNEL
                : (R == 2 ? QUANT_DESC_8BIT_CONVTRANSPOSE2D_WEIGHT_PER_CHANNEL
                          : QUANT_DESC_8BIT_CONVTRANSPOSE3D_WEIGHT_PER_CHANNEL);
}

constexpr bool axes_within(const AxisSet& s, int rank) {
  for (int i = 0; i < s.count; ++i) {
    if (s.values[i] < -rank || s.values[i] >= rank) return false;
  }
  return true;
}

template <QuantDescriptor InputDesc>
constexpr bool check_input_desc() {
  static_assert(InputDesc.fake_quant,
                "ctq: quant_nn: Quant modules support only fake quantization (QuantDescriptor::fake_quant = true), "
                "as NVIDIA's");
  static_assert(InputDesc.axis.empty(),
                "ctq: quant_nn: the input quantizer must be per tensor (an activation's per-axis amax has no fixed "
                "shape for the state dict)");
  return true;
}

template <QuantDescriptor WeightDesc, int WeightRank>
constexpr bool check_weight_desc() {
  static_assert(WeightDesc.fake_quant,
                "ctq: quant_nn: Quant modules support only fake quantization (QuantDescriptor::fake_quant = true), "
                "as NVIDIA's");
  static_assert(axes_within(WeightDesc.axis, WeightRank),
                "ctq: quant_nn: the weight descriptor keeps an axis the weight does not have");
  return true;
}

// Exchanges two tensors for a scope: the float module's forward then runs on the fake-quantized
// weight, and the float weight is back afterwards even if the forward raises.
template <class T>
class swap_for_scope {
 public:
  swap_for_scope(T& a, T& b) : a_(a), b_(b) { std::swap(a_, b_); }
  ~swap_for_scope() { std::swap(a_, b_); }
  swap_for_scope(const swap_for_scope&) = delete;
  swap_for_scope& operator=(const swap_for_scope&) = delete;

 private:
  T& a_;
  T& b_;
};

inline bool same_bits(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

// A quantizer's amax as the state tensor `_amax` (NVIDIA's buffer): rank 0 per tensor, or the
// weight's rank with 1 on the reduced axes (keepdims). A quantizer without amax (it computes
// amax from each tensor) reads as NaN everywhere, and loading all-NaN restores that; a scalar
// amax on a per-channel quantizer reads broadcast. The tensor is written back only if the
// visitor changed it, so reading leaves the quantizer as it was.
template <class Quantizer, std::size_t N, class F>
void visit_amax(std::string_view key, std::string_view owner, Quantizer& q, const std::array<index_t, N>& shape, F& f) {
  constexpr int AR = static_cast<int>(N);
  Tensor<float, AR> t(shape);
  const AmaxData& a = q.amax();
  if (a.empty()) {
    for (auto& v : t.values()) v = std::numeric_limits<float>::quiet_NaN();
  } else if (static_cast<index_t>(a.values.size()) == t.size()) {
    std::copy(a.values.begin(), a.values.end(), t.values().begin());
  } else if (a.values.size() == 1) {
    for (auto& v : t.values()) v = a.values[0];
  } else {
    raise(ctq::detail::message() << "ctq: " << owner << ": " << key << " holds " << a.values.size()
                                 << " values, the state tensor has " << t.size());
  }
  const Tensor<float, AR> before = t;
  f(key, t);
  bool changed = false;
  index_t nans = 0;
  for (index_t i = 0; i < t.size(); ++i) {
    changed = changed || !same_bits(t[i], before[i]);
    nans += std::isnan(t[i]) ? 1 : 0;
  }
  if (!changed) return;
  if (nans == t.size()) {
    q.set_amax({});
    return;
  }
  for (float v : t.values()) {
    if (!(v >= 0.0f) || !std::isfinite(v)) {
      raise(ctq::detail::message() << "ctq: " << owner << ": " << key << " must be finite and >= 0 (NaN everywhere: "
                                   << "no amax, computed from each tensor), got " << v);
    }
  }
  AmaxData loaded;
  loaded.shape.assign(shape.begin(), shape.end());
  loaded.values.assign(t.values().begin(), t.values().end());
  q.set_amax(std::move(loaded));
}

// The `_amax` state shape of a quantizer with descriptor D over a tensor of shape s.
template <QuantDescriptor D, std::size_t N>
auto amax_state_shape(const std::array<index_t, N>& s) {
  constexpr int R = static_cast<int>(N);
  if constexpr (D.axis.empty()) {
    return Shape<0>{};
  } else {
    Shape<R> a{};
    for (int d = 0; d < R; ++d)
      a[static_cast<std::size_t>(d)] = D.axis.contains(d, R) ? s[static_cast<std::size_t>(d)] : 1;
    return a;
  }
}

}  // namespace detail

/// The base of a Quant module with a weight (NVIDIA's QuantMixin): the float module Float (its
/// weight, bias, state and forward), an input and a weight TensorQuantizer. forward(x) =
/// Float's forward of input_quantizer(x) with the weight weight_quantizer(weight); a weight
/// quantizer without amax takes it from the weight on every call (max |w| per kept axis), as
/// NVIDIA's does until load_calib_amax.
template <class Derived, class Float, QuantDescriptor InputDesc, QuantDescriptor WeightDesc>
class QuantWeightMixin : public Float {
  static_assert(detail::check_input_desc<InputDesc>());
  static_assert(detail::check_weight_desc<WeightDesc, decltype(Float::weight)::rank>());

 public:
  using float_module = Float;
  using input_quantizer_type = TensorQuantizer<InputDesc>;
  using weight_quantizer_type = TensorQuantizer<WeightDesc>;
  static constexpr QuantDescriptor quant_desc_input = InputDesc, quant_desc_weight = WeightDesc;

  /// The Quant module holding f's weights (moved), with fresh quantizers.
  static Derived from_float(Float&& f) {
    Derived d;
    static_cast<Float&>(d) = std::move(f);
    return d;
  }

  using ctq::detail::rejects_quantized::operator();
  template <int R>
  auto operator()(const Tensor<float, R>& x) {
    const Tensor<float, R> qx = input_quantizer_(x);
    auto qw = weight_quantizer_(this->weight);
    const detail::swap_for_scope<decltype(qw)> use_quantized_weight(this->weight, qw);
    return Float::operator()(qx);
  }

  input_quantizer_type& input_quantizer() { return input_quantizer_; }
  const input_quantizer_type& input_quantizer() const { return input_quantizer_; }
  weight_quantizer_type& weight_quantizer() { return weight_quantizer_; }
  const weight_quantizer_type& weight_quantizer() const { return weight_quantizer_; }

  /// f(name, quantizer) for "_input_quantizer" and "_weight_quantizer" (NVIDIA's attribute names).
  template <class F>
  void visit_quantizers(F&& f) {
    f(std::string_view{"_input_quantizer"}, input_quantizer_);
    f(std::string_view{"_weight_quantizer"}, weight_quantizer_);
  }

  /// Float's state, then "_input_quantizer._amax" and "_weight_quantizer._amax" (see visit_amax).
  template <class F>
  void visit_state(F&& f) {
    Float::visit_state(f);
    detail::visit_amax("_input_quantizer._amax", Derived::name, input_quantizer_, Shape<0>{}, f);
    detail::visit_amax("_weight_quantizer._amax", Derived::name, weight_quantizer_,
                       detail::amax_state_shape<WeightDesc>(this->weight.shape()), f);
  }

 private:
  input_quantizer_type input_quantizer_;
  weight_quantizer_type weight_quantizer_;
};

/// The base of a Quant module that quantizes only its input (NVIDIA's QuantInputMixin): forward(x)
/// = Float's forward of input_quantizer(x). Derived declares `static constexpr std::string_view
/// name` (as each Quant module here; errors name it); Float needs a default constructor.
template <class Derived, class Float, QuantDescriptor InputDesc>
class QuantInputMixin : public Float {
  static_assert(detail::check_input_desc<InputDesc>());

 public:
  using float_module = Float;
  using input_quantizer_type = TensorQuantizer<InputDesc>;
  static constexpr QuantDescriptor quant_desc_input = InputDesc;

  static Derived from_float(Float&& f) {
    Derived d;
    static_cast<Float&>(d) = std::move(f);
    return d;
  }

  using ctq::detail::rejects_quantized::operator();
  template <int R>
  auto operator()(const Tensor<float, R>& x) {
    return Float::operator()(input_quantizer_(x));
  }

  input_quantizer_type& input_quantizer() { return input_quantizer_; }
  const input_quantizer_type& input_quantizer() const { return input_quantizer_; }

  template <class F>
  void visit_quantizers(F&& f) {
    f(std::string_view{"_input_quantizer"}, input_quantizer_);
  }
  /// Float's state if it has any, then "_input_quantizer._amax".
  template <class F>
  void visit_state(F&& f) {
    if constexpr (requires { Float::visit_state(f); }) Float::visit_state(f);
    detail::visit_amax("_input_quantizer._amax", Derived::name, input_quantizer_, Shape<0>{}, f);
  }

 private:
  input_quantizer_type input_quantizer_;
};

/// NVIDIA's QuantLinear: y = linear(input_quantizer(x), weight_quantizer(W), b); the weight
/// quantizer keeps axis 0 of W [Out][In] (one amax per output feature) by default.
template <index_t In, index_t Out, bool Bias = true, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = QUANT_DESC_8BIT_LINEAR_WEIGHT_PER_ROW>
class QuantLinear : public QuantWeightMixin<QuantLinear<In, Out, Bias, InputDesc, WeightDesc>,
                                            nn::Linear<In, Out, Bias>, InputDesc, WeightDesc> {
 public:
  static constexpr std::string_view name = "QuantLinear";
};

/// NVIDIA's QuantConv1d/2d/3d on ctq's channels-last convolution (ConvNd's parameters, then the
/// descriptors). The weight keeps PyTorch's [Out][In / G][k...] layout, so NVIDIA's per-channel
/// axis 0 is the output channel here too.
template <int R, index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = detail::conv_weight_desc<R>()>
class QuantConvNd : public QuantWeightMixin<QuantConvNd<R, In, Out, K, S, P, D, G, Bias, InputDesc, WeightDesc>,
                                            nn::ConvNd<R, In, Out, K, S, P, D, G, Bias>, InputDesc, WeightDesc> {
 public:
  static constexpr std::string_view name = R == 1 ? "QuantConv1d" : R == 2 ? "QuantConv2d" : "QuantConv3d";
};

template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = QUANT_DESC_8BIT_CONV1D_WEIGHT_PER_CHANNEL>
using QuantConv1d = QuantConvNd<1, In, Out, K, S, P, D, G, Bias, InputDesc, WeightDesc>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL>
using QuantConv2d = QuantConvNd<2, In, Out, K, S, P, D, G, Bias, InputDesc, WeightDesc>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = QUANT_DESC_8BIT_CONV3D_WEIGHT_PER_CHANNEL>
using QuantConv3d = QuantConvNd<3, In, Out, K, S, P, D, G, Bias, InputDesc, WeightDesc>;

/// NVIDIA's QuantConvTranspose1d/2d/3d (ConvTransposeNd's parameters in PyTorch's order, then the
/// descriptors); the weight quantizer keeps axis 0 of [In][Out / G][k...], as NVIDIA's.
template <int R, index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = detail::conv_transpose_weight_desc<R>()>
class QuantConvTransposeNd
    : public QuantWeightMixin<QuantConvTransposeNd<R, In, Out, K, S, P, OP, G, Bias, D, InputDesc, WeightDesc>,
                              nn::ConvTransposeNd<R, In, Out, K, S, P, OP, G, Bias, D>, InputDesc, WeightDesc> {
 public:
  static constexpr std::string_view name = R == 1   ? "QuantConvTranspose1d"
                                           : R == 2 ? "QuantConvTranspose2d"
                                                    : "QuantConvTranspose3d";
};

template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = QUANT_DESC_8BIT_CONVTRANSPOSE1D_WEIGHT_PER_CHANNEL>
using QuantConvTranspose1d = QuantConvTransposeNd<1, In, Out, K, S, P, OP, G, Bias, D, InputDesc, WeightDesc>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = QUANT_DESC_8BIT_CONVTRANSPOSE2D_WEIGHT_PER_CHANNEL>
using QuantConvTranspose2d = QuantConvTransposeNd<2, In, Out, K, S, P, OP, G, Bias, D, InputDesc, WeightDesc>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDesc = QUANT_DESC_8BIT_CONVTRANSPOSE3D_WEIGHT_PER_CHANNEL>
using QuantConvTranspose3d = QuantConvTransposeNd<3, In, Out, K, S, P, OP, G, Bias, D, InputDesc, WeightDesc>;

/// NVIDIA's quant pooling: the float pooling of input_quantizer(x).
template <index_t K, index_t S = 0, index_t P = 0, index_t D = 1, bool CeilMode = false,
          QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR>
struct QuantMaxPool1d
    : QuantInputMixin<QuantMaxPool1d<K, S, P, D, CeilMode, InputDesc>, nn::MaxPool1d<K, S, P, D, CeilMode>, InputDesc> {
  static constexpr std::string_view name = "QuantMaxPool1d";
};
template <index_t K, index_t S = 0, index_t P = 0, index_t D = 1, bool CeilMode = false,
          QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR>
struct QuantMaxPool2d
    : QuantInputMixin<QuantMaxPool2d<K, S, P, D, CeilMode, InputDesc>, nn::MaxPool2d<K, S, P, D, CeilMode>, InputDesc> {
  static constexpr std::string_view name = "QuantMaxPool2d";
};
template <index_t K, index_t S = 0, index_t P = 0, bool CeilMode = false, bool CountIncludePad = true,
          QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR>
struct QuantAvgPool1d : QuantInputMixin<QuantAvgPool1d<K, S, P, CeilMode, CountIncludePad, InputDesc>,
                                        nn::AvgPool1d<K, S, P, CeilMode, CountIncludePad>, InputDesc> {
  static constexpr std::string_view name = "QuantAvgPool1d";
};
template <index_t K, index_t S = 0, index_t P = 0, bool CeilMode = false, bool CountIncludePad = true,
          QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR>
struct QuantAvgPool2d : QuantInputMixin<QuantAvgPool2d<K, S, P, CeilMode, CountIncludePad, InputDesc>,
                                        nn::AvgPool2d<K, S, P, CeilMode, CountIncludePad>, InputDesc> {
  static constexpr std::string_view name = "QuantAvgPool2d";
};
template <index_t O, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR>
struct QuantAdaptiveAvgPool1d
    : QuantInputMixin<QuantAdaptiveAvgPool1d<O, InputDesc>, nn::AdaptiveAvgPool1d<O>, InputDesc> {
  static constexpr std::string_view name = "QuantAdaptiveAvgPool1d";
};
template <index_t OH, index_t OW = OH, QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR>
struct QuantAdaptiveAvgPool2d
    : QuantInputMixin<QuantAdaptiveAvgPool2d<OH, OW, InputDesc>, nn::AdaptiveAvgPool2d<OH, OW>, InputDesc> {
  static constexpr std::string_view name = "QuantAdaptiveAvgPool2d";
};

// --- the module mapping (NVIDIA's _DEFAULT_QUANT_MAP) ---------------------------------------------

/// The descriptors replace_with_quant_modules gives the modules it creates (NVIDIA's per-class
/// default_quant_desc_input / default_quant_desc_weight).
struct QuantModulesConfig {
  QuantDescriptor input = QUANT_DESC_8BIT_PER_TENSOR;
  QuantDescriptor weight_linear = QUANT_DESC_8BIT_LINEAR_WEIGHT_PER_ROW;
  QuantDescriptor weight_conv = QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL;
  QuantDescriptor weight_conv_transpose = QUANT_DESC_8BIT_CONVTRANSPOSE2D_WEIGHT_PER_CHANNEL;
  friend constexpr bool operator==(const QuantModulesConfig&, const QuantModulesConfig&) = default;
};

/// The Quant module replace_with_quant_modules puts in place of a float module F:
///   template <QuantModulesConfig C> using type = ...;   // the Quant module under config C
///   type<C>::from_float(F&&) builds it from the float module (its weights moved).
/// The primary template maps nothing (the module stays). Specialise it for a custom module, or
/// to quantize a float module ctq leaves alone (MaxPool, as NVIDIA's default map does).
template <class F>
struct quant_module {
  static constexpr bool unmapped = true;
};

template <class F>
inline constexpr bool has_quant_module = !requires {
  quant_module<F>::unmapped;
};

namespace detail {
template <class F, QuantModulesConfig C>
struct quant_module_of {
  using type = F;
};
template <class F, QuantModulesConfig C>
requires has_quant_module<F>
struct quant_module_of<F, C> {
  using type = typename quant_module<F>::template type<C>;
};
}  // namespace detail

/// The module replace_with_quant_modules<C> makes of F (F itself when F has no mapping).
template <class F, QuantModulesConfig C = QuantModulesConfig{}>
using quant_module_t = typename detail::quant_module_of<F, C>::type;

template <index_t In, index_t Out, bool Bias>
struct quant_module<nn::Linear<In, Out, Bias>> {
  template <QuantModulesConfig C>
  using type = QuantLinear<In, Out, Bias, C.input, C.weight_linear>;
};
template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool Bias>
struct quant_module<nn::ConvNd<R, In, Out, K, S, P, D, G, Bias>> {
  template <QuantModulesConfig C>
  using type = QuantConvNd<R, In, Out, K, S, P, D, G, Bias, C.input, C.weight_conv>;
};
template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t OP, index_t G, bool Bias, index_t D>
struct quant_module<nn::ConvTransposeNd<R, In, Out, K, S, P, OP, G, Bias, D>> {
  template <QuantModulesConfig C>
  using type = QuantConvTransposeNd<R, In, Out, K, S, P, OP, G, Bias, D, C.input, C.weight_conv_transpose>;
};
template <index_t K, index_t S, index_t P, bool Ceil, bool Pad>
struct quant_module<nn::AvgPool1d<K, S, P, Ceil, Pad>> {
  template <QuantModulesConfig C>
  using type = QuantAvgPool1d<K, S, P, Ceil, Pad, C.input>;
};
template <index_t K, index_t S, index_t P, bool Ceil, bool Pad>
struct quant_module<nn::AvgPool2d<K, S, P, Ceil, Pad>> {
  template <QuantModulesConfig C>
  using type = QuantAvgPool2d<K, S, P, Ceil, Pad, C.input>;
};
template <index_t O>
struct quant_module<nn::AdaptiveAvgPool1d<O>> {
  template <QuantModulesConfig C>
  using type = QuantAdaptiveAvgPool1d<O, C.input>;
};
template <index_t OH, index_t OW>
struct quant_module<nn::AdaptiveAvgPool2d<OH, OW>> {
  template <QuantModulesConfig C>
  using type = QuantAdaptiveAvgPool2d<OH, OW, C.input>;
};

}  // namespace quant_nn

namespace detail {

template <quant_nn::QuantModulesConfig C>
struct replace_quant_pass {
  template <fixed_string Path, class M>
  auto leaf(M& m) {
    if constexpr (quant_nn::has_quant_module<M>) {
      using Q = quant_nn::quant_module_t<M, C>;
      if constexpr (requires(M & f) {
                      { Q::from_float(std::move(f)) } -> std::same_as<Q>;
                    }) {
        return Q::from_float(std::move(m));
      } else {
        static_assert(always_false<Q>,
                      "ctq: replace_with_quant_modules: the module's quant_module<F>::type<C> needs a static "
                      "from_float(F&&) returning it (the float and Quant types are in the 'replace_quant_pass' lines "
                      "above)");
        return std::move(m);
      }
    } else {
      return std::move(m);
    }
  }
};

}  // namespace detail

/// NVIDIA's quant_modules.initialize() as a type rewrite: every leaf with a quant_module mapping
/// (Linear, ConvNd, ConvTransposeNd, AvgPool1d/2d, AdaptiveAvgPool1d/2d, and user mappings)
/// becomes its Quant module with these descriptors, its weights moved; the rest is moved across.
/// MaxPool stays float, as in NVIDIA's default map.
template <QuantDescriptor InputDesc = QUANT_DESC_8BIT_PER_TENSOR,
          QuantDescriptor WeightDescLinear = QUANT_DESC_8BIT_LINEAR_WEIGHT_PER_ROW,
          QuantDescriptor WeightDescConv = QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL,
          QuantDescriptor WeightDescConvTranspose = QUANT_DESC_8BIT_CONVTRANSPOSE2D_WEIGHT_PER_CHANNEL, class Model>
auto replace_with_quant_modules(Model model) {
  detail::replace_quant_pass<quant_nn::QuantModulesConfig{.input = InputDesc,
                                                          .weight_linear = WeightDescLinear,
                                                          .weight_conv = WeightDescConv,
                                                          .weight_conv_transpose = WeightDescConvTranspose}>
      pass;
  return detail::rewrite(model, pass);
}

/// f(path, quantizer) for every quantizer of the model, in module order, with NVIDIA's dotted
/// names ("0._input_quantizer", "fc._weight_quantizer"). A module takes part by providing
/// visit_quantizers(g), calling g(name, quantizer) for each of its quantizers.
template <class Model, class F>
void for_each_quantizer(Model& model, F&& f) {
  nn::for_each_module(model, [&]<fixed_string Path>(auto& mod) {
    if constexpr (requires { mod.visit_quantizers([](std::string_view, auto&) {}); }) {
      mod.visit_quantizers([&](std::string_view name, auto& q) {
        std::string path(Path.view());
        if (!path.empty()) path += '.';
        path += name;
        f(std::as_const(path), q);
      });
    }
  });
}

/// NVIDIA's calibration switch-on: every quantizer with a calibrator stops quantizing and starts
/// collecting (disable_quant, enable_calib); one without a calibrator is disabled.
template <class Model>
void enable_calibration(Model& model) {
  for_each_quantizer(model, [](const std::string&, auto& q) {
    if constexpr (requires { q.calibrator(); }) {
      q.disable_quant();
      q.enable_calib();
    } else {
      q.disable();
    }
  });
}

/// Back to quantizing: enable_quant and disable_calib (enable for quantizers without a calibrator).
template <class Model>
void disable_calibration(Model& model) {
  for_each_quantizer(model, [](const std::string&, auto& q) {
    if constexpr (requires { q.calibrator(); }) {
      q.enable_quant();
      q.disable_calib();
    } else {
      q.enable();
    }
  });
}

/// NVIDIA's compute_amax loop: each enabled quantizer loads its calibrated amax. A max calibrator
/// (the weight quantizers' default) always uses "max"; a histogram calibrator uses `method`
/// ("entropy", "percentile" with `percentile`, or "mse"). Disabled quantizers are skipped. Raises
/// ctq::error naming the quantizer if it collected nothing or `method` does not apply to it.
template <class Model>
void load_calib_amax(Model& model, std::string_view method = "max", double percentile = 99.99) {
  for_each_quantizer(model, [&](const std::string& path, auto& q) {
    if constexpr (requires { q.calibrator(); }) {
      if (!q.is_enabled()) return;
      using Calibrator = typename std::remove_cvref_t<decltype(q)>::calibrator_type;
      if constexpr (std::is_same_v<Calibrator, MaxCalibrator>) {
        if (q.calibrator().compute_amax().empty()) {
          raise(ctq::detail::message() << "ctq: load_calib_amax: quantizer '" << path
                                       << "' saw no calibration data (run batches after enable_calibration)");
        }
        q.load_calib_amax("max");
      } else {
        if (q.calibrator().histogram().empty()) {
          raise(ctq::detail::message() << "ctq: load_calib_amax: quantizer '" << path
                                       << "' saw no calibration data (run batches after enable_calibration)");
        }
        if (method != "entropy" && method != "percentile" && method != "mse") {
          raise(ctq::detail::message() << "ctq: load_calib_amax: quantizer '" << path
                                       << "' has a histogram calibrator: method must be \"entropy\", \"percentile\" "
                                          "or \"mse\", not \""
                                       << method << "\"");
        }
        q.load_calib_amax(method, percentile);
      }
    }
  });
}

}  // namespace ctq
