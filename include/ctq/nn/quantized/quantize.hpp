// nn::quantized::Quantize and DeQuantize: what convert makes of QuantStub and DeQuantStub.
#pragma once

#include <string_view>

#include "../../core/quantize.hpp"
#include "../module.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

/// Float -> quint8 with the parameters its observer chose (PyTorch's nnq.Quantize).
struct Quantize : ctq::detail::rejects_quantized {
  static constexpr std::string_view name = "Quantize";
  PerTensorQParams qparams;

  using ctq::detail::rejects_quantized::operator();
  template <int R>
  QActivation<R> operator()(const Tensor<float, R>& x) const {
    return ctq::quantize<dtype::quint8>(x, qparams);
  }
};

/// Quantized -> float (PyTorch's nnq.DeQuantize).
struct DeQuantize : ctq::detail::rejects_float {
  static constexpr std::string_view name = "DeQuantize";
  using ctq::detail::rejects_float::operator();
  template <dtype D, qscheme S, int R>
  Tensor<float, R> operator()(const QTensor<D, S, R>& x) const {
    return ctq::dequantize(x);
  }
};

}  // namespace ctq::nn::quantized
