// The AVX2 GEMM microkernel: 4 rows x 8 columns. Bytes are widened to int16 and multiplied with
// `vpmaddwd`, which sums pairs of int16 products into int32 exactly. The faster `vpmaddubsw`
// sums pairs of u8 x s8 products into a saturating int16 (255 * 127 * 2 > 32767), which would
// make results depend on the data; ctq keeps every result exact instead.
//
// Per group of four k, the 32 weight bytes of the panel (8 columns x 4) widen to two registers
// of int16 (columns 0-3 and 4-7), the row's four activations to four int16 repeated; each
// `vpmaddwd` leaves two partial sums per column, added together once at the end.
#pragma once

#include "../../arch.hpp"

#if defined(CTQ_KERNEL_AVX2)
#include <immintrin.h>

#include <cstdint>

#include "../../gemm_ukernel.hpp"

namespace ctq::kernels {

template <>
struct gemm_ukernel<arch::avx2> {
  static constexpr index_t mr = 4;
  static constexpr index_t nr = 8;
  static constexpr std::int32_t a_shift = 0;
  static constexpr index_t k_align = 4;

  // Calls step(panel bytes, four) for each group of four k from group `first`: `four` holds each
  // row's four activation bytes (zero past K in the last group, whose packed weights are zero
  // there too).
  template <index_t Rows, class Step>
  CTQ_ALWAYS_INLINE static void for_each_group(const ukernel_args& p, Step& step, index_t first = 0) {
    const index_t whole = p.k / 4;
    const std::int8_t* w = p.b + first * 32;
    for (index_t g = first; g < whole; ++g, w += 32) {
      std::int32_t four[Rows];
#pragma GCC unroll 4
      for (index_t r = 0; r < Rows; ++r) std::memcpy(&four[r], p.a + r * p.lda + 4 * g, 4);
      step(w, four);
    }
    if (whole * 4 < p.k) {
      std::int32_t four[Rows];
      for (index_t r = 0; r < Rows; ++r)
        four[r] = static_cast<std::int32_t>(detail::load_group(p.a + r * p.lda, whole, p.k));
      step(w, four);
    }
  }

  template <index_t Rows, class Out>
  CTQ_ALWAYS_INLINE static void run(const ukernel_args& p, const Out& out) {
    __m256i lo[Rows], hi[Rows];
#pragma GCC unroll 4
    for (index_t r = 0; r < Rows; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
    auto step = [&](const std::int8_t* w, const std::int32_t(&four)[Rows]) {
      const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
      const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16)));
#pragma GCC unroll 4
      for (index_t r = 0; r < Rows; ++r) {
        const __m256i x = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(four[r])));
        lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(x, w0));
        hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(x, w1));
      }
    };
    for_each_group<Rows>(p, step);
    using B = xsimd::batch<std::int32_t, arch::avx2::xsimd_arch>;
#pragma GCC unroll 4
    for (index_t r = 0; r < Rows; ++r) {
      // lo = [c0 c0 c1 c1 | c2 c2 c3 c3], hi = [c4 c4 c5 c5 | c6 c6 c7 c7] (two partials each):
      // hadd -> [c0 c1 c4 c5 | c2 c3 c6 c7], then the 64-bit lanes reordered to c0..c7.
      const __m256i sums = _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo[r], hi[r]), 0xd8);
      detail::finish_lanes(B(sums), p, r, 0, out);
    }
  }

  /// The same product when every activation of the tile is at most 127 (gemm() checks; reduced-
  /// range activations are): `vpmaddubsw` on the packed bytes as they are, whose pairs of u8 x s8
  /// products then stay within int16 (2 * 127 * 128 = 32512), and `vpmaddwd` with ones to add
  /// int16 lanes into the column's int32. No byte widening.
  ///
  /// Two groups share one `vpmaddwd`: their `vpmaddubsw` results are added in int16, so each lane
  /// holds four products. Their sum S can exceed int16, but S - 63 * (sum of the lane's four
  /// weights) = sum (a - 63) * w cannot: a - 63 lies in [-63, 64], so each term lies in
  /// [64 * -128, 64 * 127] = [-8192, 8128] and four of them in [-32768, 32512]. The int16 adds
  /// wrap modulo 2^16, so subtracting that per-lane constant (pair_bias, made when packing) after
  /// them leaves exactly S - 63 * sum w; gemm() adds 63 * (the column's sum of paired weights)
  /// back in the column offset. Three multiply instructions per eight k instead of four.
  static constexpr bool has_7bit_path = true;
  static constexpr std::int32_t pair_center = 63;
  template <index_t Rows, class Out>
  CTQ_ALWAYS_INLINE static void run_7bit(const ukernel_args& p, const Out& out) {
    // the accumulators start at the column offsets (padded_n() entries: a whole panel's worth)
    __m256i acc[Rows];
    const __m256i start = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.col_offset));
#pragma GCC unroll 4
    for (index_t r = 0; r < Rows; ++r) acc[r] = start;
    const __m256i ones = _mm256_set1_epi16(1);
    const index_t pairs = p.k / 8;  // whole pairs of whole groups; PackedWeights made pair_bias for them
    const std::int8_t* w = p.b;
    for (index_t q = 0; q < pairs; ++q, w += 64) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
      const __m256i bias = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.pair_bias + 16 * q));
#pragma GCC unroll 4
      for (index_t r = 0; r < Rows; ++r) {
        std::int32_t x0, x1;
        std::memcpy(&x0, p.a + r * p.lda + 8 * q, 4);
        std::memcpy(&x1, p.a + r * p.lda + 8 * q + 4, 4);
        const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_set1_epi32(x0), w0),
                                           _mm256_maddubs_epi16(_mm256_set1_epi32(x1), w1));
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_sub_epi16(s, bias), ones));
      }
    }
    auto step = [&](const std::int8_t* wg, const std::int32_t(&four)[Rows]) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg));
#pragma GCC unroll 4
      for (index_t r = 0; r < Rows; ++r) {
        const __m256i prods = _mm256_maddubs_epi16(_mm256_set1_epi32(four[r]), wv);
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(prods, ones));
      }
    };
    for_each_group<Rows>(p, step, 2 * pairs);
    using B = xsimd::batch<std::int32_t, arch::avx2::xsimd_arch>;
#pragma GCC unroll 4
    for (index_t r = 0; r < Rows; ++r) detail::finish_lanes<true>(B(acc[r]), p, r, 0, out);
  }
};

}  // namespace ctq::kernels
#endif
