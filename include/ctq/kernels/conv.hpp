// ctq's int8 convolution, channels last (NWC, NHWC, NDHWC), 1, 2 or 3 spatial dimensions, with
// stride, padding, dilation and groups, and the same output pipeline as the GEMM:
//
//   kernels::ConvGeometry<2> g{.batch = 1, .input = {56, 56}, .in_channels = 64, .out_channels = 64,
//                              .kernel = {3, 3}, .padding = {1, 1}};
//   kernels::PackedConvWeights<> w(g, weights_ohwi, zero_points);                 // at convert time
//   std::vector<std::byte> scratch(kernels::conv_scratch_size(w));               // or any buffer
//   kernels::conv(g, x, x_zero_point, w, pipeline, scratch);                      // no allocation
//
// The pipeline sees one row per output pixel (batch-major, then the spatial dimensions in order)
// and one column per output channel: store<std::uint8_t>{y, out_channels} writes NHWC.
//
// Two paths. A depthwise convolution (groups == in_channels == out_channels) runs a kernel that
// vectorises across channels (depthwise.hpp). Everything else is a GEMM per group: rows of the
// im2col matrix (the receptive field of one output pixel, padding filled with the input's zero
// point, which contributes nothing after the zero-point correction) built block by block in the
// scratch buffer, or read in place for a 1x1 convolution with stride 1 and no padding.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/qparams.hpp"
#include "depthwise.hpp"
#include "gemm.hpp"

namespace ctq::kernels {

/// The shape of a convolution with R spatial dimensions (outermost first: D, H, W).
template <int R>
struct ConvGeometry {
  static_assert(R >= 1 && R <= 3, "ConvGeometry<R>: ctq's convolutions have 1, 2 or 3 spatial dimensions");
  index_t batch = 1;
  std::array<index_t, R> input{};
  index_t in_channels = 0, out_channels = 0, groups = 1;
  std::array<index_t, R> kernel = filled(1), stride = filled(1), padding = filled(0), dilation = filled(1);

  static constexpr std::array<index_t, R> filled(index_t v) {
    std::array<index_t, R> a{};
    a.fill(v);
    return a;
  }
  /// floor((in + 2 pad - dilation (kernel - 1) - 1) / stride) + 1 per dimension, as PyTorch.
  std::array<index_t, R> output() const {
    std::array<index_t, R> o{};
    for (int i = 0; i < R; ++i) o[i] = (input[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i] + 1;
    return o;
  }
  index_t output_pixels() const {
    index_t n = batch;
    for (index_t v : output()) n *= v;
    return n;
  }
  index_t input_pixels() const {
    index_t n = batch;
    for (index_t v : input) n *= v;
    return n;
  }
  index_t taps() const {
    index_t n = 1;
    for (index_t v : kernel) n *= v;
    return n;
  }
  bool depthwise() const { return groups == in_channels && groups == out_channels && groups > 1; }
};

namespace detail {

template <int R>
conv3d normalize(const ConvGeometry<R>& g) {
  conv3d c{g.batch,   g.in_channels, g.out_channels, g.groups,  {1, 1, 1},
           {1, 1, 1}, {1, 1, 1},     {1, 1, 1},      {0, 0, 0}, {1, 1, 1}};
  const auto o = g.output();
  for (int i = 0; i < R; ++i) {
    const int j = 3 - R + i;
    c.in[j] = g.input[i], c.out[j] = o[i], c.k[j] = g.kernel[i], c.s[j] = g.stride[i], c.p[j] = g.padding[i];
    c.d[j] = g.dilation[i];
  }
  return c;
}

template <int R>
void check_geometry(const ConvGeometry<R>& g, const char* op) {
  auto fail = [&](const char* what) { raise(ctq::detail::message() << "ctq: " << op << ": " << what); };
  if (g.batch < 1 || g.in_channels < 1 || g.out_channels < 1 || g.groups < 1) {
    fail("batch, channels and groups must be >= 1");
  }
  if (g.in_channels % g.groups != 0 || g.out_channels % g.groups != 0) {
    raise(ctq::detail::message() << "ctq: " << op << ": in_channels (" << g.in_channels << ") and out_channels ("
                                 << g.out_channels << ") must be divisible by groups (" << g.groups << ")");
  }
  for (int i = 0; i < R; ++i) {
    if (g.input[i] < 1 || g.kernel[i] < 1 || g.stride[i] < 1 || g.dilation[i] < 1 || g.padding[i] < 0) {
      fail("input sizes, kernel, stride and dilation must be >= 1 and padding >= 0");
    }
  }
  for (index_t o : g.output()) {
    if (o < 1) {
      fail("the kernel (with dilation) is larger than the padded input: the output would be empty");
    }
  }
}

// A wrapper that moves a pipeline's rows and columns: rows of a block of output pixels, columns of
// a group's output channels.
template <class Out>
struct shifted {
  Out out;  // a copy (a few pointers and numbers), so kernels can keep it in registers
  index_t row0, col0;
  template <class V>
  CTQ_ALWAYS_INLINE void operator()(const V& v, index_t row, index_t col, index_t count) const {
    out(v, row + row0, col + col0, count);
  }
};

}  // namespace detail

/// Convolution weights, packed once: per group a GEMM panel set (N = out_channels / groups, K =
/// taps * in_channels / groups), or the depthwise layout.
template <class Arch = arch::best>
class PackedConvWeights {
 public:
  PackedConvWeights() = default;

