// Static quantization-aware training: prepare_qat<QConfig>(model) swaps every float conv, linear
// and fused (fuse_modules_qat) module under a qconfig for its QAT module (PyTorch's
// DEFAULT_QAT_MODULE_MAPPINGS) and observes outputs with the qconfig's activation fake-quantizer,
// as prepare does; after training, convert turns each QAT module into the int8 module, with the
// BatchNorm folded by its running statistics and the weight quantized by the trained weight
// fake-quantizer (PyTorch's from_float of the quantized modules).
#pragma once

#include <type_traits>
#include <utility>

#include "../../fake_quantize/fake_quantize.hpp"
#include "../../nn/conv.hpp"
#include "../../nn/intrinsic/fused.hpp"
#include "../../nn/linear.hpp"
#include "../../nn/qat/modules.hpp"
#include "../../nn/train.hpp"
#include "../convert.hpp"
#include "../fuse_modules.hpp"
#include "../prepare.hpp"
#include "../qconfig_mapping.hpp"
#include "../traits.hpp"
#include "../transform.hpp"
#include "core.hpp"

namespace ctq {

/// The QAT module prepare_qat makes of float module M under qconfig QC: `type` and
/// `static type make(M&&)`. No `type`: prepare_qat treats M as prepare does. Specialise for a
/// custom module.
template <class M, class QC>
struct qat_module {};

namespace detail {
template <class L, class BN, bool Relu, class QC>
struct qat_layer_mapping {
  using type = nn::qat::WeightedLayer<L, BN, Relu, QC>;
};
}  // namespace detail

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B, class QC>
struct qat_module<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, QC>
    : detail::qat_layer_mapping<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, void, false, QC> {
  static auto make(nn::ConvNd<R, In, Out, K, S, P, D, G, B>&& m) { return typename qat_module::type(std::move(m)); }
};
template <index_t In, index_t Out, bool B, class QC>
struct qat_module<nn::Linear<In, Out, B>, QC> : detail::qat_layer_mapping<nn::Linear<In, Out, B>, void, false, QC> {
  static auto make(nn::Linear<In, Out, B>&& m) { return typename qat_module::type(std::move(m)); }
};
// ConvReLU and LinearReLU (not BNReLU, which has no weight to fake-quantize)
template <class C, class QC>
struct qat_module<nn::intrinsic::ConvReLU<C>, QC> : detail::qat_layer_mapping<C, void, true, QC> {
  static auto make(nn::intrinsic::ConvReLU<C>&& m) { return typename qat_module::type(std::move(m.inner)); }
};
template <class L, class QC>
struct qat_module<nn::intrinsic::LinearReLU<L>, QC> : detail::qat_layer_mapping<L, void, true, QC> {
  static auto make(nn::intrinsic::LinearReLU<L>&& m) { return typename qat_module::type(std::move(m.inner)); }
};
template <class C, class BN, bool Relu, class QC>
struct qat_module<nn::intrinsic::detail::ConvBnAct<C, BN, Relu>, QC> : detail::qat_layer_mapping<C, BN, Relu, QC> {
  static auto make(nn::intrinsic::detail::ConvBnAct<C, BN, Relu>&& m) {
    return typename qat_module::type(std::move(m.conv), std::move(m.bn));
  }
};

template <class L, class BN, bool Relu, class QC>
struct observes_output<nn::qat::WeightedLayer<L, BN, Relu, QC>> : std::true_type {};

namespace detail {
template <class L>
struct with_bias;
template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B>
struct with_bias<nn::ConvNd<R, In, Out, K, S, P, D, G, B>> {
  using type = nn::ConvNd<R, In, Out, K, S, P, D, G, true>;
};
}  // namespace detail

template <class L, class BN, bool Relu, class QC>
struct quantized_module<nn::qat::WeightedLayer<L, BN, Relu, QC>> {
  using qat_type = nn::qat::WeightedLayer<L, BN, Relu, QC>;
  // the int8 module of the float layer, or of the float layer fused with its ReLU
  using type = typename quantized_module<
      std::conditional_t<Relu,
                         std::conditional_t<nn::qat::detail::layer_ops<L>::is_conv, nn::intrinsic::ConvReLU<L>,
                                            nn::intrinsic::LinearReLU<L>>,
                         L>>::type;
  static constexpr bool needs_qconfig = true;
  /// The int8 module: weight (and bias) with the BatchNorm folded by its running statistics
  /// (fuse_conv_bn_weights), then quantized with a copy of the trained weight fake-quantizer.
  template <class>
  static type convert(const qat_type& m, const ConvertInfo& info) {
    auto fq = m.weight_fake_quant;  // a copy: the trained model stays as it was
    if constexpr (qat_type::has_bn) {
      const auto folded = detail::fold_bn<typename detail::with_bias<L>::type>(m.layer, m.bn, false);
      return type(detail::quantize_weight_with(fq, folded.weight), detail::bias_of(folded), info.output, info.engine);
    } else {
      return type(detail::quantize_weight_with(fq, m.layer.weight), detail::bias_of(m.layer), info.output, info.engine);
    }
  }
};

namespace detail {

template <class Spec>
struct prepare_qat_pass {
  template <fixed_string Path, class M>
  auto leaf(M& m) {
    using QC = typename qconfig_at<Spec, Path, M>::type;
    if constexpr (std::is_same_v<QC, no_qconfig>) {
      return std::move(m);
    } else if constexpr (requires { typename qat_module<M, QC>::type; }) {
      static_assert(FakeQuantizer<typename QC::activation>,
                    "ctq: prepare_qat: the qconfig's activation must be a fake-quantizer (use "
                    "get_default_qat_qconfig<Backend> or a QConfig of FakeQuantize types)");
      return Observed<typename qat_module<M, QC>::type, QC>(qat_module<M, QC>::make(std::move(m)));
    } else {
      prepare_pass<Spec> plain;
      return plain.template leaf<Path>(m);
    }
  }
};

}  // namespace detail

/// The model prepared for quantization-aware training (PyTorch's prepare_qat): conv, linear and
/// the fused modules of fuse_modules_qat become their QAT modules, and every output prepare would
/// observe gets the qconfig's activation fake-quantizer. Spec: a QConfig or a QConfigMapping.
/// Train it with nn::train, nn::backward and an optimizer; then nn::eval and convert.
template <class Spec, class Model>
auto prepare_qat(Model model) {
  detail::prepare_qat_pass<Spec> pass;
  return detail::rewrite(model, pass);
}

/// prepare_qat, training, convert in one call (PyTorch's quantize_qat(model, run_fn)): run_fn
/// trains the prepared model (in training mode); the result is converted for backend B.
template <class Spec, class B = default_backend, class Model, class RunFn>
auto quantize_qat(Model model, RunFn&& run_fn) {
  auto prepared = prepare_qat<Spec>(std::move(model));
  nn::train(prepared);
  std::forward<RunFn>(run_fn)(prepared);
  nn::eval(prepared);
  return convert<B>(std::move(prepared));
}

}  // namespace ctq
