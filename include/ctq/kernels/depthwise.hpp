// Depthwise convolution (groups == in_channels == out_channels), channels last: each output
// channel is a sum over the kernel's taps of one input channel, so the kernel vectorises across
// channels. Weights are stored as int16 (w - w_zp), two taps of a channel side by side, so one
// `vpmaddwd` adds two taps of 16 channels exactly (|x * w'| <= 255 * 255); the input's zero point
// comes back through a per-channel offset, and padding reads a row filled with that zero point.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/qparams.hpp"
#include "arch.hpp"
#include "gemm_ukernel.hpp"

#if defined(CTQ_KERNEL_AVX512VNNI) || defined(CTQ_KERNEL_AVX2)
#include <immintrin.h>
#endif

namespace ctq::kernels {

namespace detail {

// A convolution's geometry as three spatial dimensions (leading ones of size 1).
struct conv3d {
  index_t batch, in_c, out_c, groups;
  index_t in[3], out[3], k[3], s[3], p[3], d[3];
  index_t taps() const { return k[0] * k[1] * k[2]; }
  index_t out_pixels() const { return batch * out[0] * out[1] * out[2]; }
};

inline constexpr index_t depthwise_block = 16;  // channels per vector

// Whether every tap of output coordinate o along dimension i lies in the input (no padding read).
inline bool taps_inside(const conv3d& c, index_t o, int i) {
  const index_t first = o * c.s[i] - c.p[i];
  return first >= 0 && first + (c.k[i] - 1) * c.d[i] < c.in[i];
}

}  // namespace detail

/// Depthwise weights: [tap pair][channel (padded to 16)][2] int16 of w - w_zp, and per-channel
/// sums of w - w_zp.
class DepthwiseWeights {
 public:
  DepthwiseWeights() = default;
  /// weights[c][tap] (OHWI with one input channel per group), zero points: 1 or `channels`.
  DepthwiseWeights(index_t channels, index_t taps, const std::int8_t* weights,
                   std::span<const std::int32_t> zero_points)
      : channels_(channels), taps_(taps) {
    const index_t padded = padded_channels(), pairs = (taps + 1) / 2;
    w_.assign(static_cast<std::size_t>(pairs * padded * 2), 0);
    sum_.assign(static_cast<std::size_t>(padded), 0);
    bool all_zero_points_zero = true;
    for (index_t c = 0; c < channels; ++c) {
      const std::int32_t zp = zero_points[zero_points.size() == 1 ? 0 : static_cast<std::size_t>(c)];
      if (zp < -128 || zp > 127) {
        raise(ctq::detail::message() << "ctq: PackedConvWeights: weight zero point " << zp << " of channel " << c
                                     << " is outside the int8 range [-128, 127]");
      }
      std::int32_t s = 0;
      for (index_t t = 0; t < taps; ++t) {
        const auto v = static_cast<std::int16_t>(weights[c * taps + t] - zp);
        w_[static_cast<std::size_t>(((t / 2) * padded + c) * 2 + t % 2)] = v;
        s += v;
      }
      sum_[static_cast<std::size_t>(c)] = s;
      if (zp != 0) all_zero_points_zero = false;
    }
    if (all_zero_points_zero) {
      // [tap group of 4][channel block of 64][vector j][128-bit lane L][channel i][tap b]: channel
      // c0 + 16 L + 4 j + i, tap 4 q + b. That is the order in which two rounds of byte and word
      // unpacking put four taps of 64 input channels (see depthwise_pixel).
      const index_t groups = (taps + 3) / 4, padded64 = (channels + 63) / 64 * 64;
      w8_.assign(static_cast<std::size_t>(groups * padded64 * 4), 0);
      for (index_t c = 0; c < channels; ++c) {
        const index_t c0 = c / 64 * 64, in = c - c0, lane = in / 16, j = in % 16 / 4, i = in % 4;
        for (index_t t = 0; t < taps; ++t) {
          w8_[static_cast<std::size_t>((t / 4 * padded64 + c0) * 4 + j * 64 + lane * 16 + i * 4 + t % 4)] =
              weights[c * taps + t];
        }
      }
    }
  }
  index_t channels() const { return channels_; }
  index_t taps() const { return taps_; }
  index_t padded_channels() const {
    return (channels_ + detail::depthwise_block - 1) / detail::depthwise_block * detail::depthwise_block;
  }
  const std::int16_t* data() const { return w_.data(); }
  /// The int8 layout for `vpdpbusd` (four taps per lane), made when every zero point is 0.
  const std::int8_t* data8() const { return w8_.empty() ? nullptr : w8_.data(); }
  const std::int32_t* sums() const { return sum_.data(); }
  bool empty() const { return channels_ == 0; }
  /// Bytes of packed weights.
  std::size_t bytes() const { return w8_.empty() ? w_.size() * sizeof(std::int16_t) : w8_.size(); }

