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

template <>
struct gemm_ukernel<arch::avx512vnni> {
  static constexpr index_t mr = 12;
  static constexpr index_t nr = 32;
  static constexpr std::int32_t a_shift = 0;

  template <index_t Rows, class Out>
  static void run(const ukernel_args& p, const Out& out) {
    __m512i acc[Rows][2];
#pragma GCC unroll 12
    for (index_t r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    const std::uint8_t* a[Rows];
#pragma GCC unroll 12
    for (index_t r = 0; r < Rows; ++r) a[r] = p.a + r * p.lda;
    const std::int8_t* w = p.b;
    const index_t whole = p.k / 4;
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
    if (whole * 4 < p.k) {
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
};

}  // namespace ctq::kernels
#endif
