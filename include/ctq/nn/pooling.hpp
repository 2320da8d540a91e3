// Float pooling on channels-last tensors [N, H, W, C]: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
// (PyTorch's torch.nn modules; stride 0 means "the kernel size", as PyTorch's stride=None).
#pragma once

#include <algorithm>
#include <limits>
#include <string_view>

#include "../core/detail/window.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {
inline void check_image(const Shape<4>& s, std::string_view op) {
  if (s[1] < 1 || s[2] < 1 || s[3] < 1) {
    raise(ctq::detail::message() << "ctq: nn::" << op << ": the input [N, H, W, C] needs H, W, C >= 1");
  }
}
inline index_t window_out(index_t in, index_t k, index_t p, index_t s, index_t d, bool ceil, std::string_view op) {
  const index_t o = ctq::detail::pooling_output_size(in, k, p, s, d, ceil);
  if (o < 1) raise(ctq::detail::message() << "ctq: nn::" << op << ": the input (" << in << ") is too small");
  return o;
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

  static Shape<4> output_shape(const Shape<4>& x) {
    detail::check_image(x, name);
    return {x[0], detail::window_out(x[1], K, P, stride, D, CeilMode, name),
            detail::window_out(x[2], K, P, stride, D, CeilMode, name), x[3]};
  }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const {
    Tensor<float, 4> y(output_shape(x.shape()));
    const index_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
    float* out = y.data();
    for (index_t n = 0; n < y.dim(0); ++n)
      for (index_t oy = 0; oy < y.dim(1); ++oy)
        for (index_t ox = 0; ox < y.dim(2); ++ox, out += c) {
          std::fill_n(out, c, -std::numeric_limits<float>::infinity());
          for (index_t ky = 0; ky < K; ++ky)
            for (index_t kx = 0; kx < K; ++kx) {
              const index_t iy = oy * stride - P + ky * D, ix = ox * stride - P + kx * D;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const float* in = x.data() + ((n * h + iy) * w + ix) * c;
              for (index_t ch = 0; ch < c; ++ch) {
                // NaN propagates, as in PyTorch's max pooling
                if (in[ch] > out[ch] || std::isnan(in[ch])) out[ch] = in[ch];
              }
            }
        }
    return y;
  }
};

template <index_t K, index_t S = 0, index_t P = 0, bool CeilMode = false, bool CountIncludePad = true>
struct AvgPool2d : ctq::detail::rejects_quantized {
  static_assert(K >= 1 && S >= 0 && P >= 0 && 2 * P <= K,
                "ctq: nn::AvgPool2d: kernel >= 1, stride >= 0 (0: the kernel), 0 <= padding <= kernel/2");
  static constexpr std::string_view name = "AvgPool2d";
  static constexpr index_t kernel_size = K, stride = S == 0 ? K : S, padding = P;
  static constexpr bool ceil_mode = CeilMode, count_include_pad = CountIncludePad;

  static Shape<4> output_shape(const Shape<4>& x) {
    detail::check_image(x, name);
    return {x[0], detail::window_out(x[1], K, P, stride, 1, CeilMode, name),
            detail::window_out(x[2], K, P, stride, 1, CeilMode, name), x[3]};
  }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const {
    Tensor<float, 4> y(output_shape(x.shape()));
    const index_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
    float* out = y.data();
    for (index_t n = 0; n < y.dim(0); ++n)
      for (index_t oy = 0; oy < y.dim(1); ++oy)
        for (index_t ox = 0; ox < y.dim(2); ++ox, out += c) {
          // PyTorch: the window clipped to the padded input gives the divisor with count_include_pad
          index_t y0 = oy * stride - P, x0 = ox * stride - P;
          index_t y1 = std::min(y0 + K, h + P), x1 = std::min(x0 + K, w + P);
          const index_t padded = (y1 - y0) * (x1 - x0);
          y0 = std::max<index_t>(y0, 0), x0 = std::max<index_t>(x0, 0);
          y1 = std::min(y1, h), x1 = std::min(x1, w);
          const index_t divisor = CountIncludePad ? padded : (y1 - y0) * (x1 - x0);
          std::fill_n(out, c, 0.0f);
          for (index_t iy = y0; iy < y1; ++iy)
            for (index_t ix = x0; ix < x1; ++ix) {
              const float* in = x.data() + ((n * h + iy) * w + ix) * c;
              for (index_t ch = 0; ch < c; ++ch) out[ch] += in[ch];
            }
          for (index_t ch = 0; ch < c; ++ch) out[ch] /= static_cast<float>(divisor);
        }
    return y;
  }
};

template <index_t OH, index_t OW = OH>
struct AdaptiveAvgPool2d : ctq::detail::rejects_quantized {
  static_assert(OH >= 1 && OW >= 1, "ctq: nn::AdaptiveAvgPool2d: the output size must be at least 1 x 1");
  static constexpr std::string_view name = "AdaptiveAvgPool2d";
  static constexpr index_t output_h = OH, output_w = OW;

  static Shape<4> output_shape(const Shape<4>& x) {
    detail::check_image(x, name);
    return {x[0], OH, OW, x[3]};
  }
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 4> operator()(const Tensor<float, 4>& x) const {
    Tensor<float, 4> y(output_shape(x.shape()));
    const index_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
    float* out = y.data();
    for (index_t n = 0; n < y.dim(0); ++n)
      for (index_t oy = 0; oy < OH; ++oy)
        for (index_t ox = 0; ox < OW; ++ox, out += c) {
          const index_t y0 = ctq::detail::adaptive_start(oy, OH, h), y1 = ctq::detail::adaptive_end(oy, OH, h);
          const index_t x0 = ctq::detail::adaptive_start(ox, OW, w), x1 = ctq::detail::adaptive_end(ox, OW, w);
          std::fill_n(out, c, 0.0f);
          for (index_t iy = y0; iy < y1; ++iy)
            for (index_t ix = x0; ix < x1; ++ix) {
              const float* in = x.data() + ((n * h + iy) * w + ix) * c;
              for (index_t ch = 0; ch < c; ++ch) out[ch] += in[ch];
            }
          const auto count = static_cast<float>((y1 - y0) * (x1 - x0));
          for (index_t ch = 0; ch < c; ++ch) out[ch] /= count;
        }
    return y;
  }
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
    return y;
  }
};

}  // namespace ctq::nn
