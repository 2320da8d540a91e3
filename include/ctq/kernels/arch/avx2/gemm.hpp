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

  // Calls step(panel bytes, four) for each group of four k: `four` holds each row's four
  // activation bytes (zero past K in the last group, whose packed weights are zero there too).
  template <index_t Rows, class Step>
  CTQ_ALWAYS_INLINE static void for_each_group(const ukernel_args& p, Step& step) {
    const index_t whole = p.k / 4;
    const std::int8_t* w = p.b;
    for (index_t g = 0; g < whole; ++g, w += 32) {
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
  /// products then stay within int16 (2 * 127 * 128 = 32512), then `vpmaddwd` with ones adds the
  /// pairs into the column's int32. Exact, and no byte widening.
  static constexpr bool has_7bit_path = true;
  template <index_t Rows, class Out>
  CTQ_ALWAYS_INLINE static void run_7bit(const ukernel_args& p, const Out& out) {
    __m256i acc[Rows];
#pragma GCC unroll 4
    for (index_t r = 0; r < Rows; ++r) acc[r] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    auto step = [&](const std::int8_t* w, const std::int32_t(&four)[Rows]) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
#pragma GCC unroll 4
      for (index_t r = 0; r < Rows; ++r) {
        const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi32(four[r]), wv);
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(pairs, ones));
      }
    };
    for_each_group<Rows>(p, step);
    using B = xsimd::batch<std::int32_t, arch::avx2::xsimd_arch>;
#pragma GCC unroll 4
    for (index_t r = 0; r < Rows; ++r) detail::finish_lanes(B(acc[r]), p, r, 0, out);
  }
};

}  // namespace ctq::kernels
#endif
