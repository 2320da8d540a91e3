// Float pooling on channels-last tensors, [N, H, W, C] and [N, L, C]: MaxPool1d/2d, AvgPool1d/2d,
// AdaptiveAvgPool1d/2d (PyTorch's torch.nn modules; stride 0 means "the kernel size", as
// PyTorch's stride=None). The loops take the window at run time (one copy for every layer type).
// In training mode (nn::train) each module keeps what its backward pass needs: the input's shape
// and, for max pooling, the position of each window's maximum.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "../core/detail/window.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "grad.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {

/// A pooling window over an [N, H, W, C] buffer (1-d pooling: H = 1, kernel height 1).
struct Window {
  index_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool ceil_mode = false, count_include_pad = true;
};

inline index_t window_out(index_t in, index_t k, index_t p, index_t s, index_t d, bool ceil, std::string_view op) {
  const index_t o = ctq::detail::pooling_output_size(in, k, p, s, d, ceil);
  if (o < 1) raise(ctq::detail::message() << "ctq: nn::" << op << ": the input (" << in << ") is too small");
  return o;
}

inline Shape<4> window_shape(const Shape<4>& x, const Window& w, std::string_view op) {
  if (x[1] < 1 || x[2] < 1 || x[3] < 1) {
    raise(ctq::detail::message() << "ctq: nn::" << op << ": the input needs spatial sizes and channels >= 1");
  }
  return {x[0], window_out(x[1], w.kh, w.ph, w.sh, w.dh, w.ceil_mode, op),
          window_out(x[2], w.kw, w.pw, w.sw, w.dw, w.ceil_mode, op), x[3]};
}

/// Max pooling of x [n, h, w, c] into y [n, oh, ow, c] (NaN propagates, as in PyTorch). With
/// argmax (one per output), also the flat index into x of each maximum: the first in scan order
/// on ties, the window's first position inside the input when all it holds is -inf, as PyTorch.
inline void max_pool(const float* x, const Shape<4>& in, const Window& win, float* y, const Shape<4>& out,
                     index_t* argmax = nullptr) {
  const index_t h = in[1], w = in[2], c = in[3];
  for (index_t n = 0; n < out[0]; ++n)
    for (index_t oy = 0; oy < out[1]; ++oy)
      for (index_t ox = 0; ox < out[2]; ++ox, y += c) {
        std::fill_n(y, c, -std::numeric_limits<float>::infinity());
        if (argmax != nullptr) std::fill_n(argmax, c, index_t{-1});
        for (index_t ky = 0; ky < win.kh; ++ky)
          for (index_t kx = 0; kx < win.kw; ++kx) {
            const index_t iy = oy * win.sh - win.ph + ky * win.dh, ix = ox * win.sw - win.pw + kx * win.dw;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const index_t base = ((n * h + iy) * w + ix) * c;
            const float* src = x + base;
            if (argmax == nullptr) {
              for (index_t ch = 0; ch < c; ++ch) {
                if (src[ch] > y[ch] || std::isnan(src[ch])) y[ch] = src[ch];
              }
            } else {
              for (index_t ch = 0; ch < c; ++ch) {
                if (src[ch] > y[ch] || std::isnan(src[ch]) || argmax[ch] < 0) {
                  y[ch] = src[ch];
                  argmax[ch] = base + ch;
                }
              }
            }
          }
        if (argmax != nullptr) argmax += c;
      }
}

/// Max pooling's backward: each output's gradient goes to the input that was its maximum.
inline void max_pool_backward(std::span<const index_t> argmax, const float* g, float* gx) {
  for (std::size_t i = 0; i < argmax.size(); ++i) {
    if (argmax[i] >= 0) gx[argmax[i]] += g[i];
  }
}

