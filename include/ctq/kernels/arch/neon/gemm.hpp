// The AArch64 NEON GEMM microkernel without the dot-product extension: 4 rows x 8 columns.
// Activations are shifted to signed bytes (a - 128; the driver adds 128 * colsum back), `smull`
// multiplies eight byte pairs into int16 (exact: |product| <= 128 * 128) and `sadalp` adds
// adjacent pairs into int32 accumulators, two partial sums per column until the end.
#pragma once

#include "../../arch.hpp"

#if defined(CTQ_KERNEL_NEON)
#include <arm_neon.h>

#include <cstdint>

#include "../../gemm_ukernel.hpp"

namespace ctq::kernels {

template <>
struct gemm_ukernel<arch::neon> {
  static constexpr index_t mr = 4;
  static constexpr index_t nr = 8;
  static constexpr std::int32_t a_shift = 128;
  static constexpr index_t k_align = 4;

  template <index_t Rows, class Out>
  static void run(const ukernel_args& p, const Out& out) {
    int32x4_t acc[Rows][4];
    for (index_t r = 0; r < Rows; ++r)
      for (int h = 0; h < 4; ++h) acc[r][h] = vdupq_n_s32(0);
    const std::int8_t* w = p.b;
    const index_t groups = (p.k + 3) / 4;
    const index_t whole = p.k / 4;
    for (index_t g = 0; g < groups; ++g, w += 32) {
      const int8x16_t wa = vld1q_s8(w), wb = vld1q_s8(w + 16);
      const int8x8_t half[4] = {vget_low_s8(wa), vget_high_s8(wa), vget_low_s8(wb), vget_high_s8(wb)};
      for (index_t r = 0; r < Rows; ++r) {
        std::uint32_t four;
        if (g < whole) {
          std::memcpy(&four, p.a + r * p.lda + 4 * g, 4);
        } else {
          four = detail::load_group(p.a + r * p.lda, g, p.k);
        }
        const int8x8_t x = vreinterpret_s8_u32(vdup_n_u32(four ^ 0x80808080u));
        for (int h = 0; h < 4; ++h) acc[r][h] = vpadalq_s16(acc[r][h], vmull_s8(half[h], x));
      }
    }
    using B = xsimd::batch<std::int32_t, arch::neon::xsimd_arch>;
    for (index_t r = 0; r < Rows; ++r) {
      // acc[h] = [c k01, c k23, c+1 k01, c+1 k23] for columns 2h, 2h+1: add the pairs.
      detail::finish_lanes(B(vpaddq_s32(acc[r][0], acc[r][1])), p, r, 0, out);
      detail::finish_lanes(B(vpaddq_s32(acc[r][2], acc[r][3])), p, r, 4, out);
    }
  }
};

}  // namespace ctq::kernels
#endif
