// The AVX-512 VNNI GEMM microkernel: 12 rows x 32 columns of int32 accumulators in 24 zmm
// registers. Per group of four k: two 64-byte weight loads, one 4-byte broadcast per row and
// `vpdpbusd` (unsigned activations x signed weights, four products summed into each int32 lane,
// no intermediate saturation).
#pragma once

#include "../../arch.hpp"

#if defined(CTQ_KERNEL_AVX512VNNI)
#include <immintrin.h>

#include <cstdint>

#include "../../gemm_ukernel.hpp"

namespace ctq::kernels {

namespace detail {

// A tile of Rows (4, 8 or 12) x 32 over `steps` whole groups of four k (steps >= 1), in assembly:
// g++ 12 does not keep 24 accumulators in registers when they are written as an array of
// __m512i (it spills and shuffles them every iteration, 3x slower). Row r is read at
// rows[r / 3] + (r % 3) * lda: four base pointers and lda in an index register. The accumulators
// end in tile[Rows][32].
template <index_t Rows>
inline void vnni_rows_x32(const std::uint8_t* const* rows, index_t lda, const std::int8_t* w, index_t steps,
                          std::int32_t* tile) {
  static_assert(Rows == 4 || Rows == 8 || Rows == 12);
  const std::uint8_t* a0 = rows[0];
  [[maybe_unused]] const std::uint8_t* a3 = rows[1];
  [[maybe_unused]] const std::uint8_t* a6 = rows[2];
  [[maybe_unused]] const std::uint8_t* a9 = rows[3];
  if constexpr (Rows == 4) {
    __asm__ volatile(
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "1:\n\t"
        "vmovdqu64 (%[w]), %%zmm0\n\t"
        "vmovdqu64 64(%[w]), %%zmm1\n\t"
        "vpbroadcastd (%[a0]), %%zmm2\n\t"
        "vpdpbusd %%zmm0, %%zmm2, %%zmm8\n\t"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm9\n\t"
        "vpbroadcastd (%[a0],%[lda],1), %%zmm3\n\t"
        "vpdpbusd %%zmm0, %%zmm3, %%zmm10\n\t"
        "vpdpbusd %%zmm1, %%zmm3, %%zmm11\n\t"
        "vpbroadcastd (%[a0],%[lda],2), %%zmm4\n\t"
        "vpdpbusd %%zmm0, %%zmm4, %%zmm12\n\t"
        "vpdpbusd %%zmm1, %%zmm4, %%zmm13\n\t"
        "vpbroadcastd (%[a3]), %%zmm5\n\t"
        "vpdpbusd %%zmm0, %%zmm5, %%zmm14\n\t"
        "vpdpbusd %%zmm1, %%zmm5, %%zmm15\n\t"
        "add $128, %[w]\n\t"
        "add $4, %[a0]\n\t"
        "add $4, %[a3]\n\t"
        "dec %[steps]\n\t"
        "jnz 1b\n\t"
        "vmovdqu64 %%zmm8, 0(%[tile])\n\t"
        "vmovdqu64 %%zmm9, 64(%[tile])\n\t"
        "vmovdqu64 %%zmm10, 128(%[tile])\n\t"
        "vmovdqu64 %%zmm11, 192(%[tile])\n\t"
        "vmovdqu64 %%zmm12, 256(%[tile])\n\t"
        "vmovdqu64 %%zmm13, 320(%[tile])\n\t"
        "vmovdqu64 %%zmm14, 384(%[tile])\n\t"
        "vmovdqu64 %%zmm15, 448(%[tile])\n\t"
        : [a0] "+r"(a0), [a3] "+r"(a3), [w] "+r"(w), [steps] "+r"(steps)
        : [lda] "r"(lda), [tile] "r"(tile)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
          "xmm13", "xmm14", "xmm15", "memory", "cc");
  } else if constexpr (Rows == 8) {
    __asm__ volatile(
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vmovdqu64 (%[w]), %%zmm0\n\t"
        "vmovdqu64 64(%[w]), %%zmm1\n\t"
        "vpbroadcastd (%[a0]), %%zmm2\n\t"
        "vpdpbusd %%zmm0, %%zmm2, %%zmm8\n\t"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm9\n\t"
        "vpbroadcastd (%[a0],%[lda],1), %%zmm3\n\t"
        "vpdpbusd %%zmm0, %%zmm3, %%zmm10\n\t"
        "vpdpbusd %%zmm1, %%zmm3, %%zmm11\n\t"
        "vpbroadcastd (%[a0],%[lda],2), %%zmm4\n\t"
        "vpdpbusd %%zmm0, %%zmm4, %%zmm12\n\t"
        "vpdpbusd %%zmm1, %%zmm4, %%zmm13\n\t"
        "vpbroadcastd (%[a3]), %%zmm5\n\t"
        "vpdpbusd %%zmm0, %%zmm5, %%zmm14\n\t"
        "vpdpbusd %%zmm1, %%zmm5, %%zmm15\n\t"
        "vpbroadcastd (%[a3],%[lda],1), %%zmm6\n\t"
        "vpdpbusd %%zmm0, %%zmm6, %%zmm16\n\t"
        "vpdpbusd %%zmm1, %%zmm6, %%zmm17\n\t"
        "vpbroadcastd (%[a3],%[lda],2), %%zmm7\n\t"
        "vpdpbusd %%zmm0, %%zmm7, %%zmm18\n\t"
        "vpdpbusd %%zmm1, %%zmm7, %%zmm19\n\t"
        "vpbroadcastd (%[a6]), %%zmm2\n\t"
        "vpdpbusd %%zmm0, %%zmm2, %%zmm20\n\t"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm21\n\t"
        "vpbroadcastd (%[a6],%[lda],1), %%zmm3\n\t"
        "vpdpbusd %%zmm0, %%zmm3, %%zmm22\n\t"
        "vpdpbusd %%zmm1, %%zmm3, %%zmm23\n\t"
        "add $128, %[w]\n\t"
        "add $4, %[a0]\n\t"
        "add $4, %[a3]\n\t"
        "add $4, %[a6]\n\t"
        "dec %[steps]\n\t"
        "jnz 1b\n\t"
        "vmovdqu64 %%zmm8, 0(%[tile])\n\t"
        "vmovdqu64 %%zmm9, 64(%[tile])\n\t"
        "vmovdqu64 %%zmm10, 128(%[tile])\n\t"
        "vmovdqu64 %%zmm11, 192(%[tile])\n\t"
        "vmovdqu64 %%zmm12, 256(%[tile])\n\t"
        "vmovdqu64 %%zmm13, 320(%[tile])\n\t"
        "vmovdqu64 %%zmm14, 384(%[tile])\n\t"
        "vmovdqu64 %%zmm15, 448(%[tile])\n\t"
        "vmovdqu64 %%zmm16, 512(%[tile])\n\t"
        "vmovdqu64 %%zmm17, 576(%[tile])\n\t"
        "vmovdqu64 %%zmm18, 640(%[tile])\n\t"
        "vmovdqu64 %%zmm19, 704(%[tile])\n\t"
        "vmovdqu64 %%zmm20, 768(%[tile])\n\t"
        "vmovdqu64 %%zmm21, 832(%[tile])\n\t"
        "vmovdqu64 %%zmm22, 896(%[tile])\n\t"
        "vmovdqu64 %%zmm23, 960(%[tile])\n\t"
        : [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [w] "+r"(w), [steps] "+r"(steps)
        : [lda] "r"(lda), [tile] "r"(tile)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
          "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "memory",
          "cc");
  } else {
    __asm__ volatile(
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "vpxord %%zmm24, %%zmm24, %%zmm24\n\t"
        "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"
        "vpxord %%zmm26, %%zmm26, %%zmm26\n\t"
        "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"
        "vpxord %%zmm28, %%zmm28, %%zmm28\n\t"
        "vpxord %%zmm29, %%zmm29, %%zmm29\n\t"
        "vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
        "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
        "1:\n\t"
        "vmovdqu64 (%[w]), %%zmm0\n\t"
        "vmovdqu64 64(%[w]), %%zmm1\n\t"
        "vpbroadcastd (%[a0]), %%zmm2\n\t"
        "vpdpbusd %%zmm0, %%zmm2, %%zmm8\n\t"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm9\n\t"
        "vpbroadcastd (%[a0],%[lda],1), %%zmm3\n\t"
        "vpdpbusd %%zmm0, %%zmm3, %%zmm10\n\t"
        "vpdpbusd %%zmm1, %%zmm3, %%zmm11\n\t"
        "vpbroadcastd (%[a0],%[lda],2), %%zmm4\n\t"
        "vpdpbusd %%zmm0, %%zmm4, %%zmm12\n\t"
        "vpdpbusd %%zmm1, %%zmm4, %%zmm13\n\t"
        "vpbroadcastd (%[a3]), %%zmm5\n\t"
        "vpdpbusd %%zmm0, %%zmm5, %%zmm14\n\t"
        "vpdpbusd %%zmm1, %%zmm5, %%zmm15\n\t"
        "vpbroadcastd (%[a3],%[lda],1), %%zmm6\n\t"
        "vpdpbusd %%zmm0, %%zmm6, %%zmm16\n\t"
        "vpdpbusd %%zmm1, %%zmm6, %%zmm17\n\t"
        "vpbroadcastd (%[a3],%[lda],2), %%zmm7\n\t"
        "vpdpbusd %%zmm0, %%zmm7, %%zmm18\n\t"
        "vpdpbusd %%zmm1, %%zmm7, %%zmm19\n\t"
        "vpbroadcastd (%[a6]), %%zmm2\n\t"
        "vpdpbusd %%zmm0, %%zmm2, %%zmm20\n\t"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm21\n\t"
        "vpbroadcastd (%[a6],%[lda],1), %%zmm3\n\t"
        "vpdpbusd %%zmm0, %%zmm3, %%zmm22\n\t"
        "vpdpbusd %%zmm1, %%zmm3, %%zmm23\n\t"
        "vpbroadcastd (%[a6],%[lda],2), %%zmm4\n\t"
        "vpdpbusd %%zmm0, %%zmm4, %%zmm24\n\t"
        "vpdpbusd %%zmm1, %%zmm4, %%zmm25\n\t"
        "vpbroadcastd (%[a9]), %%zmm5\n\t"
        "vpdpbusd %%zmm0, %%zmm5, %%zmm26\n\t"
        "vpdpbusd %%zmm1, %%zmm5, %%zmm27\n\t"
        "vpbroadcastd (%[a9],%[lda],1), %%zmm6\n\t"
        "vpdpbusd %%zmm0, %%zmm6, %%zmm28\n\t"
        "vpdpbusd %%zmm1, %%zmm6, %%zmm29\n\t"
        "vpbroadcastd (%[a9],%[lda],2), %%zmm7\n\t"
        "vpdpbusd %%zmm0, %%zmm7, %%zmm30\n\t"
        "vpdpbusd %%zmm1, %%zmm7, %%zmm31\n\t"
        "add $128, %[w]\n\t"
        "add $4, %[a0]\n\t"
        "add $4, %[a3]\n\t"
        "add $4, %[a6]\n\t"
        "add $4, %[a9]\n\t"
        "dec %[steps]\n\t"
        "jnz 1b\n\t"
        "vmovdqu64 %%zmm8, 0(%[tile])\n\t"
        "vmovdqu64 %%zmm9, 64(%[tile])\n\t"
        "vmovdqu64 %%zmm10, 128(%[tile])\n\t"
        "vmovdqu64 %%zmm11, 192(%[tile])\n\t"
        "vmovdqu64 %%zmm12, 256(%[tile])\n\t"
        "vmovdqu64 %%zmm13, 320(%[tile])\n\t"
        "vmovdqu64 %%zmm14, 384(%[tile])\n\t"
        "vmovdqu64 %%zmm15, 448(%[tile])\n\t"
        "vmovdqu64 %%zmm16, 512(%[tile])\n\t"
        "vmovdqu64 %%zmm17, 576(%[tile])\n\t"
        "vmovdqu64 %%zmm18, 640(%[tile])\n\t"
        "vmovdqu64 %%zmm19, 704(%[tile])\n\t"
        "vmovdqu64 %%zmm20, 768(%[tile])\n\t"
        "vmovdqu64 %%zmm21, 832(%[tile])\n\t"
        "vmovdqu64 %%zmm22, 896(%[tile])\n\t"
        "vmovdqu64 %%zmm23, 960(%[tile])\n\t"
        "vmovdqu64 %%zmm24, 1024(%[tile])\n\t"
        "vmovdqu64 %%zmm25, 1088(%[tile])\n\t"
        "vmovdqu64 %%zmm26, 1152(%[tile])\n\t"
        "vmovdqu64 %%zmm27, 1216(%[tile])\n\t"
        "vmovdqu64 %%zmm28, 1280(%[tile])\n\t"
        "vmovdqu64 %%zmm29, 1344(%[tile])\n\t"
        "vmovdqu64 %%zmm30, 1408(%[tile])\n\t"
        "vmovdqu64 %%zmm31, 1472(%[tile])\n\t"
        : [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [a9] "+r"(a9), [w] "+r"(w), [steps] "+r"(steps)
        : [lda] "r"(lda), [tile] "r"(tile)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
          "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
          "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
  }
}

}  // namespace detail

template <>
struct gemm_ukernel<arch::avx512vnni> {
  static constexpr index_t mr = 12;
  static constexpr index_t nr = 32;
  static constexpr std::int32_t a_shift = 0;
  static constexpr index_t k_align = 4;

  template <index_t Rows, class Out>
  static void run(const ukernel_args& p, const Out& out) {
    __m512i acc[Rows][2];
    const index_t whole = p.k / 4;
    const std::uint8_t* a[Rows];
#pragma GCC unroll 12
    for (index_t r = 0; r < Rows; ++r) a[r] = p.a + r * p.lda;
    if (!accumulate_asm<Rows>(p, whole, acc)) {
      if constexpr (Rows <= 2) {
        accumulate_split<Rows>(p, whole, a, acc);
      } else {
        accumulate<Rows>(p, whole, a, acc);
      }
    }
    if (whole * 4 < p.k) {
      const std::int8_t* w = p.b + whole * 128;
      const __m512i w0 = _mm512_loadu_si512(w);
      const __m512i w1 = _mm512_loadu_si512(w + 64);
#pragma GCC unroll 12
      for (index_t r = 0; r < Rows; ++r) {
        const __m512i x = _mm512_set1_epi32(static_cast<std::int32_t>(detail::load_group(a[r], whole, p.k)));
        acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x, w0);
        acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x, w1);
      }
    }
    using B = xsimd::batch<std::int32_t, arch::avx512vnni::xsimd_arch>;
    for (index_t r = 0; r < Rows; ++r) {
      detail::finish_lanes(B(acc[r][0]), p, r, 0, out);
      detail::finish_lanes(B(acc[r][1]), p, r, 16, out);
    }
  }

 private:
  // The assembly tiles have 4, 8 or 12 rows. A tile of another height >= 3 starts up to 3 rows
  // earlier (rows the previous tile has done, recomputed and not stored), which needs that many
  // rows above it; returns false where it cannot (the first tile of a small M, or K < 4).
  template <index_t Rows>
  static bool accumulate_asm(const ukernel_args& p, index_t whole, __m512i (&acc)[Rows][2]) {
    if constexpr (Rows < 3) {
      return false;
    } else {
      constexpr index_t tile_rows = Rows <= 4 ? 4 : Rows <= 8 ? 8 : 12;
      constexpr index_t back = tile_rows - Rows;
      if (whole == 0 || p.row < back) return false;
      const std::uint8_t* first = p.a - back * p.lda;
      const std::uint8_t* bases[4] = {first, first + 3 * p.lda, first + 6 * p.lda, first + 9 * p.lda};
      alignas(64) std::int32_t tile[tile_rows][nr];
      detail::vnni_rows_x32<tile_rows>(bases, p.lda, p.b, whole, &tile[0][0]);
#pragma GCC unroll 12
      for (index_t r = 0; r < Rows; ++r) {
        acc[r][0] = _mm512_load_si512(&tile[r + back][0]);
        acc[r][1] = _mm512_load_si512(&tile[r + back][16]);
      }
      return true;
    }
  }

  template <index_t Rows>
  static void accumulate(const ukernel_args& p, index_t whole, const std::uint8_t* const (&a)[Rows],
                         __m512i (&acc)[Rows][2]) {
#pragma GCC unroll 12
    for (index_t r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    const std::int8_t* w = p.b;
    for (index_t g = 0; g < whole; ++g, w += 128) {
      const __m512i w0 = _mm512_loadu_si512(w);
      const __m512i w1 = _mm512_loadu_si512(w + 64);
#pragma GCC unroll 12
      for (index_t r = 0; r < Rows; ++r) {
        std::int32_t four;
        std::memcpy(&four, a[r] + 4 * g, 4);
        const __m512i x = _mm512_set1_epi32(four);
        acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x, w0);
        acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x, w1);
      }
    }
  }