/// Average pooling; with count_include_pad the divisor is the window clipped to the padded input.
inline void avg_pool(const float* x, const Shape<4>& in, const Window& win, float* y, const Shape<4>& out) {
  const index_t h = in[1], w = in[2], c = in[3];
  for (index_t n = 0; n < out[0]; ++n)
    for (index_t oy = 0; oy < out[1]; ++oy)
      for (index_t ox = 0; ox < out[2]; ++ox, y += c) {
        index_t y0 = oy * win.sh - win.ph, x0 = ox * win.sw - win.pw;
        index_t y1 = std::min(y0 + win.kh, h + win.ph), x1 = std::min(x0 + win.kw, w + win.pw);
        const index_t padded = (y1 - y0) * (x1 - x0);
        y0 = std::max<index_t>(y0, 0), x0 = std::max<index_t>(x0, 0);
        y1 = std::min(y1, h), x1 = std::min(x1, w);
        const index_t divisor = win.count_include_pad ? padded : (y1 - y0) * (x1 - x0);
        std::fill_n(y, c, 0.0f);
        for (index_t iy = y0; iy < y1; ++iy)
          for (index_t ix = x0; ix < x1; ++ix) {
            const float* src = x + ((n * h + iy) * w + ix) * c;
            for (index_t ch = 0; ch < c; ++ch) y[ch] += src[ch];
          }
        for (index_t ch = 0; ch < c; ++ch) y[ch] /= static_cast<float>(divisor);
      }
}

/// Average pooling's backward: g / divisor to every input in the window (the forward's divisor).
inline void avg_pool_backward(const float* g, const Shape<4>& in, const Window& win, float* gx, const Shape<4>& out) {
  const index_t h = in[1], w = in[2], c = in[3];
  std::vector<float> share(static_cast<std::size_t>(c));
  for (index_t n = 0; n < out[0]; ++n)
    for (index_t oy = 0; oy < out[1]; ++oy)
      for (index_t ox = 0; ox < out[2]; ++ox, g += c) {
        index_t y0 = oy * win.sh - win.ph, x0 = ox * win.sw - win.pw;
        index_t y1 = std::min(y0 + win.kh, h + win.ph), x1 = std::min(x0 + win.kw, w + win.pw);
        const index_t padded = (y1 - y0) * (x1 - x0);
        y0 = std::max<index_t>(y0, 0), x0 = std::max<index_t>(x0, 0);
        y1 = std::min(y1, h), x1 = std::min(x1, w);
        const index_t divisor = win.count_include_pad ? padded : (y1 - y0) * (x1 - x0);
        for (index_t ch = 0; ch < c; ++ch) share[static_cast<std::size_t>(ch)] = g[ch] / static_cast<float>(divisor);
        for (index_t iy = y0; iy < y1; ++iy)
          for (index_t ix = x0; ix < x1; ++ix) {
            float* dst = gx + ((n * h + iy) * w + ix) * c;
            for (index_t ch = 0; ch < c; ++ch) dst[ch] += share[static_cast<std::size_t>(ch)];
          }
      }
}

/// Adaptive average pooling to out[1] x out[2] bins (PyTorch's bin edges).
inline void adaptive_avg_pool(const float* x, const Shape<4>& in, float* y, const Shape<4>& out) {
  const index_t h = in[1], w = in[2], c = in[3];
  for (index_t n = 0; n < out[0]; ++n)
    for (index_t oy = 0; oy < out[1]; ++oy)
      for (index_t ox = 0; ox < out[2]; ++ox, y += c) {
        const index_t y0 = ctq::detail::adaptive_start(oy, out[1], h), y1 = ctq::detail::adaptive_end(oy, out[1], h);
        const index_t x0 = ctq::detail::adaptive_start(ox, out[2], w), x1 = ctq::detail::adaptive_end(ox, out[2], w);
        std::fill_n(y, c, 0.0f);
        for (index_t iy = y0; iy < y1; ++iy)
          for (index_t ix = x0; ix < x1; ++ix) {
            const float* src = x + ((n * h + iy) * w + ix) * c;
            for (index_t ch = 0; ch < c; ++ch) y[ch] += src[ch];
          }
        const auto count = static_cast<float>((y1 - y0) * (x1 - x0));
        for (index_t ch = 0; ch < c; ++ch) y[ch] /= count;
      }
}

