// nn::Conv1d / Conv2d / Conv3d: PyTorch's torch.nn.ConvNd (zero padding) on channels-last
// tensors ([N, L, C], [N, H, W, C], [N, D, H, W, C]); the weight keeps PyTorch's layout
// [Out][In / Groups][k...] so state dicts load unchanged. Float math: im2col and an Eigen GEMM
// per group and image; the backward pass (training) runs the transposed GEMMs and col2im.
#pragma once

#include <algorithm>
#include <array>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "grad.hpp"
#include "init.hpp"
#include "linear.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {

/// A convolution's geometry with 1 or 2 spatial dimensions padded to 3 (leading size-1 dims).
struct ConvShape3 {
  std::array<index_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, p{0, 0, 0}, d{1, 1, 1};
  index_t taps() const { return k[0] * k[1] * k[2]; }
  index_t out_pixels() const { return out[0] * out[1] * out[2]; }
  index_t in_pixels() const { return in[0] * in[1] * in[2]; }
};

/// floor((in + 2 pad - dilation (kernel - 1) - 1) / stride) + 1, as PyTorch; raises if < 1.
inline index_t conv_output_size(index_t in, index_t k, index_t s, index_t p, index_t d, std::string_view op) {
  const index_t span = in + 2 * p - d * (k - 1) - 1;
  if (span < 0) {
    raise(ctq::detail::message() << "ctq: " << op << ": the input (" << in << ") is smaller than the kernel's reach ("
                                 << d * (k - 1) + 1 << ") with padding " << p);
  }
  return span / s + 1;
}

template <int R>
ConvShape3 conv_shape(const Shape<R + 2>& x, index_t k, index_t s, index_t p, index_t d, std::string_view op) {
  ConvShape3 g;
  for (int i = 0; i < R; ++i) {
    const int j = 3 - R + i;
    g.in[j] = x[static_cast<std::size_t>(i + 1)];
    g.k[j] = k;
    g.s[j] = s;
    g.p[j] = p;
    g.d[j] = d;
    g.out[j] = conv_output_size(g.in[j], k, s, p, d, op);
  }
  return g;
}

/// Calls f(out_pixel, tap, in_pixel) for every tap of every output pixel that falls inside the
/// input (pixel indices flat over the spatial dimensions): the one loop of im2col, col2im and the
/// depthwise paths.
template <class F>
void for_each_tap(const ConvShape3& g, F&& f) {
  index_t pixel = 0;
  for (index_t od = 0; od < g.out[0]; ++od)
    for (index_t oh = 0; oh < g.out[1]; ++oh)
      for (index_t ow = 0; ow < g.out[2]; ++ow, ++pixel) {
        index_t tap = 0;
        for (index_t kd = 0; kd < g.k[0]; ++kd)
          for (index_t kh = 0; kh < g.k[1]; ++kh)
            for (index_t kw = 0; kw < g.k[2]; ++kw, ++tap) {
              const index_t id = od * g.s[0] - g.p[0] + kd * g.d[0];
              const index_t ih = oh * g.s[1] - g.p[1] + kh * g.d[1];
              const index_t iw = ow * g.s[2] - g.p[2] + kw * g.d[2];
              if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) continue;
              f(pixel, tap, (id * g.in[1] + ih) * g.in[2] + iw);
            }
      }
}

/// A 1x1 convolution with unit stride, no padding and one group is a Linear layer over every pixel
/// of the batch (channels last): one GEMM, no im2col.
inline bool pointwise(const ConvShape3& g, index_t groups) {
  return groups == 1 && g.taps() == 1 && g.s == std::array<index_t, 3>{1, 1, 1} &&
         g.p == std::array<index_t, 3>{0, 0, 0};
}

/// Columns of one image for one group: col[pixel][ci * taps + tap] (PyTorch's weight order), 0
/// where a tap falls in the padding.
inline void im2col(const float* image, index_t channels, index_t c0, index_t cg, const ConvShape3& g, float* col) {
  const index_t taps = g.taps(), row = cg * taps;
  std::fill_n(col, g.out_pixels() * row, 0.0f);
  for_each_tap(g, [&](index_t p, index_t t, index_t i) {
    const float* src = image + i * channels + c0;
    float* dst = col + p * row;
    for (index_t ci = 0; ci < cg; ++ci) dst[ci * taps + t] = src[ci];
  });
}

