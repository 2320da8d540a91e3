// ctq's int8 transposed convolution (PyTorch's quantized ConvTranspose1d/2d/3d), channels last
// (NWC, NHWC, NDHWC), with stride, padding, output_padding, dilation and groups, and the same
// output pipeline as conv():
//
//   kernels::ConvTransposeGeometry<2> g{.batch = 1, .input = {28, 28}, .in_channels = 64, .out_channels = 32,
//                                       .kernel = {4, 4}, .stride = {2, 2}, .padding = {1, 1}};
//   kernels::PackedConvTransposeWeights<> w(g, weights, zero_points);           // at convert time
//   std::vector<std::byte> scratch(kernels::conv_transpose_scratch_size(w));   // or any buffer
//   kernels::conv_transpose(g, x, x_zero_point, w, pipeline, scratch);          // no allocation
//
// The pipeline sees one row per output pixel (batch-major, then the spatial dimensions in order)
// and one column per output channel: store<std::uint8_t>{y, out_channels} writes NHWC. Rows are
// visited phase by phase (below), not in order.
//
// Method: a gather by stride phase. Input position i reaches output o = i * stride - padding +
// k * dilation through tap k, so output o takes the taps with k * dilation = o + padding (mod
// stride), from i = (o + padding - k * dilation) / stride when 0 <= i < input. The outputs of one
// phase (o + padding) mod stride, per dimension, share their taps, and for them the transposed
// convolution is an ordinary one: im2col rows of the phase's taps (an input position out of range
// filled with the input's zero point, which contributes nothing after the zero-point correction)
// times, per group, the phase's weights packed for the GEMM (gemm.hpp), with the pipeline's rows
// sent to the phase's output pixels. Each tap belongs to exactly one phase, so the packed weights
// are as large as the layer's. A depthwise layer (groups == in_channels == out_channels) has no
// GEMM worth the name (N = K / taps = 1): it sums each output pixel's in-range taps directly,
// vectorised across channels, with the weights stored per phase as int32 (w - w_zp). A phase with
// no tap (kernel * dilation steps that miss it: a kernel smaller than the stride, a dilation
// sharing a factor with it) gets accumulators 0. The sum is the exact integer one, wrapped to int32
// like the GEMM's.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "../config.hpp"
#include "../core/error.hpp"
#include "../core/qparams.hpp"
#include "arch.hpp"
#include "conv.hpp"
#include "gemm.hpp"

#if CTQ_HAS_XSIMD
#include <xsimd/xsimd.hpp>

#include "../core/detail/simd_convert.hpp"
#endif

namespace ctq::kernels {

/// The shape of a transposed convolution with R spatial dimensions (outermost first: D, H, W),
/// with PyTorch's ConvTranspose parameters.
template <int R>
struct ConvTransposeGeometry {
  static_assert(R >= 1 && R <= 3,
                "ConvTransposeGeometry<R>: ctq's transposed convolutions have 1, 2 or 3 spatial dimensions");
  index_t batch = 1;
  std::array<index_t, R> input{};
  index_t in_channels = 0, out_channels = 0, groups = 1;
  std::array<index_t, R> kernel = filled(1), stride = filled(1), padding = filled(0), output_padding = filled(0),
                         dilation = filled(1);