/// Adaptive average pooling's backward: g / bin size to every input in the bin.
inline void adaptive_avg_pool_backward(const float* g, const Shape<4>& in, float* gx, const Shape<4>& out) {
  const index_t h = in[1], w = in[2], c = in[3];
  std::vector<float> share(static_cast<std::size_t>(c));
  for (index_t n = 0; n < out[0]; ++n)
    for (index_t oy = 0; oy < out[1]; ++oy)
      for (index_t ox = 0; ox < out[2]; ++ox, g += c) {
        const index_t y0 = ctq::detail::adaptive_start(oy, out[1], h), y1 = ctq::detail::adaptive_end(oy, out[1], h);
        const index_t x0 = ctq::detail::adaptive_start(ox, out[2], w), x1 = ctq::detail::adaptive_end(ox, out[2], w);
        const auto count = static_cast<float>((y1 - y0) * (x1 - x0));
        for (index_t ch = 0; ch < c; ++ch) share[static_cast<std::size_t>(ch)] = g[ch] / count;
        for (index_t iy = y0; iy < y1; ++iy)
          for (index_t ix = x0; ix < x1; ++ix) {
            float* dst = gx + ((n * h + iy) * w + ix) * c;
            for (index_t ch = 0; ch < c; ++ch) dst[ch] += share[static_cast<std::size_t>(ch)];
          }
      }
}

inline Shape<4> as_image(const Shape<3>& s) { return {s[0], 1, s[1], s[2]}; }
inline Shape<3> as_sequence(const Shape<4>& s) { return {s[0], s[2], s[3]}; }
inline Shape<4> as_image(const Shape<4>& s) { return s; }

/// What a pooling module's training-mode forward keeps for backward: the input's shape and, for
/// max pooling, the argmax of each output (flat index into the input; -1: none).
struct PoolSaved {
  std::array<index_t, 4> shape{};
  int rank = 0;  // 0: nothing saved
  std::vector<index_t> argmax;

  template <std::size_t R>
  void keep(const std::array<index_t, R>& in) {
    std::copy_n(in.begin(), R, shape.begin());
    rank = static_cast<int>(R);
  }
  /// Keeps the input shape and returns the argmax buffer for `outputs` values.
  template <std::size_t R>
  index_t* keep_argmax(const std::array<index_t, R>& in, index_t outputs) {
    keep(in);
    argmax.assign(static_cast<std::size_t>(outputs), -1);
    return argmax.data();
  }
  /// The saved input shape; raises when no training-mode forward saved one.
  template <int R>
  Shape<R> input(std::string_view module) const {
    if (rank != R) check_saved(DynTensor{}, module);
    Shape<R> s{};
    std::copy_n(shape.begin(), R, s.begin());
    return s;
  }
};

/// The checks every pooling backward makes; returns the zero gradient of the saved input's shape.
template <std::size_t R>
DynTensor pool_grad_input(const std::array<index_t, R>& in, const std::array<index_t, R>& out, const DynTensor& g,
                          std::string_view module) {
  check_grad_shape(g, std::span<const index_t>(out.data(), out.size()), module);
  return DynTensor(std::span<const index_t>(in.data(), in.size()));
}

}  // namespace detail

template <index_t K, index_t S = 0, index_t P = 0, index_t D = 1, bool CeilMode = false>
struct MaxPool2d : ctq::detail::rejects_quantized {
  static_assert(
      K >= 1 && S >= 0 && D >= 1 && P >= 0 && 2 * P <= K,
      "ctq: nn::MaxPool2d: kernel >= 1, stride >= 0 (0: the kernel), dilation >= 1, 0 <= padding <= kernel/2");
  static constexpr std::string_view name = "MaxPool2d";
  static constexpr index_t kernel_size = K, stride = S == 0 ? K : S, padding = P, dilation = D;
  static constexpr bool ceil_mode = CeilMode;
  static constexpr detail::Window window{K, K, stride, stride, P, P, D, D, CeilMode, true};

