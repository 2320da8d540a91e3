// nn::ConvTranspose1d / 2d / 3d: PyTorch's torch.nn.ConvTransposeNd (zero padding) on channels-last
// tensors ([N, L, C], [N, H, W, C], [N, D, H, W, C]), template arguments in PyTorch's order (in, out,
// kernel, stride, padding, output_padding, groups, bias, dilation); the weight keeps PyTorch's
// layout [In][Out / Groups][k...] so state dicts load unchanged. Float math: per image and group an
// Eigen GEMM of the input pixels with the weights, scattered onto the outputs each tap reaches.
#pragma once

#include <algorithm>
#include <array>
#include <random>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "init.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {

/// A transposed convolution's geometry with 1 or 2 spatial dimensions padded to 3 (leading
/// size-1 dims).
struct ConvTransposeShape3 {
  std::array<index_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, p{0, 0, 0}, op{0, 0, 0}, d{1, 1, 1};
  index_t taps() const { return k[0] * k[1] * k[2]; }
  index_t in_pixels() const { return in[0] * in[1] * in[2]; }
  index_t out_pixels() const { return out[0] * out[1] * out[2]; }
};

/// (in - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1, as PyTorch; raises
/// if the input is empty or the output would be.
inline index_t conv_transpose_output_size(index_t in, index_t k, index_t s, index_t p, index_t op, index_t d,
                                          std::string_view name) {
  const index_t out = (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
  if (in < 1 || out < 1) {
    raise(ctq::detail::message() << "ctq: nn::" << name << ": an input of size " << in << " gives an output of size "
                                 << out << " (padding " << p << " is too large for it)");
  }
  return out;
}

template <int R>
ConvTransposeShape3 conv_transpose_shape(const Shape<R + 2>& x, index_t k, index_t s, index_t p, index_t op, index_t d,
                                         std::string_view name) {
  ConvTransposeShape3 g;
  for (int i = 0; i < R; ++i) {
    const auto j = static_cast<std::size_t>(3 - R + i);
    g.in[j] = x[static_cast<std::size_t>(i + 1)];
    g.k[j] = k, g.s[j] = s, g.p[j] = p, g.op[j] = op, g.d[j] = d;
    g.out[j] = conv_transpose_output_size(g.in[j], k, s, p, op, d, name);
  }
  return g;
}

/// The float transposed convolution of a batch of channels-last images (one function for every
/// layer type). Per image and group: cols[input pixel][oc * taps + tap] = x_g * w_g (w_g: the
/// group's [In / G][Out / G * taps] rows of PyTorch's weight), then every column added to the
/// output pixel its tap reaches, o = i * stride - padding + k * dilation.
inline void conv_transpose_forward(const float* x, index_t batch, const ConvTransposeShape3& g, index_t in, index_t out,
                                   index_t groups, const float* weight, const float* bias, float* y) {
  const index_t cg = in / groups, og = out / groups, taps = g.taps(), width = og * taps;
  const index_t in_pixels = g.in_pixels(), out_pixels = g.out_pixels();
  std::vector<float> cols(static_cast<std::size_t>(in_pixels * width));
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  for (index_t n = 0; n < batch; ++n) {
    const float* image = x + n * in_pixels * in;
    float* dst = y + n * out_pixels * out;
    if (bias != nullptr) {
      for (index_t p = 0; p < out_pixels; ++p) std::copy_n(bias, out, dst + p * out);
    } else {
      std::fill_n(dst, out_pixels * out, 0.0f);
    }
    for (index_t grp = 0; grp < groups; ++grp) {
      Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>> xm(image + grp * cg, in_pixels, cg, Eigen::OuterStride<>(in));
      Eigen::Map<const RowMajor> wm(weight + grp * cg * width, cg, width);
      Eigen::Map<RowMajor> cm(cols.data(), in_pixels, width);
      cm.noalias() = xm * wm;
      index_t ip = 0;
      for (index_t id = 0; id < g.in[0]; ++id)
        for (index_t ih = 0; ih < g.in[1]; ++ih)
          for (index_t iw = 0; iw < g.in[2]; ++iw, ++ip) {
            const float* col = cols.data() + ip * width;
            index_t tap = 0;
            for (index_t kd = 0; kd < g.k[0]; ++kd)
              for (index_t kh = 0; kh < g.k[1]; ++kh)
                for (index_t kw = 0; kw < g.k[2]; ++kw, ++tap) {
                  const index_t od = id * g.s[0] - g.p[0] + kd * g.d[0];
                  const index_t oh = ih * g.s[1] - g.p[1] + kh * g.d[1];
                  const index_t ow = iw * g.s[2] - g.p[2] + kw * g.d[2];
                  if (od < 0 || od >= g.out[0] || oh < 0 || oh >= g.out[1] || ow < 0 || ow >= g.out[2]) continue;
                  float* o = dst + ((od * g.out[1] + oh) * g.out[2] + ow) * out + grp * og;
                  for (index_t c = 0; c < og; ++c) o[c] += col[c * taps + tap];
                }
          }
    }
  }
}

}  // namespace detail