/// A depthwise convolution with one output per channel (groups == in == out), direct: per output
/// pixel and tap, one multiply-add across the contiguous channels. im2col would make one tiny
/// GEMM per channel and image. weight: [c][taps]; wt: the same transposed to [taps][c].
inline void depthwise_forward(const float* x, index_t batch, const ConvShape3& g, index_t c, const float* weight,
                              const float* bias, float* y) {
  const index_t taps = g.taps(), pixels = g.out_pixels();
  std::vector<float> wt(static_cast<std::size_t>(taps * c));
  for (index_t ch = 0; ch < c; ++ch)
    for (index_t t = 0; t < taps; ++t) wt[static_cast<std::size_t>(t * c + ch)] = weight[ch * taps + t];
  for (index_t n = 0; n < batch; ++n) {
    const float* image = x + n * g.in_pixels() * c;
    float* dst = y + n * pixels * c;
    for (index_t p = 0; p < pixels; ++p) {
      if (bias != nullptr) {
        std::copy_n(bias, c, dst + p * c);
      } else {
        std::fill_n(dst + p * c, c, 0.0f);
      }
    }
    for_each_tap(g, [&](index_t p, index_t t, index_t i) {
      float* yp = dst + p * c;
      const float* xp = image + i * c;
      const float* wp = wt.data() + t * c;
      for (index_t ch = 0; ch < c; ++ch) yp[ch] += xp[ch] * wp[ch];
    });
  }
}

/// depthwise_forward's backward pass: gx (overwritten), gw [c][taps] and gb (nullptr: no bias)
/// accumulate.
inline void depthwise_backward(const float* x, index_t batch, const ConvShape3& g, index_t c, const float* weight,
                               const float* gy, float* gx, float* gw, float* gb) {
  const index_t taps = g.taps(), pixels = g.out_pixels();
  std::vector<float> wt(static_cast<std::size_t>(taps * c)), gwt(static_cast<std::size_t>(taps * c), 0.0f);
  for (index_t ch = 0; ch < c; ++ch)
    for (index_t t = 0; t < taps; ++t) wt[static_cast<std::size_t>(t * c + ch)] = weight[ch * taps + t];
  std::fill_n(gx, batch * g.in_pixels() * c, 0.0f);
  for (index_t n = 0; n < batch; ++n) {
    const float* image = x + n * g.in_pixels() * c;
    float* gimage = gx + n * g.in_pixels() * c;
    const float* gyn = gy + n * pixels * c;
    for_each_tap(g, [&](index_t p, index_t t, index_t i) {
      const float* gp = gyn + p * c;
      const float* xp = image + i * c;
      const float* wp = wt.data() + t * c;
      float* gxp = gimage + i * c;
      float* gwp = gwt.data() + t * c;
      for (index_t ch = 0; ch < c; ++ch) {
        gxp[ch] += gp[ch] * wp[ch];
        gwp[ch] += gp[ch] * xp[ch];
      }
    });
    if (gb != nullptr) {
      for (index_t p = 0; p < pixels; ++p)
        for (index_t ch = 0; ch < c; ++ch) gb[ch] += gyn[p * c + ch];
    }
  }
  for (index_t ch = 0; ch < c; ++ch)
    for (index_t t = 0; t < taps; ++t) gw[ch * taps + t] += gwt[static_cast<std::size_t>(t * c + ch)];
}

/// The float convolution of a batch of channels-last images (one function for every layer type,
/// so a network of many conv types compiles this code once).
inline void conv_forward(const float* x, index_t batch, const ConvShape3& g, index_t in, index_t out, index_t groups,
                         const float* weight, const float* bias, float* y) {
  if (pointwise(g, groups)) return linear_forward(x, batch * g.in_pixels(), in, out, weight, bias, y);
  if (groups == in && in == out) return depthwise_forward(x, batch, g, in, weight, bias, y);
  const index_t cg = in / groups, og = out / groups, rowlen = cg * g.taps();
  const index_t pixels = g.out_pixels();
  std::vector<float> col(static_cast<std::size_t>(pixels * rowlen));
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  for (index_t n = 0; n < batch; ++n) {
    const float* image = x + n * g.in_pixels() * in;
    float* dst = y + n * pixels * out;
    for (index_t grp = 0; grp < groups; ++grp) {
      im2col(image, in, grp * cg, cg, g, col.data());
      Eigen::Map<const RowMajor> cm(col.data(), pixels, rowlen);
      Eigen::Map<const RowMajor> wm(weight + grp * og * rowlen, og, rowlen);
      Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> ym(dst + grp * og, pixels, og, Eigen::OuterStride<>(out));
      ym.noalias() = cm * wm.transpose();
    }
    if (bias != nullptr) {
      Eigen::Map<RowMajor> ym(dst, pixels, out);
      ym.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, out);
    }
  }
}