  static Shape<4> output_shape(const Shape<4>& x) { return detail::window_shape(x, window, name); }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const {
    Tensor<float, 4> y(output_shape(x.shape()));
    index_t* argmax = training ? saved_.keep_argmax(x.shape(), y.size()) : nullptr;
    detail::max_pool(x.data(), x.shape(), window, y.data(), y.shape(), argmax);
    return y;
  }
  /// d loss / d x: each output's gradient to its window's maximum of the last training forward.
  DynTensor backward(const DynTensor& g) const {
    const auto in = saved_.input<4>(name);
    DynTensor gx = detail::pool_grad_input(in, output_shape(in), g, name);
    detail::max_pool_backward(saved_.argmax, g.data(), gx.data());
    return gx;
  }

  bool training = false;  ///< nn::train sets it: forward keeps the maxima's positions

 private:
  mutable detail::PoolSaved saved_;
};

template <index_t K, index_t S = 0, index_t P = 0, bool CeilMode = false, bool CountIncludePad = true>
struct AvgPool2d : ctq::detail::rejects_quantized {
  static_assert(K >= 1 && S >= 0 && P >= 0 && 2 * P <= K,
                "ctq: nn::AvgPool2d: kernel >= 1, stride >= 0 (0: the kernel), 0 <= padding <= kernel/2");
  static constexpr std::string_view name = "AvgPool2d";
  static constexpr index_t kernel_size = K, stride = S == 0 ? K : S, padding = P;
  static constexpr bool ceil_mode = CeilMode, count_include_pad = CountIncludePad;
  static constexpr detail::Window window{K, K, stride, stride, P, P, 1, 1, CeilMode, CountIncludePad};

  static Shape<4> output_shape(const Shape<4>& x) { return detail::window_shape(x, window, name); }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const {
    Tensor<float, 4> y(output_shape(x.shape()));
    detail::avg_pool(x.data(), x.shape(), window, y.data(), y.shape());
    if (training) saved_.keep(x.shape());
    return y;
  }
  /// d loss / d x: each output's gradient shared over its window (the forward's divisor).
  DynTensor backward(const DynTensor& g) const {
    const auto in = saved_.input<4>(name);
    const auto out = output_shape(in);
    DynTensor gx = detail::pool_grad_input(in, out, g, name);
    detail::avg_pool_backward(g.data(), in, window, gx.data(), out);
    return gx;
  }

  bool training = false;  ///< nn::train sets it: forward keeps the input's shape

 private:
  mutable detail::PoolSaved saved_;
};

template <index_t OH, index_t OW = OH>
struct AdaptiveAvgPool2d : ctq::detail::rejects_quantized {
  static_assert(OH >= 1 && OW >= 1, "ctq: nn::AdaptiveAvgPool2d: the output size must be at least 1 x 1");
  static constexpr std::string_view name = "AdaptiveAvgPool2d";
  static constexpr index_t output_h = OH, output_w = OW;

  static Shape<4> output_shape(const Shape<4>& x) {
    if (x[1] < 1 || x[2] < 1 || x[3] < 1)
      raise("ctq: nn::AdaptiveAvgPool2d: the input [N, H, W, C] needs H, W, C >= 1");
    return {x[0], OH, OW, x[3]};
  }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const {
    Tensor<float, 4> y(output_shape(x.shape()));
    detail::adaptive_avg_pool(x.data(), x.shape(), y.data(), y.shape());
    if (training) saved_.keep(x.shape());
    return y;
  }
  /// d loss / d x: each output's gradient shared over its bin.
  DynTensor backward(const DynTensor& g) const {
    const auto in = saved_.input<4>(name);
    const auto out = output_shape(in);
    DynTensor gx = detail::pool_grad_input(in, out, g, name);
    detail::adaptive_avg_pool_backward(g.data(), in, gx.data(), out);
    return gx;
  }

  bool training = false;  ///< nn::train sets it: forward keeps the input's shape

 private:
  mutable detail::PoolSaved saved_;
};

