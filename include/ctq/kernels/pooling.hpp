// Quantized pooling on NHWC (channels-last) buffers, as PyTorch 1.13 computes it: max_pool2d,
// avg_pool2d and adaptive_avg_pool2d (torch.nn.quantized.functional), and their 1d forms (PyTorch
// runs those as 2d pools of height 1). Output parameters are the input's. Every op takes uint8_t
// (quint8) or int8_t (qint8) buffers and a trailing path (ctq::arch::scalar{} / ctq::arch::best{});
// both paths give identical bits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "../core/detail/fp.hpp"
#include "../core/detail/window.hpp"
#include "torch_numerics.hpp"

namespace ctq::kernels {

/// The shape of an NHWC buffer: element (b, y, x, ch) is at ((b * h + y) * w + x) * c + ch.
struct Nhwc {
  index_t n = 1, h = 1, w = 1, c = 1;
  friend bool operator==(const Nhwc&, const Nhwc&) = default;
  constexpr index_t size() const { return n * h * w * c; }
};

/// The shape of an NWC buffer (1d pooling): element (b, x, ch) is at (b * w + x) * c + ch.
struct Nwc {
  index_t n = 1, w = 1, c = 1;
  friend bool operator==(const Nwc&, const Nwc&) = default;
  constexpr index_t size() const { return n * w * c; }
};

/// A height and a width (kernel, stride, padding, dilation, output size).
struct HW {
  index_t h = 1, w = 1;
  friend bool operator==(const HW&, const HW&) = default;
};

/// torch.nn.quantized.functional.max_pool2d's arguments. `stride` has no default: PyTorch's
/// stride=None means the kernel size, pass it.
struct MaxPool2dOptions {
  HW kernel;
  HW stride{0, 0};
  HW padding{0, 0};
  HW dilation{1, 1};
  bool ceil_mode = false;
};

/// torch.nn.quantized.functional.avg_pool2d's arguments (divisor_override 0: none).
struct AvgPool2dOptions {
  HW kernel;
  HW stride{0, 0};
  HW padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;
  index_t divisor_override = 0;
};

/// max_pool1d's arguments, over the width.
struct MaxPool1dOptions {
  index_t kernel = 1, stride = 0, padding = 0, dilation = 1;
  bool ceil_mode = false;
};

/// avg_pool1d's arguments, over the width.
struct AvgPool1dOptions {
  index_t kernel = 1, stride = 0, padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
};

namespace detail {

using ctq::detail::pooling_output_size;

inline void check_shape(const Nhwc& s, std::string_view op) {
  if (s.n < 0 || s.h < 1 || s.w < 1 || s.c < 1) {
    raise(ctq::detail::message() << "ctq: " << op << ": the input shape [n = " << s.n << ", h = " << s.h
                                 << ", w = " << s.w << ", c = " << s.c << "] needs n >= 0 and h, w, c >= 1");
  }
}

inline Nhwc window_output_shape(const Nhwc& in, HW kernel, HW stride, HW padding, HW dilation, bool ceil_mode,
                                std::string_view op) {
  check_shape(in, op);
  auto check = [&](const char* what, HW v, index_t least) {
    if (v.h < least || v.w < least) {
      raise(ctq::detail::message() << "ctq: " << op << ": " << what << " (" << v.h << ", " << v.w
                                   << ") must be at least " << least
                                   << (least == 1 && what[0] == 's' ? " (PyTorch's default stride is the kernel size)"
                                                                    : ""));
    }
  };
  check("kernel", kernel, 1);
  check("stride", stride, 1);
  check("dilation", dilation, 1);
  check("padding", padding, 0);
  if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2) {
    raise(ctq::detail::message() << "ctq: " << op << ": padding (" << padding.h << ", " << padding.w
                                 << ") must be at most half the kernel (" << kernel.h << ", " << kernel.w
                                 << "), as PyTorch requires");
  }
  const index_t oh = pooling_output_size(in.h, kernel.h, padding.h, stride.h, dilation.h, ceil_mode);
  const index_t ow = pooling_output_size(in.w, kernel.w, padding.w, stride.w, dilation.w, ceil_mode);
  if (oh < 1 || ow < 1) {
    raise(ctq::detail::message() << "ctq: " << op << ": the output would be " << oh << " x " << ow << " for a " << in.h
                                 << " x " << in.w << " input; the kernel (" << kernel.h << ", " << kernel.w
                                 << ") is too large for it");
  }
  return {in.n, oh, ow, in.c};
}

inline void check_buffers(std::size_t x_size, const Nhwc& in, std::size_t y_size, const Nhwc& out,
                          std::string_view op) {
  if (static_cast<index_t>(x_size) != in.size()) {
    raise(ctq::detail::message() << "ctq: " << op << ": the input has " << x_size << " elements, but its shape ["
                                 << in.n << ", " << in.h << ", " << in.w << ", " << in.c << "] needs " << in.size());
  }
  if (static_cast<index_t>(y_size) != out.size()) {
    raise(ctq::detail::message() << "ctq: " << op << ": the output has " << y_size << " elements, but its shape ["
                                 << out.n << ", " << out.h << ", " << out.w << ", " << out.c << "] needs "
                                 << out.size());
  }
}

// PyTorch runs its channels-last kernel when the tensor is channels-last contiguous, which a
// contiguous NCHW tensor also is when it has one channel or a 1 x 1 image.
inline bool nhwc_kernel(const TorchConfig& torch, const Nhwc& in) {
  return torch.format == memory_format::channels_last || in.c == 1 || (in.h == 1 && in.w == 1);
}

// ---------------------------------------------------------------------------------------------
// max pooling: the largest code of each window.

// The taps of one window: rows base_y + ky * dilation.h (ky < kernel.h), columns likewise. ATen
// skips taps outside the image; QNNPACK (PyTorch's qnnpack engine, quint8, floor mode) clamps them
// to the nearest border pixel, which with a dilation > 1 can add a border pixel to the window.
struct MaxWindow {
  index_t base_y, base_x;
  bool clamp;
};

template <class F>
inline void for_each_tap(const MaxWindow& win, const Nhwc& in, const MaxPool2dOptions& o, F&& f) {
  for (index_t ky = 0; ky < o.kernel.h; ++ky) {
    index_t y = win.base_y + ky * o.dilation.h;
    if (win.clamp) {
      y = y < 0 ? 0 : (y >= in.h ? in.h - 1 : y);
    } else if (y < 0 || y >= in.h) {
      continue;
    }
    for (index_t kx = 0; kx < o.kernel.w; ++kx) {
      index_t x = win.base_x + kx * o.dilation.w;
      if (win.clamp) {
        x = x < 0 ? 0 : (x >= in.w ? in.w - 1 : x);
      } else if (x < 0 || x >= in.w) {
        continue;
      }
      f((y * in.w + x) * in.c);
    }
  }
}

template <QuantizedByte T>
inline void max_pixel(ctq::arch::scalar, const T* image, const Nhwc& in, const MaxWindow& win,
                      const MaxPool2dOptions& o, index_t first_channel, T* out) {
  for (index_t ch = first_channel; ch < in.c; ++ch) {
    T m = std::numeric_limits<T>::lowest();
    for_each_tap(win, in, o, [&](index_t offset) { m = image[offset + ch] > m ? image[offset + ch] : m; });
    out[ch] = m;
  }
}

#if CTQ_HAS_XSIMD
template <QuantizedByte T, class A>
inline void max_pixel(ctq::arch::simd<A>, const T* image, const Nhwc& in, const MaxWindow& win,
                      const MaxPool2dOptions& o, index_t, T* out) {
  using B = xsimd::batch<T, A>;
  constexpr index_t lanes = static_cast<index_t>(B::size);
  index_t ch = 0;
  for (; ch + lanes <= in.c; ch += lanes) {
    B m(std::numeric_limits<T>::lowest());
    for_each_tap(win, in, o, [&](index_t offset) { m = xsimd::max(m, B::load_unaligned(image + offset + ch)); });
    m.store_unaligned(out + ch);
  }
  max_pixel(ctq::arch::scalar{}, image, in, win, o, ch, out);
}
#endif

template <QuantizedByte T, class Arch>
void max_pool(std::span<const T> x, const Nhwc& in, std::span<T> y, const MaxPool2dOptions& o, TorchConfig torch,
              std::string_view op, Arch path) {
  const Nhwc out = window_output_shape(in, o.kernel, o.stride, o.padding, o.dilation, o.ceil_mode, op);
  check_buffers(x.size(), in, y.size(), out, op);
  const bool clamp = uses_qnnpack<T>(torch) && !o.ceil_mode && o.kernel.h * o.kernel.w > 1;
  for (index_t b = 0; b < in.n; ++b) {
    const T* image = x.data() + b * in.h * in.w * in.c;
    for (index_t oy = 0; oy < out.h; ++oy) {
      for (index_t ox = 0; ox < out.w; ++ox) {
        const MaxWindow win{oy * o.stride.h - o.padding.h, ox * o.stride.w - o.padding.w, clamp};
        max_pixel(path, image, in, win, o, 0, y.data() + ((b * out.h + oy) * out.w + ox) * out.c);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// average pooling: an int32 sum per channel, then one of PyTorch's roundings.

enum class avg_rounding : std::uint8_t {
  nhwc,           // ATen's channels-last kernels: clamp(nearbyint(float(sum - zp n) * m) + zp), m = 1.0f / divisor
  nchw,           // ATen's avg_pool2d_out_frame: clamp(nearbyint(float(sum - zp n) * m + float(zp))), m in double
  qnnpack,        // QNNPACK's q8avgpool: as nhwc, with m = s / (s * float(kh kw))
  nchw_adaptive,  // ATen's adaptive_avg_pool_single_out_frame: nearbyint(float(sum) * ((1.0f / kh) / kw))
};

struct AvgWindow {
  index_t y0, y1, x0, x1;  // the input rows and columns summed
  std::int32_t offset;     // added to the sum of codes: -zp * count, or 0
  float multiplier;
};

template <QuantizedByte T>
inline T avg_finish(std::int32_t acc, const AvgWindow& win, avg_rounding mode, std::int32_t zp) {
  switch (mode) {
    case avg_rounding::nchw: {
      const float v = ctq::detail::no_contract(static_cast<float>(acc) * win.multiplier) + static_cast<float>(zp);
      const float lo = static_cast<float>(qmin<T>), hi = static_cast<float>(qmax<T>);
      return static_cast<T>(std::nearbyint(v < lo ? lo : (v > hi ? hi : v)));
    }
    case avg_rounding::nchw_adaptive: return static_cast<T>(std::nearbyint(static_cast<float>(acc) * win.multiplier));
    default: return quantize_with<T>(static_cast<float>(acc), win.multiplier, zp);
  }
}

template <QuantizedByte T>
inline void avg_pixel(ctq::arch::scalar, const T* image, const Nhwc& in, const AvgWindow& win, avg_rounding mode,
                      std::int32_t zp, T* out) {
  for (index_t ch = 0; ch < in.c; ++ch) {
    std::int32_t acc = win.offset;
    for (index_t y = win.y0; y < win.y1; ++y) {
      for (index_t x = win.x0; x < win.x1; ++x) acc += image[(y * in.w + x) * in.c + ch];
    }
    out[ch] = avg_finish<T>(acc, win, mode, zp);
  }
}

#if CTQ_HAS_XSIMD
template <QuantizedByte T, class A>
inline void avg_pixel(ctq::arch::simd<A>, const T* image, const Nhwc& in, const AvgWindow& win, avg_rounding mode,
                      std::int32_t zp, T* out) {
  using I = xsimd::batch<std::int32_t, A>;
  using F = xsimd::batch<float, A>;
  constexpr index_t lanes = static_cast<index_t>(I::size);
  const F m(win.multiplier), fzp(static_cast<float>(zp));
  const F lo(static_cast<float>(qmin<T>)), hi(static_cast<float>(qmax<T>));
  const F lo_zp(static_cast<float>(qmin<T> - zp)), hi_zp(static_cast<float>(qmax<T> - zp));
  index_t ch = 0;
  for (; ch + lanes <= in.c; ch += lanes) {
    I acc(win.offset);
    for (index_t y = win.y0; y < win.y1; ++y) {
      for (index_t x = win.x0; x < win.x1; ++x) acc += ctq::detail::load_widen<A>(image + (y * in.w + x) * in.c + ch);
    }
    const F f = xsimd::to_float(acc);
    I r;
    switch (mode) {
      case avg_rounding::nchw: {
        const F v = ctq::detail::no_contract(f * m) + fzp;
        r = xsimd::nearbyint_as_int(xsimd::min(xsimd::max(v, lo), hi));
        break;
      }
      case avg_rounding::nchw_adaptive: r = xsimd::nearbyint_as_int(f * m); break;
      default: r = xsimd::nearbyint_as_int(xsimd::min(xsimd::max(f * m, lo_zp), hi_zp)) + I(zp);
    }
    ctq::detail::store_narrow(r, out + ch);
  }
  for (; ch < in.c; ++ch) {
    std::int32_t acc = win.offset;
    for (index_t y = win.y0; y < win.y1; ++y) {
      for (index_t x = win.x0; x < win.x1; ++x) acc += image[(y * in.w + x) * in.c + ch];
    }
    out[ch] = avg_finish<T>(acc, win, mode, zp);
  }
}
#endif

// QNNPACK's average pooling (PyTorch's qnnpack engine, quint8, floor mode, more than one element
// per window): windows over the input padded with the zero point, each divided by kh * kw
// (count_include_pad and divisor_override are ignored, as PyTorch's qnnpack path ignores them).
inline bool qnnpack_avg_pool(bool qnnpack, HW kernel, bool ceil_mode) {
  return qnnpack && !ceil_mode && kernel.h * kernel.w > 1;
}
inline float qnnpack_avg_multiplier(float scale, HW kernel) {
  return scale / (scale * static_cast<float>(kernel.h * kernel.w));
}

template <QuantizedByte T, class Arch, class Window>
void avg_pool_run(const T* x, const Nhwc& in, T* y, const Nhwc& out, avg_rounding mode, std::int32_t zp,
                  Window&& window, Arch path) {
  for (index_t b = 0; b < in.n; ++b) {
    const T* image = x + b * in.h * in.w * in.c;
    for (index_t oy = 0; oy < out.h; ++oy) {
      for (index_t ox = 0; ox < out.w; ++ox) {
        avg_pixel(path, image, in, window(oy, ox), mode, zp, y + ((b * out.h + oy) * out.w + ox) * out.c);
      }
    }
  }
}

using ctq::detail::adaptive_end;
using ctq::detail::adaptive_start;

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// max_pool2d

/// The output shape of max_pool2d, after checking the options: kernel, stride, dilation >= 1,
/// 0 <= padding <= kernel / 2 (PyTorch's rule), an output of at least 1 x 1.
inline Nhwc max_pool2d_output_shape(const Nhwc& in, const MaxPool2dOptions& o) {
  return detail::window_output_shape(in, o.kernel, o.stride, o.padding, o.dilation, o.ceil_mode, "max_pool2d");
}

/// torch.nn.quantized.functional.max_pool2d on an NHWC buffer: the largest code in each dilated
/// window; parameters unchanged. ATen (x86, fbgemm, onednn; qint8 or ceil_mode on qnnpack) skips
/// taps in the padding. QNNPACK (engine qnnpack, quint8, floor mode) clamps each tap to the nearest
/// border pixel instead: with dilation and padding its windows can include a border pixel ATen's
/// do not. (PyTorch's qnnpack engine rejects a 1 x 1 kernel there; ctq computes it with ATen's
/// rule.) Raises ctq::error on bad options or buffer sizes.
template <QuantizedByte T, class Arch = ctq::arch::best>
void max_pool2d(std::span<const T> x, const Nhwc& in, std::span<T> y, const MaxPool2dOptions& o, TorchConfig torch = {},
                Arch path = {}) {
  detail::max_pool(x, in, y, o, torch, "max_pool2d", path);
}

// ---------------------------------------------------------------------------------------------
// avg_pool2d

namespace detail {
inline Nhwc avg_output_shape(const Nhwc& in, const AvgPool2dOptions& o, std::string_view op) {
  if (o.divisor_override < 0) {
    raise(ctq::detail::message() << "ctq: " << op << ": divisor_override " << o.divisor_override
                                 << " must be positive (0: none)");
  }
  return window_output_shape(in, o.kernel, o.stride, o.padding, {1, 1}, o.ceil_mode, op);
}
}  // namespace detail

/// The output shape of avg_pool2d, after checking the options (as max_pool2d, without dilation;
/// divisor_override >= 0).
inline Nhwc avg_pool2d_output_shape(const Nhwc& in, const AvgPool2dOptions& o) {
  return detail::avg_output_shape(in, o, "avg_pool2d");
}

namespace detail {
template <QuantizedByte T, class Arch>
void avg_pool(std::span<const T> x, const Nhwc& in, const PerTensorQParams& qp, std::span<T> y,
              const AvgPool2dOptions& o, TorchConfig torch, std::string_view op, Arch path) {
  const Nhwc out = avg_output_shape(in, o, op);
  detail::check_qparams<T>(qp, op, "input");
  detail::check_buffers(x.size(), in, y.size(), out, op);
  const std::int32_t zp = qp.zero_point;
  if (detail::qnnpack_avg_pool(detail::uses_qnnpack<T>(torch), o.kernel, o.ceil_mode)) {
    const float m = detail::qnnpack_avg_multiplier(qp.scale, o.kernel);
    detail::avg_pool_run(
        x.data(), in, y.data(), out, detail::avg_rounding::qnnpack, zp,
        [&](index_t oy, index_t ox) {
          const index_t y0 = oy * o.stride.h - o.padding.h, x0 = ox * o.stride.w - o.padding.w;
          detail::AvgWindow win{std::max<index_t>(y0, 0),
                                std::min(y0 + o.kernel.h, in.h),
                                std::max<index_t>(x0, 0),
                                std::min(x0 + o.kernel.w, in.w),
                                0,
                                m};
          win.offset = -zp * static_cast<std::int32_t>((win.y1 - win.y0) * (win.x1 - win.x0));
          return win;
        },
        path);
    return;
  }
  const auto mode = detail::nhwc_kernel(torch, in) ? detail::avg_rounding::nhwc : detail::avg_rounding::nchw;
  detail::avg_pool_run(
      x.data(), in, y.data(), out, mode, zp,
      [&](index_t oy, index_t ox) {
        index_t y0 = oy * o.stride.h - o.padding.h, x0 = ox * o.stride.w - o.padding.w;
        index_t y1 = std::min(y0 + o.kernel.h, in.h + o.padding.h), x1 = std::min(x0 + o.kernel.w, in.w + o.padding.w);
        const index_t padded = (y1 - y0) * (x1 - x0);
        y0 = std::max<index_t>(y0, 0), x0 = std::max<index_t>(x0, 0);
        y1 = std::min(y1, in.h), x1 = std::min(x1, in.w);
        const index_t count = (y1 - y0) * (x1 - x0);
        const index_t divisor = o.divisor_override ? o.divisor_override : (o.count_include_pad ? padded : count);
        // nhwc: (s / s) / d in float; nchw: (double(s) / s) / d rounded to float. The two agree for
        // every divisor below 2^21 (and 1 / (1 / m), PyTorch's remainder channels, equals m).
        const float m = mode == detail::avg_rounding::nhwc ? 1.0f / static_cast<float>(divisor)
                                                           : static_cast<float>(1.0 / static_cast<double>(divisor));
        return detail::AvgWindow{y0, y1, x0, x1, -zp * static_cast<std::int32_t>(count), m};
      },
      path);
}
}  // namespace detail

/// torch.nn.quantized.functional.avg_pool2d on an NHWC buffer; output parameters = input's. The sum
/// of each window in int32, less zp times the count of input elements summed, divided by the
/// divisor (divisor_override, or the window size with padding (count_include_pad) or without) and
/// rounded as PyTorch's kernel for the configuration does:
///   channels-last tensors (ATen qavg_pool2d_nhwc): y = clamp(nearbyint(acc * (1.0f / d)) + zp);
///   contiguous tensors (ATen avg_pool2d_out_frame): y = clamp(nearbyint(acc * m + float(zp))),
///     m = float(1.0 / d), the product rounded before the add;
///   engine qnnpack, quint8, ceil_mode off (QNNPACK): y = clamp(nearbyint(acc * s / (s * kh kw)) + zp)
///     with padding counted as the zero point: count_include_pad and divisor_override are ignored,
///     as PyTorch ignores them there. (PyTorch rejects a 1 x 1 kernel on that path, and a 1 x 1 max
///     pool; ctq computes them with the ATen kernels.)
template <QuantizedByte T, class Arch = ctq::arch::best>
void avg_pool2d(std::span<const T> x, const Nhwc& in, const PerTensorQParams& qp, std::span<T> y,
                const AvgPool2dOptions& o, TorchConfig torch = {}, Arch path = {}) {
  detail::avg_pool(x, in, qp, y, o, torch, "avg_pool2d", path);
}

// ---------------------------------------------------------------------------------------------
// adaptive_avg_pool2d

namespace detail {
template <QuantizedByte T, class Arch>
void adaptive_avg_pool(std::span<const T> x, const Nhwc& in, const PerTensorQParams& qp, std::span<T> y, HW output_size,
                       TorchConfig torch, std::string_view op, Arch path) {
  detail::check_shape(in, op);
  if (output_size.h < 1 || output_size.w < 1) {
    raise(ctq::detail::message() << "ctq: " << op << ": the output size (" << output_size.h << ", " << output_size.w
                                 << ") must be at least 1 x 1");
  }
  detail::check_qparams<T>(qp, op, "input");
  const Nhwc out{in.n, output_size.h, output_size.w, in.c};
  detail::check_buffers(x.size(), in, y.size(), out, op);
  const std::int32_t zp = qp.zero_point;
  if (detail::uses_qnnpack<T>(torch) && in.h % out.h == 0 && in.w % out.w == 0 && !(in.h == out.h && in.w == out.w)) {
    const HW k{in.h / out.h, in.w / out.w};
    const float m = detail::qnnpack_avg_multiplier(qp.scale, k);
    const auto offset = -zp * static_cast<std::int32_t>(k.h * k.w);
    detail::avg_pool_run(
        x.data(), in, y.data(), out, detail::avg_rounding::qnnpack, zp,
        [&](index_t oy, index_t ox) {
          return detail::AvgWindow{oy * k.h, (oy + 1) * k.h, ox * k.w, (ox + 1) * k.w, offset, m};
        },
        path);
    return;
  }
  const bool nhwc = detail::nhwc_kernel(torch, in);
  detail::avg_pool_run(
      x.data(), in, y.data(), out, nhwc ? detail::avg_rounding::nhwc : detail::avg_rounding::nchw_adaptive, zp,
      [&](index_t oy, index_t ox) {
        const index_t y0 = detail::adaptive_start(oy, out.h, in.h);
        const index_t y1 = detail::adaptive_end(oy, out.h, in.h);
        const index_t x0 = detail::adaptive_start(ox, out.w, in.w);
        const index_t x1 = detail::adaptive_end(ox, out.w, in.w);
        const index_t kh = y1 - y0, kw = x1 - x0;
        if (nhwc) {
          return detail::AvgWindow{
              y0, y1, x0, x1, -zp * static_cast<std::int32_t>(kh * kw), 1.0f / static_cast<float>(kh * kw)};
        }
        const float m = 1.0f / static_cast<float>(kh) / static_cast<float>(kw);
        return detail::AvgWindow{y0, y1, x0, x1, 0, m};
      },
      path);
}
}  // namespace detail

/// torch.nn.quantized.functional.adaptive_avg_pool2d on an NHWC buffer; output parameters = input's.
/// Bin (o) covers [floor(float(o * in) / out), ceil(float((o + 1) * in) / out)) in each dimension.
///   channels-last tensors (ATen): y = clamp(nearbyint((sum - zp n) * (1.0f / n)) + zp), n = bin size;
///   contiguous tensors (ATen adaptive_avg_pool_single_out_frame): y = nearbyint(sum * ((1.0f / kh) / kw)),
///     the raw codes averaged without the zero point;
///   engine qnnpack, quint8, sizes divisible by the output and not equal to it: QNNPACK's average
///     pool with kernel = stride = in / out (see avg_pool2d).
/// Raises ctq::error when the output size is below 1 or the buffer sizes do not match.
template <QuantizedByte T, class Arch = ctq::arch::best>
void adaptive_avg_pool2d(std::span<const T> x, const Nhwc& in, const PerTensorQParams& qp, std::span<T> y,
                         HW output_size, TorchConfig torch = {}, Arch path = {}) {
  detail::adaptive_avg_pool(x, in, qp, y, output_size, torch, "adaptive_avg_pool2d", path);
}

// ---------------------------------------------------------------------------------------------
// 1d forms: PyTorch unsqueezes (N, C, L) to (N, C, 1, L) and runs the 2d op.

/// max_pool1d over the width of an NWC buffer (torch.nn.quantized.functional.max_pool1d).
template <QuantizedByte T, class Arch = ctq::arch::best>
void max_pool1d(std::span<const T> x, const Nwc& in, std::span<T> y, const MaxPool1dOptions& o, TorchConfig torch = {},
                Arch path = {}) {
  detail::max_pool(x, Nhwc{in.n, 1, in.w, in.c}, y,
                   MaxPool2dOptions{{1, o.kernel}, {1, o.stride}, {0, o.padding}, {1, o.dilation}, o.ceil_mode}, torch,
                   "max_pool1d", path);
}

/// avg_pool1d over the width of an NWC buffer (torch.nn.functional.avg_pool1d on a quantized tensor).
template <QuantizedByte T, class Arch = ctq::arch::best>
void avg_pool1d(std::span<const T> x, const Nwc& in, const PerTensorQParams& qp, std::span<T> y,
                const AvgPool1dOptions& o, TorchConfig torch = {}, Arch path = {}) {
  detail::avg_pool(x, Nhwc{in.n, 1, in.w, in.c}, qp, y,
                   AvgPool2dOptions{{1, o.kernel}, {1, o.stride}, {0, o.padding}, o.ceil_mode, o.count_include_pad, 0},
                   torch, "avg_pool1d", path);
}

/// adaptive_avg_pool1d over the width of an NWC buffer.
template <QuantizedByte T, class Arch = ctq::arch::best>
void adaptive_avg_pool1d(std::span<const T> x, const Nwc& in, const PerTensorQParams& qp, std::span<T> y,
                         index_t output_size, TorchConfig torch = {}, Arch path = {}) {
  detail::adaptive_avg_pool(x, Nhwc{in.n, 1, in.w, in.c}, qp, y, HW{1, output_size}, torch, "adaptive_avg_pool1d",
                            path);
}

}  // namespace ctq::kernels
