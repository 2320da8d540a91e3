// The static-quantization mapping of ConvTranspose1d/2d/3d, ELU, LeakyReLU, Sigmoid, Tanh and
// Hardsigmoid (PyTorch 1.13's DEFAULT_STATIC_QUANT_MODULE_MAPPINGS and eager prepare):
// ConvTranspose, ELU and LeakyReLU are observed and swapped; Sigmoid, Tanh and Hardsigmoid get no
// observer (PyTorch attaches its fixed-parameter fake-quantizer only in training mode, and convert
// removes it) and run on quantized tensors with their kernels' fixed output parameters.
// Also brings in nn::Concat and the quantized cat its converted "cat" child calls.
#pragma once

#include <type_traits>

#include "../../nn/activation.hpp"
#include "../../nn/concat.hpp"
#include "../../nn/conv_transpose.hpp"
#include "../../nn/quantized/activation_lut.hpp"
#include "../../nn/quantized/cat.hpp"
#include "../../nn/quantized/conv_transpose.hpp"
#include "../../nn/quantized/functional.hpp"
#include "../traits.hpp"

namespace ctq {

// Outputs prepare observes.
template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t OP, index_t G, bool B, index_t D>
struct observes_output<nn::ConvTransposeNd<R, In, Out, K, S, P, OP, G, B, D>> : std::true_type {};
template <float A>
struct observes_output<nn::ELU<A>> : std::true_type {};
template <float S>
struct observes_output<nn::LeakyReLU<S>> : std::true_type {};

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t OP, index_t G, bool B, index_t D>
struct quantized_module<nn::ConvTransposeNd<R, In, Out, K, S, P, OP, G, B, D>> {
  using type = nn::quantized::ConvTransposeT<R, In, Out, K, S, P, OP, G, D>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::ConvTransposeNd<R, In, Out, K, S, P, OP, G, B, D>& m, const ConvertInfo& info) {
    // PyTorch's prepare rejects the same qconfig ("Per channel weight observer is not supported
    // yet for ConvTranspose{n}d"); its weight's axis 0 is the input channels.
    static_assert(is_per_tensor(QC::weight::qscheme),
                  "ctq: convert: ConvTranspose needs a per-tensor weight observer, as in PyTorch (give it "
                  "QConfig<activation, default_weight_observer> through a QConfigMapping for_type / for_name entry)");
    return type(detail::quantize_weight<typename QC::weight>(m.weight), detail::bias_of(m), info.output, info.engine);
  }
};

template <float A>
struct quantized_module<nn::ELU<A>> {
  using type = nn::quantized::ELU<A>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::ELU<A>&, const ConvertInfo& info) {
    return type(info.output, info.engine);
  }
};

template <float S>
struct quantized_module<nn::LeakyReLU<S>> {
  using type = nn::quantized::LeakyReLU<S>;
  static constexpr bool needs_qconfig = true;
  template <class QC>
  static type convert(const nn::LeakyReLU<S>&, const ConvertInfo& info) {
    return type(info.output, info.engine);
  }
};

// Run on quantized tensors as they are: mapped whatever the qconfig (they take float tensors too).
template <>
struct quantized_module<nn::Sigmoid> : detail::stateless_mapping<nn::quantized::Sigmoid> {};
template <>
struct quantized_module<nn::Tanh> : detail::stateless_mapping<nn::quantized::Tanh> {};
template <>
struct quantized_module<nn::Hardsigmoid> : detail::stateless_mapping<nn::quantized::Hardsigmoid> {};

}  // namespace ctq
