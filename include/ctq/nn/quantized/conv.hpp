// nn::quantized::Conv1d/2d/3d and nn::intrinsic::quantized::ConvReLU1d/2d/3d: int8 convolution
// on channels-last quint8 tensors through ctq's conv kernels (GEMM per group, or depthwise),
// with the engine's requantization (PyTorch's nnq.ConvNd / nniq.ConvReLUNd). The layer types
// are thin: the work is done by one non-template class, so a network of many conv types
// compiles the kernels once.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

#include "../../kernels/conv.hpp"
#include "../module.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

namespace detail {

/// A quantized convolution with its hyper-parameters at run time, as 3-d (leading dimensions
/// of size 1 for 1-d and 2-d).
class QConv {
 public:
  struct Params {
    index_t in = 0, out = 0, groups = 1;
    std::array<index_t, 3> kernel{1, 1, 1}, stride{1, 1, 1}, padding{0, 0, 0}, dilation{1, 1, 1};
    bool relu = false;
  };

  QConv() = default;
  /// weight: int8 in PyTorch's layout [out][in / groups][k...]; bias: empty or `out` floats.
  QConv(const Params& p, QuantizedWeight weight, std::vector<float> bias, PerTensorQParams out, EngineConfig engine)
      : p_(p), weight_(std::move(weight)), bias_(std::move(bias)), out_(out), engine_(engine) {
    // the kernels take OHWI: [out][k...][in / groups]; packed on the first forward, when the
    // input size (part of the packed geometry) is known
    const index_t cg = p.in / p.groups, taps = p.kernel[0] * p.kernel[1] * p.kernel[2];
    ohwi_.resize(weight_.values.size());
    for (index_t o = 0; o < p.out; ++o)
      for (index_t c = 0; c < cg; ++c)
        for (index_t t = 0; t < taps; ++t) ohwi_[(o * taps + t) * cg + c] = weight_.values[(o * cg + c) * taps + t];
  }

  /// The output's spatial size for an input of spatial size `in` (3-d).
  std::array<index_t, 3> output_size(const std::array<index_t, 3>& in) const { return geometry(1, in).output(); }

  /// y (batch x output pixels x out, quint8) for x (batch x in pixels x in, quint8).
  void forward(const std::uint8_t* x, float x_scale, std::int32_t x_zero_point, index_t batch,
               const std::array<index_t, 3>& spatial, std::uint8_t* y) {
    if (packed_.empty() || spatial != packed_spatial_) {  // once per input size
      packed_ =
          kernels::PackedConvWeights<kernels::arch::best>(geometry(1, spatial), ohwi_.data(), weight_.zero_points);
      scratch_.resize(kernels::conv_scratch_size(packed_));
      packed_spatial_ = spatial;
    }
    const auto& rq = cache_.get(engine_, p_.out, x_scale, weight_.scales, bias_, out_, p_.relu);
    rq.with_pipeline(y, p_.out, [&](const auto& pipeline) {
      kernels::conv(geometry(batch, spatial), x, x_zero_point, packed_, pipeline, std::span<std::byte>(scratch_));
    });
  }

  const QuantizedWeight& weight() const { return weight_; }
  const std::vector<float>& bias() const { return bias_; }
  PerTensorQParams output_qparams() const { return out_; }
  std::size_t parameter_bytes() const {
    return weight_.values.size() + 4 * (weight_.scales.size() + weight_.zero_points.size() + bias_.size());
  }

 private:
  kernels::ConvGeometry<3> geometry(index_t batch, const std::array<index_t, 3>& spatial) const {
    kernels::ConvGeometry<3> g;
    g.batch = batch;
    g.input = spatial;
    g.in_channels = p_.in;
    g.out_channels = p_.out;
    g.groups = p_.groups;
    g.kernel = p_.kernel;
    g.stride = p_.stride;
    g.padding = p_.padding;
    g.dilation = p_.dilation;
    return g;
  }

  Params p_;
  QuantizedWeight weight_;
  std::vector<std::int8_t> ohwi_;
  std::vector<float> bias_;
  PerTensorQParams out_;
  EngineConfig engine_;
  kernels::PackedConvWeights<kernels::arch::best> packed_;
  std::array<index_t, 3> packed_spatial_{};
  RequantizationCache cache_;
  std::vector<std::byte> scratch_;
};

/// The typed face of a convolution-like core (QConv, QConvTranspose): a channels-last quantized
/// tensor in, the core's output shape and codes out, plus the parameter accessors. `Op` names
/// the layer in error messages.
template <class Core, int R, index_t In, index_t Out>
class SpatialLayer : public ctq::detail::rejects_float {
 public:
  SpatialLayer() = default;
  explicit SpatialLayer(Core core) : core_(std::move(core)) {}

