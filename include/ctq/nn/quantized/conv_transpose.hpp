// nn::quantized::ConvTranspose1d/2d/3d: int8 transposed convolution on channels-last quint8 tensors
// through kernels::conv_transpose, with the engine's requantization (PyTorch's
// nnq.ConvTranspose1d/2d/3d). The layer types are thin: the work is done by one non-template class,
// so a network of many transposed-convolution types compiles the kernels once.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "../../kernels/conv_transpose.hpp"
#include "../module.hpp"
#include "conv.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

namespace detail {

/// A quantized transposed convolution with its hyper-parameters at run time, as 3-d (leading
/// dimensions of size 1 for 1-d and 2-d).
class QConvTranspose {
 public:
  struct Params {
    index_t in = 0, out = 0, groups = 1;
    std::array<index_t, 3> kernel{1, 1, 1}, stride{1, 1, 1}, padding{0, 0, 0}, output_padding{0, 0, 0},
        dilation{1, 1, 1};
  };

  QConvTranspose() = default;
  /// weight: int8 in PyTorch's layout [in][out / groups][k...], one scale and zero point (per
  /// tensor) or one per output channel; bias: empty or `out` floats.
  QConvTranspose(const Params& p, QuantizedWeight weight, std::vector<float> bias, PerTensorQParams out,
                 EngineConfig engine)
      : p_(p), weight_(std::move(weight)), bias_(std::move(bias)), out_(out), engine_(engine) {
    const index_t cg = p.out / p.groups, taps = p.kernel[0] * p.kernel[1] * p.kernel[2];
    const auto scales = static_cast<index_t>(weight_.scales.size());
    const auto zps = static_cast<index_t>(weight_.zero_points.size());
    if (static_cast<index_t>(weight_.values.size()) != p.in * cg * taps || (scales != 1 && scales != p.out) ||
        zps != scales || (!bias_.empty() && static_cast<index_t>(bias_.size()) != p.out)) {
      raise(ctq::detail::message() << "ctq: nn::quantized::ConvTranspose: " << weight_.values.size() << " weights, "
                                   << scales << " scales, " << zps << " zero points and " << bias_.size()
                                   << " biases for a layer that needs " << p.in * cg * taps << " weights, 1 or "
                                   << p.out << " scales and zero points, and 0 or " << p.out << " biases");
    }
    // the kernel takes the output channels last: [in][k...][out / groups]; packed on the first
    // forward, when the input size (part of the packed geometry) is known
    permuted_.resize(weight_.values.size());
    for (index_t i = 0; i < p.in; ++i)
      for (index_t o = 0; o < cg; ++o)
        for (index_t t = 0; t < taps; ++t) permuted_[(i * taps + t) * cg + o] = weight_.values[(i * cg + o) * taps + t];
  }

  /// The output's spatial size for an input of spatial size `in` (3-d).
  std::array<index_t, 3> output_size(const std::array<index_t, 3>& in) const { return geometry(1, in).output(); }

  /// y (batch x output pixels x out, quint8) for x (batch x input pixels x in, quint8).
  void forward(const std::uint8_t* x, float x_scale, std::int32_t x_zero_point, index_t batch,
               const std::array<index_t, 3>& spatial, std::uint8_t* y) {
    if (packed_.empty() || spatial != packed_spatial_) {  // once per input size
      packed_ = kernels::PackedConvTransposeWeights<kernels::arch::best>(geometry(1, spatial), permuted_.data(),
                                                                         weight_.zero_points);
      scratch_.resize(kernels::conv_transpose_scratch_size(packed_));
      packed_spatial_ = spatial;
    }
    const auto& rq = cache_.get(engine_, p_.out, x_scale, weight_.scales, bias_, out_, false);
    rq.with_pipeline(y, p_.out, [&](const auto& pipeline) {
      kernels::conv_transpose(geometry(batch, spatial), x, x_zero_point, packed_, pipeline,
                              std::span<std::byte>(scratch_));
    });
  }

  const QuantizedWeight& weight() const { return weight_; }
  const std::vector<float>& bias() const { return bias_; }
  PerTensorQParams output_qparams() const { return out_; }
  std::size_t parameter_bytes() const {
    return weight_.values.size() + 4 * (weight_.scales.size() + weight_.zero_points.size() + bias_.size());
  }

 private:
  kernels::ConvTransposeGeometry<3> geometry(index_t batch, const std::array<index_t, 3>& spatial) const {
    kernels::ConvTransposeGeometry<3> g;
    g.batch = batch;
    g.input = spatial;
    g.in_channels = p_.in;
    g.out_channels = p_.out;
    g.groups = p_.groups;
    g.kernel = p_.kernel;
    g.stride = p_.stride;
    g.padding = p_.padding;
    g.output_padding = p_.output_padding;
    g.dilation = p_.dilation;
    return g;
  }

  Params p_;
  QuantizedWeight weight_;
  std::vector<std::int8_t> permuted_;
  std::vector<float> bias_;
  PerTensorQParams out_;
  EngineConfig engine_;
  kernels::PackedConvTransposeWeights<kernels::arch::best> packed_;
  std::array<index_t, 3> packed_spatial_{};
  RequantizationCache cache_;
  std::vector<std::byte> scratch_;
};

}  // namespace detail

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t OP, index_t G, index_t D>
class ConvTransposeT : public detail::SpatialLayer<detail::QConvTranspose, R, In, Out> {
  static_assert(R >= 1 && R <= 3, "ctq: nn::quantized::ConvTranspose: 1, 2 or 3 spatial dimensions");

 public:
  static constexpr std::string_view name = "ConvTranspose (quantized)";
  static constexpr index_t in_channels = In, out_channels = Out, groups = G;

  ConvTransposeT() = default;
  /// weight: int8 in PyTorch's layout [In][Out / G][K]...; bias: empty or Out floats.
  ConvTransposeT(QuantizedWeight weight, std::vector<float> bias, PerTensorQParams out, EngineConfig engine)
      : detail::SpatialLayer<detail::QConvTranspose, R, In, Out>(
            detail::QConvTranspose(params(), std::move(weight), std::move(bias), out, engine)) {}

  using ctq::detail::rejects_float::operator();
  template <int XR>
  QActivation<XR> operator()(const QActivation<XR>& x) {
    static_assert(XR == R + 2,
                  "ctq: nn::quantized::ConvTranspose: the input must have rank spatial dims + 2 ([N, spatial..., C])");
    return this->run(x, "nn::quantized::ConvTranspose");
  }

 private:
  static detail::QConvTranspose::Params params() {
    detail::QConvTranspose::Params p;
    p.in = In;
    p.out = Out;
    p.groups = G;
    for (int i = 3 - R; i < 3; ++i) {
      const auto j = static_cast<std::size_t>(i);
      p.kernel[j] = K, p.stride[j] = S, p.padding[j] = P, p.output_padding[j] = OP, p.dilation[j] = D;
    }
    return p;
  }
};

template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          index_t D = 1>
using ConvTranspose1d = ConvTransposeT<1, In, Out, K, S, P, OP, G, D>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          index_t D = 1>
using ConvTranspose2d = ConvTransposeT<2, In, Out, K, S, P, OP, G, D>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          index_t D = 1>
using ConvTranspose3d = ConvTransposeT<3, In, Out, K, S, P, OP, G, D>;

}  // namespace ctq::nn::quantized