 private:
  index_t channels_ = 0, taps_ = 0;
  std::vector<std::int16_t> w_;
  std::vector<std::int8_t> w8_;
  std::vector<std::int32_t> sum_;
};

/// Scratch bytes of a depthwise convolution: a row of zero points for the padding, the
/// per-channel offsets and the taps' row pointers.
inline std::size_t depthwise_scratch_size(const detail::conv3d& c) {
  const auto padded = static_cast<std::size_t>((c.in_c + 63) / 64 * 64);
  return padded + padded * sizeof(std::int32_t) +
         static_cast<std::size_t>((c.taps() + 3) / 4 * 4) * sizeof(const std::uint8_t*);
}

namespace detail {

// The per-pixel work: the taps' input rows (nullptr-free: padding points at the zero-point row),
// then every channel.
// Taps: the tap count when known at compile time (the loops unroll), or 0.
template <class Arch, index_t Taps, class Out>
CTQ_ALWAYS_INLINE void depthwise_pixel(const std::uint8_t* const* rows, index_t taps_, const DepthwiseWeights& w,
                                       const std::int32_t* offset, index_t pixel, const Out& out) {
  const index_t taps = Taps > 0 ? Taps : taps_;
  const index_t channels = w.channels(), padded = w.padded_channels();
  const std::int16_t* wd = w.data();
#if defined(CTQ_KERNEL_AVX512VNNI)
  if constexpr (arch::has_avx512vnni<Arch>) {
    using B = xsimd::batch<std::int32_t, arch::avx512vnni::xsimd_arch>;
    auto finish = [&](__m512i acc, index_t c, index_t valid) __attribute__((always_inline)) {
      if (valid <= 0) return;
      B v = B(acc) + B::load_unaligned(offset + c);
      if (valid >= depthwise_block) {
        out(v, pixel, c, depthwise_block);
      } else {
        alignas(64) std::int32_t buf[depthwise_block];
        v.store_aligned(buf);
        for (index_t j = 0; j < valid; ++j) out(buf[j], pixel, c + j, index_t{1});
      }
    };
    if (const std::int8_t* w8 = w.data8()) {
      // 64 channels at a time, four taps per vpdpbusd: the taps' bytes are interleaved by two
      // rounds of unpacking (within 128-bit lanes), which leaves channel 16 L + 4 j + i in lane L,
      // element i of accumulator j; the weights were packed in that order, and four 128-bit
      // shuffles per accumulator pair put the sums back in channel order.
      const index_t groups = (taps + 3) / 4, padded64 = (channels + 63) / 64 * 64;
      for (index_t c = 0; c < channels; c += 64) {
        const index_t valid = channels - c < 64 ? channels - c : 64;
        const __mmask64 mask = valid == 64 ? ~__mmask64{0} : ((__mmask64{1} << valid) - 1);
        __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                          _mm512_setzero_si512()};
        const std::int8_t* wq = w8 + c * 4;
        for (index_t q = 0; q < groups; ++q, wq += padded64 * 4) {
          const __m512i x0 = _mm512_maskz_loadu_epi8(mask, rows[4 * q] + c);
          const __m512i x1 = _mm512_maskz_loadu_epi8(mask, rows[4 * q + 1] + c);
          const __m512i x2 = _mm512_maskz_loadu_epi8(mask, rows[4 * q + 2] + c);
          const __m512i x3 = _mm512_maskz_loadu_epi8(mask, rows[4 * q + 3] + c);
          const __m512i ab_lo = _mm512_unpacklo_epi8(x0, x1), ab_hi = _mm512_unpackhi_epi8(x0, x1);
          const __m512i cd_lo = _mm512_unpacklo_epi8(x2, x3), cd_hi = _mm512_unpackhi_epi8(x2, x3);
          acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(ab_lo, cd_lo), _mm512_loadu_si512(wq));
          acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(ab_lo, cd_lo), _mm512_loadu_si512(wq + 64));
          acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(ab_hi, cd_hi), _mm512_loadu_si512(wq + 128));
          acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(ab_hi, cd_hi), _mm512_loadu_si512(wq + 192));
        }
        const __m512i t0 = _mm512_shuffle_i32x4(acc[0], acc[1], 0x44), t1 = _mm512_shuffle_i32x4(acc[2], acc[3], 0x44);
        const __m512i t2 = _mm512_shuffle_i32x4(acc[0], acc[1], 0xEE), t3 = _mm512_shuffle_i32x4(acc[2], acc[3], 0xEE);
        finish(_mm512_shuffle_i32x4(t0, t1, 0x88), c, valid);
        finish(_mm512_shuffle_i32x4(t0, t1, 0xDD), c + 16, valid - 16);
        finish(_mm512_shuffle_i32x4(t2, t3, 0x88), c + 32, valid - 32);
        finish(_mm512_shuffle_i32x4(t2, t3, 0xDD), c + 48, valid - 48);
      }
      return;
    }
    const index_t pairs = (taps + 1) / 2;
    for (index_t c = 0; c < channels; c += depthwise_block) {
      const index_t valid = channels - c < depthwise_block ? channels - c : depthwise_block;
      const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
      __m512i acc = _mm512_setzero_si512();
      for (index_t tp = 0; tp < pairs; ++tp) {
        const std::uint8_t* r0 = rows[2 * tp];
        const std::uint8_t* r1 = rows[2 * tp + 1 < taps ? 2 * tp + 1 : 2 * tp];
        const __m128i x0 = _mm_maskz_loadu_epi8(mask, r0 + c), x1 = _mm_maskz_loadu_epi8(mask, r1 + c);
        const __m256i pairs16 = _mm256_set_m128i(_mm_unpackhi_epi8(x0, x1), _mm_unpacklo_epi8(x0, x1));
        const __m512i wv = _mm512_loadu_si512(wd + (tp * padded + c) * 2);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_cvtepu8_epi16(pairs16), wv));
      }
      finish(acc, c, valid);
    }
    return;
  }