/// 1-d pooling over L of [N, L, C] (PyTorch's MaxPool1d on [N, C, L]).
template <index_t K, index_t S = 0, index_t P = 0, index_t D = 1, bool CeilMode = false>
struct MaxPool1d : ctq::detail::rejects_quantized {
  static_assert(
      K >= 1 && S >= 0 && D >= 1 && P >= 0 && 2 * P <= K,
      "ctq: nn::MaxPool1d: kernel >= 1, stride >= 0 (0: the kernel), dilation >= 1, 0 <= padding <= kernel/2");
  static constexpr std::string_view name = "MaxPool1d";
  static constexpr index_t kernel_size = K, stride = S == 0 ? K : S, padding = P, dilation = D;
  static constexpr bool ceil_mode = CeilMode;
  static constexpr detail::Window window{1, K, 1, stride, 0, P, 1, D, CeilMode, true};

  static Shape<3> output_shape(const Shape<3>& x) {
    return detail::as_sequence(detail::window_shape(detail::as_image(x), window, name));
  }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 3> operator()(const Tensor<float, 3>& x) const {
    Tensor<float, 3> y(output_shape(x.shape()));
    index_t* argmax = training ? saved_.keep_argmax(x.shape(), y.size()) : nullptr;
    detail::max_pool(x.data(), detail::as_image(x.shape()), window, y.data(), detail::as_image(y.shape()), argmax);
    return y;
  }
  /// d loss / d x: each output's gradient to its window's maximum of the last training forward.
  DynTensor backward(const DynTensor& g) const {
    const auto in = saved_.input<3>(name);
    DynTensor gx = detail::pool_grad_input(in, output_shape(in), g, name);
    detail::max_pool_backward(saved_.argmax, g.data(), gx.data());
    return gx;
  }

  bool training = false;  ///< nn::train sets it: forward keeps the maxima's positions

 private:
  mutable detail::PoolSaved saved_;
};

template <index_t K, index_t S = 0, index_t P = 0, bool CeilMode = false, bool CountIncludePad = true>
struct AvgPool1d : ctq::detail::rejects_quantized {
  static_assert(K >= 1 && S >= 0 && P >= 0 && 2 * P <= K,
                "ctq: nn::AvgPool1d: kernel >= 1, stride >= 0 (0: the kernel), 0 <= padding <= kernel/2");
  static constexpr std::string_view name = "AvgPool1d";
  static constexpr index_t kernel_size = K, stride = S == 0 ? K : S, padding = P;
  static constexpr bool ceil_mode = CeilMode, count_include_pad = CountIncludePad;
  static constexpr detail::Window window{1, K, 1, stride, 0, P, 1, 1, CeilMode, CountIncludePad};

  static Shape<3> output_shape(const Shape<3>& x) {
    return detail::as_sequence(detail::window_shape(detail::as_image(x), window, name));
  }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 3> operator()(const Tensor<float, 3>& x) const {
    Tensor<float, 3> y(output_shape(x.shape()));
    detail::avg_pool(x.data(), detail::as_image(x.shape()), window, y.data(), detail::as_image(y.shape()));
    if (training) saved_.keep(x.shape());
    return y;
  }
  /// d loss / d x: each output's gradient shared over its window (the forward's divisor).
  DynTensor backward(const DynTensor& g) const {
    const auto in = saved_.input<3>(name);
    const auto out = output_shape(in);
    DynTensor gx = detail::pool_grad_input(in, out, g, name);
    detail::avg_pool_backward(g.data(), detail::as_image(in), window, gx.data(), detail::as_image(out));
    return gx;
  }

  bool training = false;  ///< nn::train sets it: forward keeps the input's shape

 private:
  mutable detail::PoolSaved saved_;
};

template <index_t O>
struct AdaptiveAvgPool1d : ctq::detail::rejects_quantized {
  static_assert(O >= 1, "ctq: nn::AdaptiveAvgPool1d: the output size must be at least 1");
  static constexpr std::string_view name = "AdaptiveAvgPool1d";
  static constexpr index_t output_size = O;

