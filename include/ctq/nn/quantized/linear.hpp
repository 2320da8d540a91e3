// nn::quantized::Linear and nn::intrinsic::quantized::LinearReLU: a packed int8 GEMM with the
// engine's requantization (PyTorch's nnq.Linear / nniq.LinearReLU).
#pragma once

#include <string_view>
#include <vector>

#include "../../kernels/gemm.hpp"
#include "../module.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

template <index_t In, index_t Out, bool Relu = false>
class LinearT : public ctq::detail::rejects_float {
 public:
  static constexpr std::string_view name = Relu ? "LinearReLU (quantized)" : "Linear (quantized)";
  static constexpr index_t in_features = In, out_features = Out;

  LinearT() = default;
  /// weight: [Out][In] int8 (PyTorch's layout); bias: empty or Out floats.
  LinearT(QuantizedWeight weight, std::vector<float> bias, PerTensorQParams out, EngineConfig engine)
      : weight_(std::move(weight)),
        bias_(std::move(bias)),
        out_(out),
        engine_(engine),
        packed_(weight_.values.data(), Out, In, In, weight_.zero_points) {}

  using ctq::detail::rejects_float::operator();
  template <int R>
  QActivation<R> operator()(const QActivation<R>& x) {
    if (x.dim(R - 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::quantized::Linear: the input's last dimension is " << x.dim(R - 1)
                                   << ", the layer has in_features " << In);
    }
    auto shape = x.shape();
    shape[R - 1] = Out;
    QActivation<R> y(shape, out_);
    const index_t rows = x.size() / In;
    if (rows == 0) return y;
    const auto& rq = cache_.get(engine_, Out, x.scale(), weight_.scales, bias_, out_, Relu);
    const auto need = static_cast<std::size_t>(kernels::gemm_scratch_size(packed_, rows));
    if (scratch_.size() < need) scratch_.resize(need);
    rq.with_pipeline(y.data(), Out, [&](const auto& pipeline) {
      kernels::gemm(x.data(), rows, In, x.zero_point(), packed_, pipeline, std::span<std::int32_t>(scratch_));
    });
    return y;
  }

  const QuantizedWeight& weight() const { return weight_; }
  const std::vector<float>& bias() const { return bias_; }
  PerTensorQParams output_qparams() const { return out_; }
  float scale() const { return out_.scale; }
  std::int32_t zero_point() const { return out_.zero_point; }
  /// Bytes of parameters (int8 weights, float scales and bias).
  std::size_t parameter_bytes() const {
    return weight_.values.size() + 4 * (weight_.scales.size() + weight_.zero_points.size() + bias_.size());
  }

 private:
  QuantizedWeight weight_;
  std::vector<float> bias_;
  PerTensorQParams out_;
  EngineConfig engine_;
  kernels::PackedWeights<kernels::arch::best> packed_;
  detail::RequantizationCache cache_;
  std::vector<std::int32_t> scratch_;
};

template <index_t In, index_t Out>
using Linear = LinearT<In, Out, false>;

}  // namespace ctq::nn::quantized

namespace ctq::nn::intrinsic::quantized {
template <index_t In, index_t Out>
using LinearReLU = nn::quantized::LinearT<In, Out, true>;
}  // namespace ctq::nn::intrinsic::quantized