/// Transposed convolution over R spatial dimensions with square (cubic) kernels: kernel K, stride
/// S, padding P, output padding OP, groups G, optional bias, dilation D (PyTorch's order).
template <int R, index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1>
class ConvTransposeNd : public ctq::detail::rejects_quantized {
  static_assert(R >= 1 && R <= 3, "ctq: nn::ConvTranspose: 1, 2 or 3 spatial dimensions");
  static_assert(In >= 1 && Out >= 1 && K >= 1 && S >= 1 && D >= 1 && G >= 1 && P >= 0 && OP >= 0,
                "ctq: nn::ConvTranspose: channels, kernel, stride, dilation and groups must be positive, padding and "
                "output_padding not negative");
  static_assert(In % G == 0 && Out % G == 0,
                "ctq: nn::ConvTranspose: in_channels and out_channels must be divisible by groups");
  static_assert(OP < S || OP < D,
                "ctq: nn::ConvTranspose: output_padding must be smaller than either stride or dilation (as in "
                "PyTorch)");

 public:
  static constexpr std::string_view name = R == 1 ? "ConvTranspose1d" : R == 2 ? "ConvTranspose2d" : "ConvTranspose3d";
  static constexpr int spatial_dims = R;
  static constexpr index_t in_channels = In, out_channels = Out, kernel_size = K, stride = S, padding = P,
                           output_padding = OP, groups = G, dilation = D;
  static constexpr bool has_bias = Bias;
  static constexpr index_t taps = K * (R >= 2 ? K : 1) * (R >= 3 ? K : 1);

  ConvTransposeNd() : weight(weight_shape()), bias(Bias ? Shape<1>{Out} : Shape<1>{0}) {}

  static Shape<R + 2> weight_shape() {
    Shape<R + 2> s{};
    s[0] = In;
    s[1] = Out / G;
    for (int i = 0; i < R; ++i) s[static_cast<std::size_t>(i + 2)] = K;
    return s;
  }
  /// The output shape for input shape x (channels last).
  static Shape<R + 2> output_shape(const Shape<R + 2>& x) {
    const auto g = detail::conv_transpose_shape<R>(x, K, S, P, OP, D, name);
    Shape<R + 2> y = x;
    for (int i = 0; i < R; ++i) y[static_cast<std::size_t>(i + 1)] = g.out[static_cast<std::size_t>(3 - R + i)];
    y[R + 1] = Out;
    return y;
  }

  using ctq::detail::rejects_quantized::operator();
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) const {
    static_assert(XR == R + 2,
                  "ctq: nn::ConvTranspose: the input must have rank spatial dims + 2 ([N, spatial..., C])");
    if (x.dim(R + 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::" << name << ": the input has " << x.dim(R + 1)
                                   << " channels (last dimension), the layer has in_channels " << In);
    }
    const auto g = detail::conv_transpose_shape<R>(x.shape(), K, S, P, OP, D, name);
    Tensor<float, XR> y(output_shape(x.shape()));
    detail::conv_transpose_forward(x.data(), x.dim(0), g, In, Out, G, weight.data(), Bias ? bias.data() : nullptr,
                                   y.data());
    return y;
  }

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight"}, weight);
    if constexpr (Bias) f(std::string_view{"bias"}, bias);
  }
  /// PyTorch's initialisation: its fan_in is the weight's dimension 1 times the taps, Out / G *
  /// taps for a transposed convolution.
  void reset_parameters(std::mt19937& g) {
    detail::fill_uniform_fan_in(weight, Out / G * taps, g);
    if constexpr (Bias) detail::fill_uniform_fan_in(bias, Out / G * taps, g);
  }

  Tensor<float, R + 2> weight;  ///< [In][Out / G][K]... (PyTorch's layout)
  Tensor<float, 1> bias;        ///< empty when Bias is false
};

template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1>
using ConvTranspose1d = ConvTransposeNd<1, In, Out, K, S, P, OP, G, Bias, D>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1>
using ConvTranspose2d = ConvTransposeNd<2, In, Out, K, S, P, OP, G, Bias, D>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t OP = 0, index_t G = 1,
          bool Bias = true, index_t D = 1>
using ConvTranspose3d = ConvTransposeNd<3, In, Out, K, S, P, OP, G, Bias, D>;

}  // namespace ctq::nn
