// QuantStub and DeQuantStub mark where a model's quantized region starts and ends (PyTorch's
// torch.ao.quantization.QuantStub / DeQuantStub): the identity on float tensors until convert
// swaps them for nn::quantized::Quantize / DeQuantize. QuantWrapper<M> puts M between the two.
#pragma once

#include <string_view>

#include "../core/tensor.hpp"
#include "../nn/grad.hpp"
#include "../nn/module.hpp"
#include "../nn/sequential.hpp"

namespace ctq {

struct QuantStub : detail::rejects_quantized {
  static constexpr std::string_view name = "QuantStub";
  using detail::rejects_quantized::operator();
  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) const {
    return x;
  }
  /// In float training the stub is the identity, so is its gradient.
  nn::DynTensor backward(nn::DynTensor g) const { return g; }
};

struct DeQuantStub : detail::rejects_quantized {
  static constexpr std::string_view name = "DeQuantStub";
  using detail::rejects_quantized::operator();
  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) const {
    return x;
  }
  /// In float training the stub is the identity, so is its gradient.
  nn::DynTensor backward(nn::DynTensor g) const { return g; }
};

/// PyTorch's QuantWrapper: quant -> module -> dequant, with the module as child "module".
template <class M>
using QuantWrapper =
    nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"module", M>, nn::named<"dequant", DeQuantStub>>;

/// PyTorch's add_quant_dequant for a whole model: the model wrapped in a QuantWrapper, moved in.
template <class M>
QuantWrapper<M> add_quant_dequant(M model) {
  QuantWrapper<M> w;
  nn::child<1>(w) = std::move(model);
  return w;
}

}  // namespace ctq