/// The adjoint of im2col: adds col[pixel][ci * taps + tap] back onto the image position it was
/// read from (taps in the padding are dropped).
inline void col2im(const float* col, index_t channels, index_t c0, index_t cg, const ConvShape3& g, float* image) {
  const index_t taps = g.taps(), row = cg * taps;
  for_each_tap(g, [&](index_t p, index_t t, index_t i) {
    float* dst = image + i * channels + c0;
    const float* src = col + p * row;
    for (index_t ci = 0; ci < cg; ++ci) dst[ci] += src[ci * taps + t];
  });
}

/// The convolution's backward pass for every layer type: from gy (d loss / d y, [N, out pixels,
/// out]) it writes gx (d loss / d x, overwritten) and adds to gw (the weight's layout) and gb
/// (nullptr: no bias). Per image and group, with col = im2col(x) and W the group's [og, rowlen]
/// weight: gw += gy^T col, gcol = gy W, gx = col2im(gcol).
inline void conv_backward(const float* x, index_t batch, const ConvShape3& g, index_t in, index_t out, index_t groups,
                          const float* weight, const float* gy, float* gx, float* gw, float* gb) {
  if (pointwise(g, groups)) return linear_backward(x, gy, batch * g.in_pixels(), in, out, weight, gw, gb, gx);
  if (groups == in && in == out) return depthwise_backward(x, batch, g, in, weight, gy, gx, gw, gb);
  const index_t cg = in / groups, og = out / groups, rowlen = cg * g.taps();
  const index_t pixels = g.out_pixels();
  std::vector<float> col(static_cast<std::size_t>(pixels * rowlen));
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::fill_n(gx, batch * g.in_pixels() * in, 0.0f);
  for (index_t n = 0; n < batch; ++n) {
    const float* image = x + n * g.in_pixels() * in;
    float* gimage = gx + n * g.in_pixels() * in;
    const float* gimg_y = gy + n * pixels * out;
    for (index_t grp = 0; grp < groups; ++grp) {
      Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>> gym(gimg_y + grp * og, pixels, og, Eigen::OuterStride<>(out));
      Eigen::Map<const RowMajor> wm(weight + grp * og * rowlen, og, rowlen);
      Eigen::Map<RowMajor> gwm(gw + grp * og * rowlen, og, rowlen);
      Eigen::Map<RowMajor> cm(col.data(), pixels, rowlen);
      im2col(image, in, grp * cg, cg, g, col.data());
      gwm.noalias() += gym.transpose() * cm;
      cm.noalias() = gym * wm;
      col2im(col.data(), in, grp * cg, cg, g, gimage);
    }
    if (gb != nullptr) {
      Eigen::Map<const RowMajor> gym(gimg_y, pixels, out);
      Eigen::Map<Eigen::RowVectorXf>(gb, out) += gym.colwise().sum();
    }
  }
}

}  // namespace detail

/// Convolution over R spatial dimensions with square (cubic) kernels: kernel K, stride S,
/// padding P, dilation D, groups G, optional bias.
template <int R, index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true>
class ConvNd : public ctq::detail::rejects_quantized {
  static_assert(R >= 1 && R <= 3, "ctq: nn::Conv: 1, 2 or 3 spatial dimensions");
  static_assert(In >= 1 && Out >= 1 && K >= 1 && S >= 1 && P >= 0 && D >= 1 && G >= 1,
                "ctq: nn::Conv: channels, kernel, stride and dilation must be positive and padding not negative");
  static_assert(In % G == 0 && Out % G == 0, "ctq: nn::Conv: in_channels and out_channels must be divisible by groups");