#endif
#if defined(CTQ_KERNEL_AVX2)
  if constexpr (std::is_same_v<Arch, arch::avx2>) {
    // Sixteen channels at a time while they last, then eight; two taps per vpmaddwd (the int16
    // weights' layout).
    using B = xsimd::batch<std::int32_t, arch::avx2::xsimd_arch>;
    const index_t pairs = (taps + 1) / 2;
    index_t c = 0;
    for (; c + 16 <= channels; c += 16) {
      __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
      for (index_t tp = 0; tp < pairs; ++tp) {
        const std::uint8_t* r0 = rows[2 * tp];
        const std::uint8_t* r1 = rows[2 * tp + 1 < taps ? 2 * tp + 1 : 2 * tp];
        const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + c));
        const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + c));
        const std::int16_t* wp = wd + (tp * padded + c) * 2;
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
        const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16));
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(x0, x1)), w0));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpackhi_epi8(x0, x1)), w1));
      }
      out(B(lo) + B::load_unaligned(offset + c), pixel, c, index_t{8});
      out(B(hi) + B::load_unaligned(offset + c + 8), pixel, c + 8, index_t{8});
    }
    auto load8 = [](const std::uint8_t* p, index_t valid) {
      if (valid >= 8) return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
      std::uint64_t v = 0;
      std::memcpy(&v, p, static_cast<std::size_t>(valid));
      return _mm_cvtsi64_si128(static_cast<long long>(v));
    };
    for (; c < channels; c += 8) {
      const index_t valid = channels - c < 8 ? channels - c : 8;
      __m256i acc = _mm256_setzero_si256();
      for (index_t tp = 0; tp < pairs; ++tp) {
        const std::uint8_t* r0 = rows[2 * tp];
        const std::uint8_t* r1 = rows[2 * tp + 1 < taps ? 2 * tp + 1 : 2 * tp];
        const __m128i both = _mm_unpacklo_epi8(load8(r0 + c, valid), load8(r1 + c, valid));
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wd + (tp * padded + c) * 2));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_cvtepu8_epi16(both), wv));
      }
      B v = B(acc) + B::load_unaligned(offset + c);
      if (valid == 8) {
        out(v, pixel, c, index_t{8});
      } else {
        alignas(32) std::int32_t buf[8];
        v.store_aligned(buf);
        for (index_t j = 0; j < valid; ++j) out(buf[j], pixel, c + j, index_t{1});
      }
    }
    return;
  }
#endif
  for (index_t c = 0; c < channels; ++c) {
    std::uint32_t s = static_cast<std::uint32_t>(offset[c]);
    for (index_t t = 0; t < taps; ++t) {
      s += static_cast<std::uint32_t>(std::int32_t{rows[t][c]} * wd[((t / 2) * padded + c) * 2 + t % 2]);
    }
    out(static_cast<std::int32_t>(s), pixel, c, index_t{1});
  }
}

}  // namespace detail