  const QuantizedWeight& weight() const { return core_.weight(); }
  const std::vector<float>& bias() const { return core_.bias(); }
  PerTensorQParams output_qparams() const { return core_.output_qparams(); }
  float scale() const { return core_.output_qparams().scale; }
  std::int32_t zero_point() const { return core_.output_qparams().zero_point; }
  std::size_t parameter_bytes() const { return core_.parameter_bytes(); }

 protected:
  template <int XR>
  QActivation<XR> run(const QActivation<XR>& x, std::string_view op) {
    if (x.dim(XR - 1) != In) {
      raise(ctq::detail::message() << "ctq: " << op << ": the input has " << x.dim(XR - 1)
                                   << " channels (last dimension), the layer has in_channels " << In);
    }
    std::array<index_t, 3> spatial{1, 1, 1};
    for (int i = 0; i < R; ++i) spatial[static_cast<std::size_t>(3 - R + i)] = x.dim(i + 1);
    const auto out_spatial = core_.output_size(spatial);
    Shape<XR> shape{};
    shape[0] = x.dim(0);
    for (int i = 0; i < R; ++i)
      shape[static_cast<std::size_t>(i + 1)] = out_spatial[static_cast<std::size_t>(3 - R + i)];
    shape[XR - 1] = Out;
    QActivation<XR> y(shape, core_.output_qparams());
    if (y.size() > 0) core_.forward(x.data(), x.scale(), x.zero_point(), x.dim(0), spatial, y.data());
    return y;
  }

  Core core_;
};

}  // namespace detail

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool Relu = false>
class ConvT : public detail::SpatialLayer<detail::QConv, R, In, Out> {
  static_assert(R >= 1 && R <= 3, "ctq: nn::quantized::Conv: 1, 2 or 3 spatial dimensions");

 public:
  static constexpr std::string_view name = Relu ? "ConvReLU (quantized)" : "Conv (quantized)";
  static constexpr index_t in_channels = In, out_channels = Out, groups = G;

  ConvT() = default;
  /// weight: int8 in PyTorch's layout [Out][In / G][K]...; bias: empty or Out floats.
  ConvT(QuantizedWeight weight, std::vector<float> bias, PerTensorQParams out, EngineConfig engine)
      : detail::SpatialLayer<detail::QConv, R, In, Out>(
            detail::QConv(params(), std::move(weight), std::move(bias), out, engine)) {}

  using ctq::detail::rejects_float::operator();
  template <int XR>
  QActivation<XR> operator()(const QActivation<XR>& x) {
    static_assert(XR == R + 2,
                  "ctq: nn::quantized::Conv: the input must have rank spatial dims + 2 ([N, spatial..., C])");
    return this->run(x, "nn::quantized::Conv");
  }

 private:
  static detail::QConv::Params params() {
    detail::QConv::Params p;
    p.in = In;
    p.out = Out;
    p.groups = G;
    p.relu = Relu;
    for (int i = 3 - R; i < 3; ++i) {
      const auto j = static_cast<std::size_t>(i);
      p.kernel[j] = K, p.stride[j] = S, p.padding[j] = P, p.dilation[j] = D;
    }
    return p;
  }
};

template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1>
using Conv1d = ConvT<1, In, Out, K, S, P, D, G, false>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1>
using Conv2d = ConvT<2, In, Out, K, S, P, D, G, false>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1>
using Conv3d = ConvT<3, In, Out, K, S, P, D, G, false>;

}  // namespace ctq::nn::quantized

namespace ctq::nn::intrinsic::quantized {
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1>
using ConvReLU1d = nn::quantized::ConvT<1, In, Out, K, S, P, D, G, true>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1>
using ConvReLU2d = nn::quantized::ConvT<2, In, Out, K, S, P, D, G, true>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1>
using ConvReLU3d = nn::quantized::ConvT<3, In, Out, K, S, P, D, G, true>;
}  // namespace ctq::nn::intrinsic::quantized