  // One or two rows (M = 1 is the common case of a single input): two accumulators per row would
  // wait on vpdpbusd's latency, so four groups of k go to four sets, added at the end.
  template <index_t Rows>
  static void accumulate_split(const ukernel_args& p, index_t whole, const std::uint8_t* const (&a)[Rows],
                               __m512i (&acc)[Rows][2]) {
    __m512i s[4][Rows][2];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j)
      for (index_t r = 0; r < Rows; ++r) s[j][r][0] = s[j][r][1] = _mm512_setzero_si512();
    const std::int8_t* w = p.b;
    index_t g = 0;
    for (; g + 4 <= whole; g += 4, w += 4 * 128) {
      for (int j = 0; j < 8; ++j) _mm_prefetch(reinterpret_cast<const char*>(w + 2048 + 64 * j), _MM_HINT_T0);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m512i w0 = _mm512_loadu_si512(w + j * 128);
        const __m512i w1 = _mm512_loadu_si512(w + j * 128 + 64);
        for (index_t r = 0; r < Rows; ++r) {
          std::int32_t four;
          std::memcpy(&four, a[r] + 4 * (g + j), 4);
          const __m512i x = _mm512_set1_epi32(four);
          s[j][r][0] = _mm512_dpbusd_epi32(s[j][r][0], x, w0);
          s[j][r][1] = _mm512_dpbusd_epi32(s[j][r][1], x, w1);
        }
      }
    }
    for (; g < whole; ++g, w += 128) {
      const __m512i w0 = _mm512_loadu_si512(w);
      const __m512i w1 = _mm512_loadu_si512(w + 64);
      for (index_t r = 0; r < Rows; ++r) {
        std::int32_t four;
        std::memcpy(&four, a[r] + 4 * g, 4);
        const __m512i x = _mm512_set1_epi32(four);
        s[0][r][0] = _mm512_dpbusd_epi32(s[0][r][0], x, w0);
        s[0][r][1] = _mm512_dpbusd_epi32(s[0][r][1], x, w1);
      }
    }
    for (index_t r = 0; r < Rows; ++r)
      for (int v = 0; v < 2; ++v)
        acc[r][v] =
            _mm512_add_epi32(_mm512_add_epi32(s[0][r][v], s[1][r][v]), _mm512_add_epi32(s[2][r][v], s[3][r][v]));
  }
};

}  // namespace ctq::kernels
#endif