/// The depthwise convolution of x (geometry c, normalised to three spatial dimensions); scratch
/// has depthwise_scratch_size(c) bytes.
template <class Arch, class Out>
void depthwise_conv(const detail::conv3d& c, const std::uint8_t* x, std::int32_t x_zero_point,
                    const DepthwiseWeights& w, const Out& pipeline, std::span<std::byte> scratch) {
  // A local copy: the 8-bit stores cannot alias it, so its parameters stay in registers.
  const Out out = pipeline;
  const index_t channels = c.in_c, padded = (channels + 63) / 64 * 64, taps = c.taps();
  auto* zero_row = reinterpret_cast<std::uint8_t*>(scratch.data());
  auto* offset = reinterpret_cast<std::int32_t*>(scratch.data() + padded);
  auto** rows = reinterpret_cast<const std::uint8_t**>(scratch.data() + padded + padded * 4);
  std::memset(zero_row, x_zero_point, static_cast<std::size_t>(padded));
  for (index_t t = taps; t < (taps + 3) / 4 * 4; ++t) rows[t] = zero_row;  // the last group's unused taps
  const std::int32_t* sums = w.sums();
  for (index_t ch = 0; ch < w.padded_channels(); ++ch) {
    offset[ch] =
        static_cast<std::int32_t>(0u - static_cast<std::uint32_t>(x_zero_point) * static_cast<std::uint32_t>(sums[ch]));
  }
  // Each tap's offset from the receptive field's first input pixel, for the pixels whose taps all
  // lie in the input (no checks per tap).
  std::array<index_t, 27> tap_offset{};
  const bool offsets = taps <= 27;
  if (offsets) {
    index_t t = 0;
    for (index_t kd = 0; kd < c.k[0]; ++kd)
      for (index_t kh = 0; kh < c.k[1]; ++kh)
        for (index_t kw = 0; kw < c.k[2]; ++kw, ++t)
          tap_offset[static_cast<std::size_t>(t)] =
              ((kd * c.d[0] * c.in[1] + kh * c.d[1]) * c.in[2] + kw * c.d[2]) * channels;
  }
  auto run = [&](index_t pixel) {
    if (taps == 9) {
      detail::depthwise_pixel<Arch, 9>(rows, taps, w, offset, pixel, out);  // 3x3, unrolled
    } else {
      detail::depthwise_pixel<Arch, 0>(rows, taps, w, offset, pixel, out);
    }
  };
  index_t pixel = 0;
  for (index_t n = 0; n < c.batch; ++n)
    for (index_t od = 0; od < c.out[0]; ++od)
      for (index_t oh = 0; oh < c.out[1]; ++oh) {
        const bool rows_inside = offsets && detail::taps_inside(c, od, 0) && detail::taps_inside(c, oh, 1);
        for (index_t ow = 0; ow < c.out[2]; ++ow, ++pixel) {
          if (rows_inside && detail::taps_inside(c, ow, 2)) {
            const std::uint8_t* first =
                x + (((n * c.in[0] + od * c.s[0] - c.p[0]) * c.in[1] + oh * c.s[1] - c.p[1]) * c.in[2] + ow * c.s[2] -
                     c.p[2]) *
                        channels;
            for (index_t t = 0; t < taps; ++t) rows[t] = first + tap_offset[static_cast<std::size_t>(t)];
            run(pixel);
            continue;
          }
          index_t t = 0;
          for (index_t kd = 0; kd < c.k[0]; ++kd) {
            const index_t id = od * c.s[0] - c.p[0] + kd * c.d[0];
            for (index_t kh = 0; kh < c.k[1]; ++kh) {
              const index_t ih = oh * c.s[1] - c.p[1] + kh * c.d[1];
              const bool in = id >= 0 && id < c.in[0] && ih >= 0 && ih < c.in[1];
              const std::uint8_t* base = in ? x + ((n * c.in[0] + id) * c.in[1] + ih) * c.in[2] * channels : nullptr;
              for (index_t kw = 0; kw < c.k[2]; ++kw, ++t) {
                const index_t iw = ow * c.s[2] - c.p[2] + kw * c.d[2];
                rows[t] = in && iw >= 0 && iw < c.in[2] ? base + iw * channels : zero_row;
              }
            }
          }
          run(pixel);
        }
      }
}

}  // namespace ctq::kernels