 public:
  static constexpr std::string_view name = R == 1 ? "Conv1d" : R == 2 ? "Conv2d" : "Conv3d";
  static constexpr int spatial_dims = R;
  static constexpr index_t in_channels = In, out_channels = Out, kernel_size = K, stride = S, padding = P, dilation = D,
                           groups = G;
  static constexpr bool has_bias = Bias;
  static constexpr index_t taps = K * (R >= 2 ? K : 1) * (R >= 3 ? K : 1);

  ConvNd() : weight(weight_shape()), bias(Bias ? Shape<1>{Out} : Shape<1>{0}) {}

  static Shape<R + 2> weight_shape() {
    Shape<R + 2> s{};
    s[0] = Out;
    s[1] = In / G;
    for (int i = 0; i < R; ++i) s[static_cast<std::size_t>(i + 2)] = K;
    return s;
  }
  /// The output shape for input shape x (channels last).
  static Shape<R + 2> output_shape(const Shape<R + 2>& x) {
    const auto g = detail::conv_shape<R>(x, K, S, P, D, name);
    Shape<R + 2> y = x;
    for (int i = 0; i < R; ++i) y[static_cast<std::size_t>(i + 1)] = g.out[static_cast<std::size_t>(3 - R + i)];
    y[R + 1] = Out;
    return y;
  }

  using ctq::detail::rejects_quantized::operator();
  template <int XR>
  Tensor<float, XR> operator()(const Tensor<float, XR>& x) const {
    static_assert(XR == R + 2, "ctq: nn::Conv: the input must have rank spatial dims + 2 ([N, spatial..., C])");
    if (x.dim(R + 1) != In) {
      raise(ctq::detail::message() << "ctq: nn::" << name << ": the input has " << x.dim(R + 1)
                                   << " channels (last dimension), the layer has in_channels " << In);
    }
    const auto g = detail::conv_shape<R>(x.shape(), K, S, P, D, name);
    Tensor<float, XR> y(output_shape(x.shape()));
    detail::conv_forward(x.data(), x.dim(0), g, In, Out, G, weight.data(), Bias ? bias.data() : nullptr, y.data());
    if (training) saved_input_.assign(x);
    return y;
  }

  /// d loss / d x from g = d loss / d y of the last forward pass in training mode; adds to
  /// weight_grad and bias_grad.
  DynTensor backward(const DynTensor& g) {
    detail::check_saved(saved_input_, name);
    const auto xs = saved_input_.shape_as<R + 2>(name);
    const auto ys = output_shape(xs);
    detail::check_grad_shape(g, std::span<const index_t>(ys.data(), ys.size()), name);
    detail::ensure_grad(weight_grad, weight);
    if constexpr (Bias) detail::ensure_grad(bias_grad, bias);
    DynTensor gx(saved_input_.shape());
    detail::conv_backward(saved_input_.data(), xs[0], detail::conv_shape<R>(xs, K, S, P, D, name), In, Out, G,
                          weight.data(), g.data(), gx.data(), weight_grad.data(), Bias ? bias_grad.data() : nullptr);
    return gx;
  }

  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view{"weight"}, weight, weight_grad);
    if constexpr (Bias) f(std::string_view{"bias"}, bias, bias_grad);
  }

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight"}, weight);
    if constexpr (Bias) f(std::string_view{"bias"}, bias);
  }
  void reset_parameters(std::mt19937& g) {
    detail::fill_uniform_fan_in(weight, In / G * taps, g);
    if constexpr (Bias) detail::fill_uniform_fan_in(bias, In / G * taps, g);
  }

  Tensor<float, R + 2> weight;       ///< [Out][In / G][K]... (PyTorch's layout)
  Tensor<float, 1> bias;             ///< empty when Bias is false
  Tensor<float, R + 2> weight_grad;  ///< d loss / d weight, accumulated by backward (empty until then)
  Tensor<float, 1> bias_grad;        ///< d loss / d bias (empty without a bias)
  bool training = false;             ///< nn::train sets it: forward keeps its input for backward

 private:
  mutable DynTensor saved_input_;
};

template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true>
using Conv1d = ConvNd<1, In, Out, K, S, P, D, G, Bias>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true>
using Conv2d = ConvNd<2, In, Out, K, S, P, D, G, Bias>;
template <index_t In, index_t Out, index_t K, index_t S = 1, index_t P = 0, index_t D = 1, index_t G = 1,
          bool Bias = true>
using Conv3d = ConvNd<3, In, Out, K, S, P, D, G, Bias>;

}  // namespace ctq::nn