  static Shape<3> output_shape(const Shape<3>& x) {
    if (x[1] < 1 || x[2] < 1) raise("ctq: nn::AdaptiveAvgPool1d: the input [N, L, C] needs L, C >= 1");
    return {x[0], O, x[2]};
  }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 3> operator()(const Tensor<float, 3>& x) const {
    Tensor<float, 3> y(output_shape(x.shape()));
    detail::adaptive_avg_pool(x.data(), detail::as_image(x.shape()), y.data(), detail::as_image(y.shape()));
    if (training) saved_.keep(x.shape());
    return y;
  }
  /// d loss / d x: each output's gradient shared over its bin.
  DynTensor backward(const DynTensor& g) const {
    const auto in = saved_.input<3>(name);
    const auto out = output_shape(in);
    DynTensor gx = detail::pool_grad_input(in, out, g, name);
    detail::adaptive_avg_pool_backward(g.data(), detail::as_image(in), gx.data(), detail::as_image(out));
    return gx;
  }

  bool training = false;  ///< nn::train sets it: forward keeps the input's shape

 private:
  mutable detail::PoolSaved saved_;
};

namespace detail {
/// The flat index order of PyTorch's flatten(1) on the NCHW tensor of a channels-last buffer:
/// element (n, pixel, c) of x goes to (n, c * pixels + pixel). Works on any element type.
template <class T>
void flatten_channels_first(const T* x, index_t batch, index_t pixels, index_t channels, T* y) {
  for (index_t n = 0; n < batch; ++n) {
    const T* src = x + n * pixels * channels;
    T* dst = y + n * pixels * channels;
    for (index_t p = 0; p < pixels; ++p)
      for (index_t c = 0; c < channels; ++c) dst[c * pixels + p] = src[p * channels + c];
  }
}
/// The inverse of flatten_channels_first: element (n, c * pixels + pixel) of y goes to
/// (n, pixel, c) of x.
template <class T>
void unflatten_channels_first(const T* y, index_t batch, index_t pixels, index_t channels, T* x) {
  for (index_t n = 0; n < batch; ++n) {
    const T* src = y + n * pixels * channels;
    T* dst = x + n * pixels * channels;
    for (index_t p = 0; p < pixels; ++p)
      for (index_t c = 0; c < channels; ++c) dst[p * channels + c] = src[c * pixels + p];
  }
}
}  // namespace detail

/// PyTorch's nn.Flatten() (start_dim 1): [N, spatial..., C] -> [N, C * spatial], in PyTorch's
/// channel-major order, so a Linear layer's weights loaded from PyTorch apply unchanged.
struct Flatten : ctq::detail::rejects_quantized {
  static constexpr std::string_view name = "Flatten";
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, 2> operator()(const Tensor<float, R>& x) const {
    static_assert(R >= 2, "ctq: nn::Flatten: the input needs a batch dimension and at least one more");
    const index_t batch = x.dim(0), channels = x.dim(R - 1);
    const index_t features = batch == 0 ? 0 : x.size() / batch;
    Tensor<float, 2> y({batch, features});
    if (channels > 0) detail::flatten_channels_first(x.data(), batch, features / channels, channels, y.data());
    if constexpr (R <= DynTensor::max_rank) {
      if (training) {
        std::copy_n(x.shape().begin(), R, in_shape_.begin());
        in_rank_ = R;
      }
    } else if (training) {
      raise("ctq: nn::Flatten: training supports inputs of rank 6 at most");
    }
    return y;
  }
  /// d loss / d x: the gradient [N, C * spatial] back in the last training input's shape and
  /// channels-last order.
  DynTensor backward(const DynTensor& g) const {
    if (in_rank_ == 0) detail::check_saved(DynTensor{}, name);
    const std::span<const index_t> in(in_shape_.data(), static_cast<std::size_t>(in_rank_));
    const index_t batch = in[0], channels = in.back();
    index_t features = batch == 0 ? 0 : 1;
    for (std::size_t i = 1; i < in.size(); ++i) features *= in[i];
    const index_t out[2] = {batch, features};
    detail::check_grad_shape(g, out, name);
    DynTensor gx(in);
    if (channels > 0) detail::unflatten_channels_first(g.data(), batch, features / channels, channels, gx.data());
    return gx;
  }

  bool training = false;  ///< nn::train sets it: forward keeps the input's shape

 private:
  mutable std::array<index_t, DynTensor::max_rank> in_shape_{};
  mutable int in_rank_ = 0;
};

}  // namespace ctq::nn
