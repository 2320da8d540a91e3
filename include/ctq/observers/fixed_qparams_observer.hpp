// FixedQParamsObserver: always the same scale and zero point, for ops with a known output range such
// as sigmoid and tanh (PyTorch's FixedQParamsObserver).
#pragma once

#include "observer_base.hpp"

namespace ctq {

struct FixedQParamsObserverArgs {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  ctq::dtype dtype = ctq::dtype::quint8;
  ctq::qscheme qscheme = ctq::qscheme::per_tensor_affine;
  std::int64_t quant_min = 0;
  std::int64_t quant_max = 255;
};

/// Always reports the same parameters (PyTorch uses it for sigmoid, tanh, hardsigmoid outputs).
template <FixedQParamsObserverArgs Args>
class FixedQParamsObserver {
  static_assert(Args.scale > 0.0f, "ctq: FixedQParamsObserver: scale must be positive");
  static_assert(Args.quant_min <= Args.zero_point && Args.zero_point <= Args.quant_max,
                "ctq: FixedQParamsObserver: zero_point must lie in [quant_min, quant_max]");

 public:
  static constexpr std::string_view name = "FixedQParamsObserver";
  static constexpr ctq::dtype dtype = Args.dtype;
  static constexpr ctq::qscheme qscheme = Args.qscheme;
  static constexpr std::int64_t quant_min = Args.quant_min;
  static constexpr std::int64_t quant_max = Args.quant_max;
  using qparams_type = PerTensorQParams;
  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    return x;
  }
  PerTensorQParams calculate_qparams() const { return {Args.scale, Args.zero_point}; }
  void reset() {}
  void merge(const FixedQParamsObserver&) {}
};

}  // namespace ctq