  /// weights: [out_channels][kernel...][in_channels / groups] (OHWI; PyTorch's OIHW permuted),
  /// int8; zero_points: one (per-tensor) or out_channels (per-channel) values.
  template <int R>
  PackedConvWeights(const ConvGeometry<R>& g, const std::int8_t* weights, std::span<const std::int32_t> zero_points)
      : geometry_(detail::normalize(g)) {
    detail::check_geometry(g, "PackedConvWeights");
    const auto zps = static_cast<index_t>(zero_points.size());
    if (zps != 1 && zps != g.out_channels) {
      raise(ctq::detail::message() << "ctq: PackedConvWeights: " << zps << " zero points for " << g.out_channels
                                   << " output channels; give one or one per output channel");
    }
    const index_t cout_g = g.out_channels / g.groups, k = g.taps() * (g.in_channels / g.groups);
    if (g.depthwise()) {
      depthwise_ = DepthwiseWeights(g.out_channels, g.taps(), weights, zero_points);
      return;
    }
    for (index_t grp = 0; grp < g.groups; ++grp) {
      std::span<const std::int32_t> zp = zps == 1 ? zero_points : zero_points.subspan(grp * cout_g, cout_g);
      groups_.emplace_back(weights + grp * cout_g * k, cout_g, k, k, zp);
    }
  }

  bool depthwise() const { return !depthwise_.empty(); }
  const detail::conv3d& geometry() const { return geometry_; }
  const PackedWeights<Arch>& group(index_t g) const { return groups_[static_cast<std::size_t>(g)]; }
  const DepthwiseWeights& depthwise_weights() const { return depthwise_; }
  bool empty() const { return groups_.empty() && depthwise_.empty(); }
  /// Bytes of packed weights.
  std::size_t bytes() const {
    std::size_t n = depthwise_.bytes();
    for (const auto& p : groups_) n += p.bytes();
    return n;
  }