  static constexpr std::array<index_t, R> filled(index_t v) {
    std::array<index_t, R> a{};
    a.fill(v);
    return a;
  }
  /// (in - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1 per dimension, as
  /// PyTorch.
  std::array<index_t, R> output() const {
    std::array<index_t, R> o{};
    for (int i = 0; i < R; ++i) {
      o[i] = (input[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + output_padding[i] + 1;
    }
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

// A transposed convolution's geometry as three spatial dimensions (leading ones of size 1).
struct conv_transpose3d {
  index_t batch, in_c, out_c, groups;
  index_t in[3], out[3], k[3], s[3], p[3], op[3], d[3];
  index_t taps() const { return k[0] * k[1] * k[2]; }
  index_t out_pixels() const { return batch * out[0] * out[1] * out[2]; }
  bool depthwise() const { return groups == in_c && groups == out_c && groups > 1; }
  // The same layer (every parameter but the batch).
  bool same_layer(const conv_transpose3d& o) const {
    if (in_c != o.in_c || out_c != o.out_c || groups != o.groups) return false;
    for (int i = 0; i < 3; ++i) {
      if (in[i] != o.in[i] || k[i] != o.k[i] || s[i] != o.s[i] || p[i] != o.p[i] || op[i] != o.op[i] || d[i] != o.d[i])
        return false;
    }
    return true;
  }
  // Phase f of dimension i: the first output with (o + p) mod s == f, and how many there are.
  index_t phase_first(int i, index_t f) const { return ((f - p[i]) % s[i] + s[i]) % s[i]; }
  index_t phase_count(int i, index_t f) const {
    const index_t first = phase_first(i, f);
    return first < out[i] ? (out[i] - first + s[i] - 1) / s[i] : 0;
  }
};

template <int R>
conv_transpose3d normalize(const ConvTransposeGeometry<R>& g) {
  conv_transpose3d c{g.batch,   g.in_channels, g.out_channels, g.groups,  {1, 1, 1}, {1, 1, 1},
                     {1, 1, 1}, {1, 1, 1},     {0, 0, 0},      {0, 0, 0}, {1, 1, 1}};
  const auto o = g.output();
  for (int i = 0; i < R; ++i) {
    const int j = 3 - R + i;
    c.in[j] = g.input[i], c.out[j] = o[i], c.k[j] = g.kernel[i], c.s[j] = g.stride[i], c.p[j] = g.padding[i];
    c.op[j] = g.output_padding[i], c.d[j] = g.dilation[i];
  }
  return c;
}

// PyTorch's checks (torch.nn.ConvTranspose*d and the quantized prepack), plus a non-empty output.
template <int R>
void check_geometry(const ConvTransposeGeometry<R>& g, const char* op) {
  if (g.batch < 1 || g.in_channels < 1 || g.out_channels < 1 || g.groups < 1) {
    raise(ctq::detail::message() << "ctq: " << op << ": batch (" << g.batch << "), in_channels (" << g.in_channels
                                 << "), out_channels (" << g.out_channels << ") and groups (" << g.groups
                                 << ") must be >= 1");
  }
  if (g.in_channels % g.groups != 0 || g.out_channels % g.groups != 0) {
    raise(ctq::detail::message() << "ctq: " << op << ": in_channels (" << g.in_channels << ") and out_channels ("
                                 << g.out_channels << ") must be divisible by groups (" << g.groups << ")");
  }
  const auto o = g.output();
  for (int i = 0; i < R; ++i) {
    if (g.input[i] < 1 || g.kernel[i] < 1 || g.stride[i] < 1 || g.dilation[i] < 1 || g.padding[i] < 0 ||
        g.output_padding[i] < 0) {
      raise(ctq::detail::message() << "ctq: " << op << ": spatial dimension " << i << ": input (" << g.input[i]
                                   << "), kernel (" << g.kernel[i] << "), stride (" << g.stride[i] << ") and dilation ("
                                   << g.dilation[i] << ") must be >= 1, padding (" << g.padding[i]
                                   << ") and output_padding (" << g.output_padding[i] << ") >= 0");
    }
    if (g.output_padding[i] >= g.stride[i] && g.output_padding[i] >= g.dilation[i]) {
      raise(ctq::detail::message() << "ctq: " << op << ": output_padding (" << g.output_padding[i]
                                   << ") must be smaller than either stride (" << g.stride[i] << ") or dilation ("
                                   << g.dilation[i] << ") in spatial dimension " << i << ", as in PyTorch");
    }
    if (o[i] < 1) {
      raise(ctq::detail::message() << "ctq: " << op << ": the output would be empty: (input - 1) * stride - 2 * padding"
                                   << " + dilation * (kernel - 1) + output_padding + 1 = " << o[i]
                                   << " in spatial dimension " << i << "; reduce the padding");
    }
  }
}

// A pipeline seen through a row map: GEMM row r is output pixel rows[r]; columns shifted to a
// group's output channels.
template <class Out>
struct rows_remapped {
  Out out;  // a copy, so kernels can keep it in registers
  const index_t* rows;
  index_t col0;
  template <class V>
  CTQ_ALWAYS_INLINE void operator()(const V& v, index_t row, index_t col, index_t count) const {
    out(v, rows[row], col + col0, count);
  }
};

inline constexpr std::size_t round_up_64(std::size_t n) { return (n + 63) / 64 * 64; }

// Architectures with an xsimd epilogue (every one but arch::scalar).
template <class Arch>
concept has_xsimd_arch = requires {
  typename Arch::xsimd_arch;
};

}  // namespace detail

/// Transposed-convolution weights, packed once: per stride phase with taps and per group, a GEMM
/// panel set (N = out_channels / groups, K = the phase's taps * in_channels / groups), or per phase
/// [tap of the phase][channel] int32 w - w_zp for a depthwise layer.
template <class Arch = arch::best>
class PackedConvTransposeWeights {
 public:
  PackedConvTransposeWeights() = default;

  /// weights: [in_channels][kernel...][out_channels / groups] int8, PyTorch's ConvTranspose layout
  /// [in_channels][out_channels / groups][kernel...] with the output channels moved last
  /// (w.permute(0, 2, 3, 1) for 2-d, (0, 2, 1) for 1-d, (0, 2, 3, 4, 1) for 3-d); output channel
  /// oc is column oc % (out_channels / groups) of input channels (oc / (out_channels / groups)) *
  /// in_channels / groups and on. zero_points: one (per-tensor) or out_channels (per output
  /// channel) values in [-128, 127].
  template <int R>
  PackedConvTransposeWeights(const ConvTransposeGeometry<R>& g, const std::int8_t* weights,
                             std::span<const std::int32_t> zero_points)
      : geometry_(detail::normalize(g)) {
    detail::check_geometry(g, "PackedConvTransposeWeights");
    const auto zps = static_cast<index_t>(zero_points.size());
    if (zps != 1 && zps != g.out_channels) {
      raise(ctq::detail::message() << "ctq: PackedConvTransposeWeights: " << zps << " zero points for "
                                   << g.out_channels << " output channels; give one or one per output channel");
    }
    for (index_t i = 0; i < zps; ++i) {
      const std::int32_t zp = zero_points[static_cast<std::size_t>(i)];
      if (zp < -128 || zp > 127) {
        raise(ctq::detail::message() << "ctq: PackedConvTransposeWeights: weight zero point " << zp
                                     << " is outside the int8 range [-128, 127]");
      }
    }
    const auto& c = geometry_;
    const index_t cin_g = c.in_c / c.groups, cout_g = c.out_c / c.groups, taps = c.taps();
    // Per dimension and phase f: the taps k with k * d = f (mod s), in increasing order.
    for (int i = 0; i < 3; ++i) {
      tap_begin_[i].assign(static_cast<std::size_t>(c.s[i] + 1), 0);
      for (index_t f = 0; f < c.s[i]; ++f) {
        tap_begin_[i][static_cast<std::size_t>(f)] = static_cast<index_t>(tap_k_[i].size());
        for (index_t k = 0; k < c.k[i]; ++k)
          if (k * c.d[i] % c.s[i] == f) tap_k_[i].push_back(k);
      }
      tap_begin_[i][static_cast<std::size_t>(c.s[i])] = static_cast<index_t>(tap_k_[i].size());
    }
    const index_t phases = c.s[0] * c.s[1] * c.s[2];
    first_weights_.assign(static_cast<std::size_t>(phases), -1);
    std::vector<std::int8_t> rows;
    index_t most_rows = 0;
    for (index_t ph = 0; ph < phases; ++ph) {
      const index_t f[3] = {ph / (c.s[1] * c.s[2]), ph / c.s[2] % c.s[1], ph % c.s[2]};
      const std::span<const index_t> t0 = phase_taps(0, f[0]), t1 = phase_taps(1, f[1]), t2 = phase_taps(2, f[2]);
      const auto n_taps = static_cast<index_t>(t0.size() * t1.size() * t2.size());
      if (n_taps == 0) continue;
      const index_t k = n_taps * cin_g;
      max_k_ = std::max(max_k_, k);
      most_rows =
          std::max(most_rows, c.batch * c.phase_count(0, f[0]) * c.phase_count(1, f[1]) * c.phase_count(2, f[2]));
      if (c.depthwise()) {
        first_weights_[static_cast<std::size_t>(ph)] = static_cast<index_t>(depthwise_.size());
        for (index_t k0 : t0)
          for (index_t k1 : t1)
            for (index_t k2 : t2) {
              const index_t tap = (k0 * c.k[1] + k1) * c.k[2] + k2;
              for (index_t ch = 0; ch < c.out_c; ++ch)
                depthwise_.push_back(weights[ch * taps + tap] -
                                     zero_points[zps == 1 ? 0 : static_cast<std::size_t>(ch)]);
            }
        continue;
      }
      first_weights_[static_cast<std::size_t>(ph)] = static_cast<index_t>(groups_.size());
      rows.assign(static_cast<std::size_t>(cout_g * k), 0);
      for (index_t grp = 0; grp < c.groups; ++grp) {
        // GEMM row oc, column (j, ic): tap j of the phase, input channel ic of the group.
        index_t j = 0;
        for (index_t k0 : t0)
          for (index_t k1 : t1)
            for (index_t k2 : t2) {
              const index_t tap = (k0 * c.k[1] + k1) * c.k[2] + k2;
              for (index_t ic = 0; ic < cin_g; ++ic) {
                const std::int8_t* src = weights + ((grp * cin_g + ic) * taps + tap) * cout_g;
                for (index_t oc = 0; oc < cout_g; ++oc)
                  rows[static_cast<std::size_t>(oc * k + j * cin_g + ic)] = src[oc];
              }
              ++j;
            }
        std::span<const std::int32_t> zp = zps == 1 ? zero_points : zero_points.subspan(grp * cout_g, cout_g);
        groups_.emplace_back(rows.data(), cout_g, k, k, zp);
      }
    }
    // Rows per block: fixed here, so that the scratch size does not depend on the batch of a call.
    block_rows_ = std::min(detail::conv_block_rows, most_rows);
    for (const auto& p : groups_) gemm_ints_ = std::max(gemm_ints_, gemm_scratch_size(p, block_rows_));
  }

  bool empty() const { return first_weights_.empty(); }
  /// The geometry the weights were packed for (any batch may be used with them).
  const detail::conv_transpose3d& geometry() const { return geometry_; }
  bool depthwise() const { return geometry_.depthwise(); }
  /// Bytes of packed weights.
  std::size_t bytes() const {
    std::size_t n = 0;
    for (const auto& p : groups_) n += p.bytes();
    n += depthwise_.size() * sizeof(std::int32_t);
    return n;
  }

  // For the kernel: the taps of phase f of dimension i; the packed weights of a phase and group,
  // or nullptr for a phase without taps (a depthwise layer's likewise: [tap][channel]); output
  // pixels per block; the largest K (depthwise: the most taps); GEMM scratch.
  std::span<const index_t> phase_taps(int i, index_t f) const {
    const auto b = static_cast<std::size_t>(tap_begin_[i][static_cast<std::size_t>(f)]);
    const auto e = static_cast<std::size_t>(tap_begin_[i][static_cast<std::size_t>(f) + 1]);
    return std::span<const index_t>(tap_k_[i]).subspan(b, e - b);
  }
  const PackedWeights<Arch>* phase_weights(index_t phase, index_t group) const {
    const index_t first = first_weights_[static_cast<std::size_t>(phase)];
    return first < 0 || depthwise() ? nullptr : &groups_[static_cast<std::size_t>(first + group)];
  }
  bool phase_has_taps(index_t phase) const { return first_weights_[static_cast<std::size_t>(phase)] >= 0; }
  const std::int32_t* phase_depthwise(index_t phase) const {
    const index_t first = first_weights_[static_cast<std::size_t>(phase)];
    return first < 0 || !depthwise() ? nullptr : depthwise_.data() + first;
  }
  index_t block_rows() const { return block_rows_; }
  index_t max_k() const { return max_k_; }
  index_t gemm_scratch_ints() const { return gemm_ints_; }

 private:
  detail::conv_transpose3d geometry_{};
  std::vector<index_t> tap_k_[3], tap_begin_[3];
  std::vector<index_t> first_weights_;  // per phase: its group 0 in groups_ (depthwise_), or -1
  std::vector<PackedWeights<Arch>> groups_;
  std::vector<std::int32_t> depthwise_;
  index_t block_rows_ = 0, max_k_ = 0, gemm_ints_ = 0;
};

/// Scratch bytes conv_transpose() needs with these weights (for any batch).
template <class Arch>
std::size_t conv_transpose_scratch_size(const PackedConvTransposeWeights<Arch>& w) {
  if (w.depthwise()) {
    // Per in-range tap: its input pixel and its weights.
    return static_cast<std::size_t>(w.max_k()) * (sizeof(const std::uint8_t*) + sizeof(const std::int32_t*));
  }
  const auto rows = static_cast<std::size_t>(w.block_rows());
  return detail::round_up_64(rows * static_cast<std::size_t>(w.max_k())) + detail::round_up_64(rows * sizeof(index_t)) +
         static_cast<std::size_t>(w.gemm_scratch_ints()) * sizeof(std::int32_t);
}

namespace detail {

// The output pixels of one stride phase ph (f per dimension): first + j * s, j < count, per
// dimension; row q = ((n * count0 + j0) * count1 + j1) * count2 + j2 of the phase.
struct phase_pixels {
  const conv_transpose3d& c;
  index_t f[3], first[3], count[3], rows;
  phase_pixels(const conv_transpose3d& g, index_t ph)
      : c(g), f{ph / (g.s[1] * g.s[2]), ph / g.s[2] % g.s[1], ph % g.s[2]} {
    for (int i = 0; i < 3; ++i) first[i] = c.phase_first(i, f[i]), count[i] = c.phase_count(i, f[i]);
    rows = c.batch * count[0] * count[1] * count[2];
  }
  index_t pixel(index_t q) const {
    const index_t j2 = q % count[2];
    q /= count[2];
    const index_t j1 = q % count[1];
    q /= count[1];
    const index_t j0 = q % count[0];
    const index_t n = q / count[0];
    return ((n * c.out[0] + first[0] + j0 * c.s[0]) * c.out[1] + first[1] + j1 * c.s[1]) * c.out[2] + first[2] +
           j2 * c.s[2];
  }
};

// Calls f(pointer to the input pixel's channels, or nullptr out of range) for each tap of a phase
// (taps[i]: dimension i's, in order) at output pixel pix. Exact divisions: the numerators are
// multiples of the stride (possibly negative).
template <class F>
CTQ_ALWAYS_INLINE void for_each_tap_input(const conv_transpose3d& c, const std::uint8_t* x, index_t pix,
                                          const std::span<const index_t> (&taps)[3], F&& f) {
  const index_t ow = pix % c.out[2];
  pix /= c.out[2];
  const index_t oh = pix % c.out[1];
  pix /= c.out[1];
  const index_t od = pix % c.out[0];
  const index_t n = pix / c.out[0];
  for (index_t kd : taps[0]) {
    const index_t id = (od + c.p[0] - kd * c.d[0]) / c.s[0];
    for (index_t kh : taps[1]) {
      const index_t ih = (oh + c.p[1] - kh * c.d[1]) / c.s[1];
      const bool row_in = id >= 0 && id < c.in[0] && ih >= 0 && ih < c.in[1];
      const std::uint8_t* row = row_in ? x + ((n * c.in[0] + id) * c.in[1] + ih) * c.in[2] * c.in_c : nullptr;
      for (index_t kw : taps[2]) {
        const index_t iw = (ow + c.p[2] - kw * c.d[2]) / c.s[2];
        f(row_in && iw >= 0 && iw < c.in[2] ? row + iw * c.in_c : nullptr);
      }
    }
  }
}

// One phase, groups of a GEMM each: im2col rows of the phase's taps, block by block.
template <class Arch, class Out>
void conv_transpose_gemm_phase(const conv_transpose3d& c, const std::uint8_t* x, std::int32_t x_zero_point,
                               const PackedConvTransposeWeights<Arch>& w, index_t ph,
                               const std::span<const index_t> (&taps)[3], const phase_pixels& pp, const Out& out,
                               std::span<std::byte> scratch) {
  const index_t cin_g = c.in_c / c.groups, cout_g = c.out_c / c.groups;
  const index_t k = static_cast<index_t>(taps[0].size() * taps[1].size() * taps[2].size()) * cin_g;
  const index_t block = w.block_rows();
  auto* a = reinterpret_cast<std::uint8_t*>(scratch.data());
  std::byte* after_a = scratch.data() + round_up_64(static_cast<std::size_t>(block * w.max_k()));
  auto* pixel_of_row = reinterpret_cast<index_t*>(after_a);
  auto* ints =
      reinterpret_cast<std::int32_t*>(after_a + round_up_64(static_cast<std::size_t>(block) * sizeof(index_t)));
  const std::span<std::int32_t> gs(ints, static_cast<std::size_t>(w.gemm_scratch_ints()));
  const auto fill = static_cast<std::uint8_t>(x_zero_point);
  for (index_t r0 = 0; r0 < pp.rows; r0 += block) {
    const index_t m = std::min(block, pp.rows - r0);
    for (index_t r = 0; r < m; ++r) pixel_of_row[r] = pp.pixel(r0 + r);
    for (index_t grp = 0; grp < c.groups; ++grp) {
      // im2col rows of this block and group: the phase's taps in the packed order; out of range,
      // the input's zero point.
      for (index_t r = 0; r < m; ++r) {
        std::uint8_t* dst = a + r * k;
        for_each_tap_input(c, x, pixel_of_row[r], taps, [&](const std::uint8_t* src) {
          if (src) {
            copy_channels(dst, src + grp * cin_g, cin_g);
          } else {
            std::memset(dst, fill, static_cast<std::size_t>(cin_g));
          }
          dst += cin_g;
        });
      }
      const rows_remapped<Out> o{out, pixel_of_row, grp * cout_g};
      gemm(a, m, k, x_zero_point, *w.phase_weights(ph, grp), o, gs);
    }
  }
}

// One phase of a depthwise layer, pixel by pixel: sum over the in-range taps of (x - x_zp) *
// (w - w_zp), a vector of channels at a time, the last channels lane by lane.
template <class Arch, class Out>
void conv_transpose_depthwise_phase(const conv_transpose3d& c, const std::uint8_t* x, std::int32_t x_zero_point,
                                    const std::int32_t* weights, const std::span<const index_t> (&taps)[3],
                                    const phase_pixels& pp, const Out& pipeline, std::span<std::byte> scratch) {
  // A local copy: the 8-bit stores cannot alias it, so its parameters stay in registers.
  const Out out = pipeline;
  const index_t channels = c.in_c, n_taps = static_cast<index_t>(taps[0].size() * taps[1].size() * taps[2].size());
  auto** rows = reinterpret_cast<const std::uint8_t**>(scratch.data());
  auto** wrows = reinterpret_cast<const std::int32_t**>(scratch.data() + n_taps * sizeof(const std::uint8_t*));
  for (index_t q = 0; q < pp.rows; ++q) {
    const index_t pix = pp.pixel(q);
    index_t j = 0, used = 0;
    for_each_tap_input(c, x, pix, taps, [&](const std::uint8_t* src) {
      if (src) rows[used] = src, wrows[used++] = weights + j * channels;
      ++j;
    });
    index_t ch = 0;
#if CTQ_HAS_XSIMD
    if constexpr (has_xsimd_arch<Arch>) {
      using A = typename Arch::xsimd_arch;
      using B = xsimd::batch<std::int32_t, A>;
      constexpr auto n = static_cast<index_t>(B::size);
      const B zp(x_zero_point);
      for (; ch + n <= channels; ch += n) {
        B acc(0);
        for (index_t t = 0; t < used; ++t) {
          acc += (ctq::detail::load_widen<A>(rows[t] + ch) - zp) * B::load_unaligned(wrows[t] + ch);
        }
        out(acc, pix, ch, n);
      }
    }
#endif
    for (; ch < channels; ++ch) {
      std::uint32_t s = 0;
      for (index_t t = 0; t < used; ++t) {
        s += static_cast<std::uint32_t>((std::int32_t{rows[t][ch]} - x_zero_point) * wrows[t][ch]);
      }
      out(static_cast<std::int32_t>(s), pix, ch, index_t{1});
    }
  }
}

}  // namespace detail

/// out(y) for the transposed convolution of x (uint8, channels last, zero point x_zero_point)
/// with the packed weights; `g` must be the geometry the weights were packed for, except that
/// the batch may differ. No allocation.
template <class Arch, int R, class Out>
void conv_transpose(const ConvTransposeGeometry<R>& g, const std::uint8_t* x, std::int32_t x_zero_point,
                    const PackedConvTransposeWeights<Arch>& w, const Out& out, std::span<std::byte> scratch) {
  if (w.empty()) raise("ctq: conv_transpose: the packed weights are empty");
  detail::check_geometry(g, "conv_transpose");
  const detail::conv_transpose3d c = detail::normalize(g);
  if (!c.same_layer(w.geometry())) {
    raise(
        "ctq: conv_transpose: the geometry differs from the one the weights were packed for (only the batch may "
        "differ)");
  }
  if (x_zero_point < 0 || x_zero_point > 255) {
    raise(ctq::detail::message() << "ctq: conv_transpose: input zero point " << x_zero_point
                                 << " is outside the uint8 range [0, 255]");
  }
  const std::size_t need = conv_transpose_scratch_size(w);
  if (scratch.size() < need) {
    raise(ctq::detail::message() << "ctq: conv_transpose: scratch holds " << scratch.size() << " bytes, the call needs "
                                 << need << " (conv_transpose_scratch_size)");
  }
  const index_t phases = c.s[0] * c.s[1] * c.s[2];
  for (index_t ph = 0; ph < phases; ++ph) {
    const detail::phase_pixels pp(c, ph);
    if (pp.rows == 0) continue;
    if (!w.phase_has_taps(ph)) {
      // No tap reaches these outputs: the sum is empty.
      for (index_t q = 0; q < pp.rows; ++q) {
        const index_t pix = pp.pixel(q);
        for (index_t oc = 0; oc < c.out_c; ++oc) out(std::int32_t{0}, pix, oc, index_t{1});
      }
      continue;
    }
    const std::span<const index_t> taps[3] = {w.phase_taps(0, pp.f[0]), w.phase_taps(1, pp.f[1]),
                                              w.phase_taps(2, pp.f[2])};
    if (w.depthwise()) {
      detail::conv_transpose_depthwise_phase<Arch>(c, x, x_zero_point, w.phase_depthwise(ph), taps, pp, out, scratch);
    } else {
      detail::conv_transpose_gemm_phase(c, x, x_zero_point, w, ph, taps, pp, out, scratch);
    }
  }
}

/// The plain definition, for tests: every output element as the sum, over the taps k and input
/// positions i with i * stride - padding + k * dilation = o in every dimension and over the
/// group's input channels, of (x - x_zero_point) * (w - w_zero_point), in 64-bit integers,
/// wrapped to int32, then through `out` lane by lane, in row order. weights and zero points as for
/// PackedConvTransposeWeights.
template <int R, class Out>
void conv_transpose_reference(const ConvTransposeGeometry<R>& g, const std::uint8_t* x, std::int32_t x_zero_point,
                              const std::int8_t* weights, std::span<const std::int32_t> zero_points, const Out& out) {
  detail::check_geometry(g, "conv_transpose_reference");
  const detail::conv_transpose3d c = detail::normalize(g);
  const index_t cin_g = c.in_c / c.groups, cout_g = c.out_c / c.groups, taps = c.taps();
  for (index_t pix = 0; pix < c.out_pixels(); ++pix) {
    index_t t = pix;
    const index_t o[3] = {t / (c.out[1] * c.out[2]) % c.out[0], t / c.out[2] % c.out[1], t % c.out[2]};
    const index_t n = t / (c.out[0] * c.out[1] * c.out[2]);
    for (index_t oc = 0; oc < c.out_c; ++oc) {
      const index_t grp = oc / cout_g;
      const std::int64_t zw = zero_points[zero_points.size() == 1 ? 0 : static_cast<std::size_t>(oc)];
      std::int64_t s = 0;
      for (index_t tap = 0; tap < taps; ++tap) {
        const index_t k[3] = {tap / (c.k[1] * c.k[2]), tap / c.k[2] % c.k[1], tap % c.k[2]};
        index_t i[3];
        bool hit = true;
        for (int dim = 0; dim < 3 && hit; ++dim) {
          const index_t num = o[dim] + c.p[dim] - k[dim] * c.d[dim];
          i[dim] = num / c.s[dim];
          hit = num % c.s[dim] == 0 && i[dim] >= 0 && i[dim] < c.in[dim];
        }
        if (!hit) continue;
        const std::uint8_t* xp = x + (((n * c.in[0] + i[0]) * c.in[1] + i[1]) * c.in[2] + i[2]) * c.in_c + grp * cin_g;
        for (index_t ic = 0; ic < cin_g; ++ic) {
          const std::int64_t wv = weights[((grp * cin_g + ic) * taps + tap) * cout_g + oc % cout_g];
          s += (std::int64_t{xp[ic]} - x_zero_point) * (wv - zw);
        }
      }
      out(static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(s))), pix, oc, index_t{1});
    }
  }
}

}  // namespace ctq::kernels