 private:
  detail::conv3d geometry_{};
  std::vector<PackedWeights<Arch>> groups_;
  DepthwiseWeights depthwise_;
};

namespace detail {

// Output pixels per im2col block: a multiple of every microkernel's row count (4, 6, 12, 32), small
// enough to stay in the L2 cache with the weights.
inline constexpr index_t conv_block_rows = 192;

// The block of the packed geometry: fixed at packing time, so the scratch size does not depend on
// the batch of a call.
inline index_t conv_rows(const conv3d& packed) { return std::min(conv_block_rows, packed.out_pixels()); }

// Copies one tap's input channels into an im2col row: 16-byte pieces the compiler inlines (the
// usual channel counts are multiples of 16), then 4-byte pieces and single bytes. No call to the
// library's memcpy: with few channels (an image's 1 or 3) the call would cost more than the copy.
inline void copy_channels(std::uint8_t* dst, const std::uint8_t* src, index_t n) {
  index_t i = 0;
  for (; i + 16 <= n; i += 16) std::memcpy(dst + i, src + i, 16);
  for (; i + 4 <= n; i += 4) std::memcpy(dst + i, src + i, 4);
  for (; i < n; ++i) dst[i] = src[i];
}

// Fills one tap's channels of an im2col row with the input's zero point (the padding), likewise.
inline void fill_channels(std::uint8_t* dst, std::uint8_t value, index_t n) {
  if (n >= 16) {
    std::memset(dst, value, static_cast<std::size_t>(n));
    return;
  }
  for (index_t i = 0; i < n; ++i) dst[i] = value;
}

// One im2col row (output pixel (n, od, oh, ow)) into dst, advancing dst by K bytes; taps out of
// range read `fill`.
inline void im2col_pixel(const conv3d& c, const std::uint8_t* x, index_t c0, index_t cin_g, index_t n, index_t od,
                         index_t oh, index_t ow, std::uint8_t fill, std::uint8_t*& dst) {
  const index_t row_bytes = c.in[2] * c.in_c;
  for (index_t kd = 0; kd < c.k[0]; ++kd) {
    const index_t id = od * c.s[0] - c.p[0] + kd * c.d[0];
    for (index_t kh = 0; kh < c.k[1]; ++kh) {
      const index_t ih = oh * c.s[1] - c.p[1] + kh * c.d[1];
      const bool row_in = id >= 0 && id < c.in[0] && ih >= 0 && ih < c.in[1];
      const std::uint8_t* src = x + ((n * c.in[0] + (row_in ? id : 0)) * c.in[1] + (row_in ? ih : 0)) * row_bytes + c0;
      index_t iw = ow * c.s[2] - c.p[2];
      for (index_t kw = 0; kw < c.k[2]; ++kw, iw += c.d[2], dst += cin_g) {
        if (row_in && iw >= 0 && iw < c.in[2]) {
          copy_channels(dst, src + iw * c.in_c, cin_g);
        } else {
          fill_channels(dst, fill, cin_g);
        }
      }
    }
  }
}

// Rows r0 .. r0 + m - 1 of the im2col matrix (row r: the receptive field of output pixel r,
// taps in (kd, kh, kw) order, `cin_g` channels from channel `c0` each; K = taps * cin_g bytes
// per row) into `a`. Out-of-range taps read the input's zero point. A function of its own (not
// inlined into the convolution) so its counters stay in registers.
[[gnu::noinline]] inline void im2col_rows(const conv3d& c, const std::uint8_t* x, index_t c0, index_t cin_g, index_t r0,
                                          index_t m, std::uint8_t fill, std::uint8_t* a) {
  // the first pixel's coordinates, then counted up pixel by pixel (no division per row)
  index_t pix = r0;
  index_t ow = pix % c.out[2];
  pix /= c.out[2];
  index_t oh = pix % c.out[1];
  pix /= c.out[1];
  index_t od = pix % c.out[0];
  index_t n = pix / c.out[0];
  const index_t row_bytes = c.in[2] * c.in_c;
  std::uint8_t* dst = a;
  for (index_t r = 0; r < m; ++r) {
    if (taps_inside(c, od, 0) && taps_inside(c, oh, 1) && taps_inside(c, ow, 2)) {
      // the whole receptive field is in the input: no checks per tap
      for (index_t kd = 0; kd < c.k[0]; ++kd) {
        const index_t id = od * c.s[0] - c.p[0] + kd * c.d[0];
        for (index_t kh = 0; kh < c.k[1]; ++kh) {
          const index_t ih = oh * c.s[1] - c.p[1] + kh * c.d[1];
          const std::uint8_t* src =
              x + ((n * c.in[0] + id) * c.in[1] + ih) * row_bytes + c0 + (ow * c.s[2] - c.p[2]) * c.in_c;
          if (cin_g == 1) {  // an image's single channel: a byte per tap
            for (index_t kw = 0; kw < c.k[2]; ++kw) *dst++ = src[kw * c.d[2] * c.in_c];
          } else {
            for (index_t kw = 0; kw < c.k[2]; ++kw, dst += cin_g) copy_channels(dst, src + kw * c.d[2] * c.in_c, cin_g);
          }
        }
      }
    } else {
      im2col_pixel(c, x, c0, cin_g, n, od, oh, ow, fill, dst);
    }
    if (++ow == c.out[2]) {
      ow = 0;
      if (++oh == c.out[1]) {
        oh = 0;
        if (++od == c.out[0]) od = 0, ++n;
      }
    }
  }
}

inline bool conv_in_place(const conv3d& c) {
  for (int i = 0; i < 3; ++i)
    if (c.k[i] != 1 || c.s[i] != 1 || c.p[i] != 0) return false;
  return true;
}

#if defined(CTQ_KERNEL_AMX)
// AMX without im2col (an implicit GEMM): for a 2-d convolution with groups = 1, a multiple of 64
// input channels and symmetric weights, the 16 activation rows of a tile are 16 neighbouring
// output pixels of one output row, and for each tap and each 64 input channels they lie in the
// input at a fixed stride (stride x channels) -- a tile load straight from a copy of the input
// with its padding filled in (the input's zero point). Output rows are covered by 16-pixel tiles,
// the last one moved back to end at the row's end (pixels done twice are written twice, equal).
inline bool amx_direct_applies(const conv3d& c) {
  return c.groups == 1 && c.in_c % 64 == 0 && c.in[0] == 1 && c.k[0] == 1 && c.out[2] >= 16;
}

// One image's padded input (conv() runs the images one by one).
inline std::size_t amx_direct_scratch(const conv3d& c) {
  return static_cast<std::size_t>((c.in[1] + 2 * c.p[1]) * (c.in[2] + 2 * c.p[2]) * c.in_c);
}

template <class Out>
void amx_direct_conv(const conv3d& c, const std::uint8_t* x, std::int32_t x_zero_point,
                     const PackedWeights<arch::amx>& w, const Out& out, std::byte* scratch) {
  const index_t hp = c.in[1] + 2 * c.p[1], wp = c.in[2] + 2 * c.p[2], ch = c.in_c, n_out = c.out_c;
  // The padded input.
  auto* xp = reinterpret_cast<std::uint8_t*>(scratch);
  auto* col_offset = reinterpret_cast<std::int32_t*>(scratch + (amx_direct_scratch(c) + 63) / 64 * 64);
  std::memset(xp, x_zero_point, amx_direct_scratch(c) * static_cast<std::size_t>(c.batch));
  for (index_t n = 0; n < c.batch; ++n)
    for (index_t h = 0; h < c.in[1]; ++h)
      std::memcpy(xp + ((n * hp + h + c.p[1]) * wp + c.p[2]) * ch, x + ((n * c.in[1] + h) * c.in[2]) * ch,
                  static_cast<std::size_t>(c.in[2] * ch));
  for (index_t i = 0; i < w.padded_n(); ++i) col_offset[i] = -x_zero_point * w.column_sums()[i];
  const index_t chunks = ch / 64, tiles_per_row = (c.out[2] + 15) / 16;
  const index_t tiles = c.batch * c.out[1] * tiles_per_row, a_stride = c.s[2] * ch;
  // Tile t: its first output pixel, and the address of its first activation row for tap 0.
  auto tile = [&](index_t t, index_t& pixel, const std::uint8_t*& base) {
    const index_t row = t / tiles_per_row, j = t % tiles_per_row;
    const index_t ow = j * 16 + 16 <= c.out[2] ? j * 16 : c.out[2] - 16;
    const index_t n = row / c.out[1], oh = row % c.out[1];
    pixel = row * c.out[2] + ow;
    base = xp + ((n * hp + oh * c.s[1]) * wp + ow * c.s[2]) * ch;
  };
  const amx_tile_config config;
  _tile_loadconfig(&config);
  // As in amx_gemm: the epilogue of one block overlaps the next block's tile multiplies.
  alignas(64) std::int32_t acc[2][32][32];
  using B = xsimd::batch<std::int32_t, arch::amx::xsimd_arch>;
  struct Pending {
    ukernel_args first, second;
    bool two;
  } pending{};
  bool have_pending = false;
  int buffer = 0;
  auto drain = [&](const Pending& p, int buf) __attribute__((always_inline)) {
    for (index_t r = 0; r < 16; ++r) {
      finish_lanes(B(_mm512_load_si512(&acc[buf][r][0])), p.first, r, 0, out);
      finish_lanes(B(_mm512_load_si512(&acc[buf][r][16])), p.first, r, 16, out);
    }
    if (p.two) {
      for (index_t r = 16; r < 32; ++r) {
        finish_lanes(B(_mm512_load_si512(&acc[buf][r][0])), p.second, r, 0, out);
        finish_lanes(B(_mm512_load_si512(&acc[buf][r][16])), p.second, r, 16, out);
      }
    }
  };
  for (index_t t = 0; t < tiles; t += 2) {
    const bool two = t + 1 < tiles;
    index_t pix0 = 0, pix1 = 0;
    const std::uint8_t *a0 = nullptr, *a1 = nullptr;
    tile(t, pix0, a0);
    if (two) tile(t + 1, pix1, a1);
    for (index_t col = 0; col < n_out; col += 32) {
      const std::int8_t* b = w.panel(col / 32);
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      index_t kk = 0;
      for (index_t kh = 0; kh < c.k[1]; ++kh)
        for (index_t kw = 0; kw < c.k[2]; ++kw) {
          const index_t tap_offset = (kh * c.d[1] * wp + kw * c.d[2]) * ch;
          for (index_t q = 0; q < chunks; ++q, kk += 64) {
            _tile_loadd(4, a0 + tap_offset + q * 64, a_stride);
            _tile_loadd(6, b + kk * 32, 128);
            _tile_loadd(7, b + kk * 32 + 64, 128);
            _tile_dpbusd(0, 4, 6);
            _tile_dpbusd(1, 4, 7);
            if (two) {
              _tile_loadd(5, a1 + tap_offset + q * 64, a_stride);
              _tile_dpbusd(2, 5, 6);
              _tile_dpbusd(3, 5, 7);
            }
          }
        }
      if (have_pending) drain(pending, buffer ^ 1);
      _tile_stored(0, &acc[buffer][0][0], 128);
      _tile_stored(1, &acc[buffer][0][16], 128);
      if (two) {
        _tile_stored(2, &acc[buffer][16][0], 128);
        _tile_stored(3, &acc[buffer][16][16], 128);
      }
      const index_t cols = n_out - col < 32 ? n_out - col : 32;
      pending =
          Pending{ukernel_args{nullptr, 0, 16, 0, b, cols, col_offset + col, nullptr, nullptr, pix0, col},
                  ukernel_args{nullptr, 0, 16, 0, b, cols, col_offset + col, nullptr, nullptr, pix1 - 16, col}, two};
      have_pending = true;
      buffer ^= 1;
    }
  }
  if (have_pending) drain(pending, buffer ^ 1);
  _tile_release();
}
#endif

}  // namespace detail

/// Scratch bytes conv() needs with these weights.
template <class Arch>
std::size_t conv_scratch_size(const PackedConvWeights<Arch>& w) {
  const auto& c = w.geometry();
  if (w.depthwise()) return depthwise_scratch_size(c);
  const index_t cin_g = c.in_c / c.groups;
  const index_t k = c.taps() * cin_g;
  const index_t rows = detail::conv_rows(c);
  const std::size_t im2col = detail::conv_in_place(c) ? 0 : static_cast<std::size_t>(rows * k);
  const std::size_t ints = static_cast<std::size_t>(gemm_scratch_size(w.group(0), rows));
  std::size_t bytes = (im2col + 63) / 64 * 64 + ints * sizeof(std::int32_t);
#if defined(CTQ_KERNEL_AMX)
  if constexpr (std::is_same_v<Arch, arch::amx>) {
    if (detail::amx_direct_applies(c) && !w.group(0).has_zero_point()) {
      bytes = std::max(bytes, (detail::amx_direct_scratch(c) + 63) / 64 * 64 +
                                  static_cast<std::size_t>(w.group(0).padded_n()) * sizeof(std::int32_t));
    }
  }
#endif
  return bytes;
}

/// out(y) for the convolution of x (uint8, channels last, zero point x_zero_point) with the
/// packed weights; `g` must be the geometry the weights were packed for.
template <class Arch, int R, class Out>
void conv(const ConvGeometry<R>& g, const std::uint8_t* x, std::int32_t x_zero_point, const PackedConvWeights<Arch>& w,
          const Out& out, std::span<std::byte> scratch) {
  if (w.empty()) raise("ctq: conv: the packed weights are empty");
  detail::check_geometry(g, "conv");
  const detail::conv3d c = detail::normalize(g);
  const auto& p = w.geometry();
  for (int i = 0; i < 3; ++i) {
    if (c.in[i] != p.in[i] || c.k[i] != p.k[i] || c.s[i] != p.s[i] || c.p[i] != p.p[i] || c.d[i] != p.d[i] ||
        c.in_c != p.in_c || c.out_c != p.out_c || c.groups != p.groups) {
      raise("ctq: conv: the geometry differs from the one the weights were packed for");
    }
  }
  if (x_zero_point < 0 || x_zero_point > 255) {
    raise(ctq::detail::message() << "ctq: conv: input zero point " << x_zero_point
                                 << " is outside the uint8 range [0, 255]");
  }
  if (scratch.size() < conv_scratch_size(w)) {
    raise(ctq::detail::message() << "ctq: conv: scratch holds " << scratch.size() << " bytes, the call needs "
                                 << conv_scratch_size(w) << " (conv_scratch_size)");
  }
  if (w.depthwise()) {
    depthwise_conv<Arch>(c, x, x_zero_point, w.depthwise_weights(), out, scratch);
    return;
  }
#if defined(CTQ_KERNEL_AMX)
  if constexpr (std::is_same_v<Arch, arch::amx>) {
    if (detail::amx_direct_applies(c) && !w.group(0).has_zero_point() && detail::amx_permitted()) {
      // One image at a time (the padded copy is one image).
      detail::conv3d one = c;
      one.batch = 1;
      const index_t in_size = c.in[1] * c.in[2] * c.in_c, out_pixels = one.out_pixels();
      for (index_t n = 0; n < c.batch; ++n) {
        const detail::shifted<Out> o{out, n * out_pixels, 0};
        detail::amx_direct_conv(one, x + n * in_size, x_zero_point, w.group(0), o, scratch.data());
      }
      return;
    }
  }
#endif
  const index_t cin_g = c.in_c / c.groups, cout_g = c.out_c / c.groups, k = c.taps() * cin_g;
  const index_t pixels = c.out_pixels();
  if (detail::conv_in_place(c)) {
    // A 1x1 convolution with stride 1 is a GEMM on the input as it lies.
    const index_t rows = detail::conv_rows(p);
    auto* ints = reinterpret_cast<std::int32_t*>(scratch.data());
    const std::span<std::int32_t> gs(ints, static_cast<std::size_t>(gemm_scratch_size(w.group(0), rows)));
    for (index_t grp = 0; grp < c.groups; ++grp) {
      const detail::shifted<Out> o{out, 0, grp * cout_g};
      if (w.group(grp).has_zero_point()) {
        // Row sums scale with M: run in blocks that fit the scratch.
        for (index_t r0 = 0; r0 < pixels; r0 += rows) {
          const detail::shifted<Out> ob{out, r0, grp * cout_g};
          gemm(x + r0 * c.in_c + grp * cin_g, std::min(rows, pixels - r0), c.in_c, x_zero_point, w.group(grp), ob, gs);
        }
      } else {
        gemm(x + grp * cin_g, pixels, c.in_c, x_zero_point, w.group(grp), o, gs);
      }
    }
    return;
  }
  const index_t rows = detail::conv_rows(p);
  auto* a = reinterpret_cast<std::uint8_t*>(scratch.data());
  auto* ints = reinterpret_cast<std::int32_t*>(scratch.data() + (static_cast<std::size_t>(rows * k) + 63) / 64 * 64);
  const std::span<std::int32_t> gs(ints, static_cast<std::size_t>(gemm_scratch_size(w.group(0), rows)));
  const auto fill = static_cast<std::uint8_t>(x_zero_point);
  for (index_t r0 = 0; r0 < pixels; r0 += rows) {
    const index_t m = std::min(rows, pixels - r0);
    for (index_t grp = 0; grp < c.groups; ++grp) {
      detail::im2col_rows(c, x, grp * cin_g, cin_g, r0, m, fill, a);
      const detail::shifted<Out> o{out, r0, grp * cout_g};
      gemm(a, m, k, x_zero_point, w.group(grp), o, gs);
    }
  }
}

/// The plain definition, for tests: every output element as a sum over the receptive field in
/// 64-bit integers (padding contributes nothing), wrapped to int32, then through `out` lane by
/// lane. weights as for PackedConvWeights.
template <int R, class Out>
void conv_reference(const ConvGeometry<R>& g, const std::uint8_t* x, std::int32_t x_zero_point,
                    const std::int8_t* weights, std::span<const std::int32_t> zero_points, const Out& out) {
  const detail::conv3d c = detail::normalize(g);
  const index_t cin_g = c.in_c / c.groups, cout_g = c.out_c / c.groups;
  for (index_t pix = 0; pix < c.out_pixels(); ++pix) {
    index_t t = pix;
    const index_t ow = t % c.out[2];
    t /= c.out[2];
    const index_t oh = t % c.out[1];
    t /= c.out[1];
    const index_t od = t % c.out[0];
    const index_t n = t / c.out[0];
    for (index_t oc = 0; oc < c.out_c; ++oc) {
      const index_t grp = oc / cout_g;
      const std::int64_t zw = zero_points[zero_points.size() == 1 ? 0 : static_cast<std::size_t>(oc)];
      std::int64_t s = 0;
      for (index_t kd = 0; kd < c.k[0]; ++kd)
        for (index_t kh = 0; kh < c.k[1]; ++kh)
          for (index_t kw = 0; kw < c.k[2]; ++kw) {
            const index_t id = od * c.s[0] - c.p[0] + kd * c.d[0], ih = oh * c.s[1] - c.p[1] + kh * c.d[1],
                          iw = ow * c.s[2] - c.p[2] + kw * c.d[2];
            if (id < 0 || id >= c.in[0] || ih < 0 || ih >= c.in[1] || iw < 0 || iw >= c.in[2]) continue;
            const std::uint8_t* xp = x + (((n * c.in[0] + id) * c.in[1] + ih) * c.in[2] + iw) * c.in_c + grp * cin_g;
            const std::int8_t* wp = weights + (((oc * c.k[0] + kd) * c.k[1] + kh) * c.k[2] + kw) * cin_g;
            for (index_t i = 0; i < cin_g; ++i) s += (std::int64_t{xp[i]} - x_zero_point) * (wp[i] - zw);
          }
      out(static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(s))), pix, oc, index_t{1});
    }
  }
}

}  // namespace ctq::kernels
