// The AArch64 dot-product GEMM microkernel: 4 rows x 16 columns. `sdot` multiplies signed bytes,
// so activations are shifted to signed (a - 128, an exclusive-or with 0x80); the driver adds
// 128 * colsum back through the column offsets.
#pragma once

#include "../../arch.hpp"

#if defined(CTQ_KERNEL_NEON_DOT)
#include <arm_neon.h>

#include <cstdint>

#include "../../gemm_ukernel.hpp"

namespace ctq::kernels {

template <>
struct gemm_ukernel<arch::neon_dot> {
  static constexpr index_t mr = 4;
  static constexpr index_t nr = 16;
  static constexpr std::int32_t a_shift = 128;
  static constexpr index_t k_align = 4;

  template <index_t Rows, class Out>
  static void run(const ukernel_args& p, const Out& out) {
    int32x4_t acc[Rows][4];
    for (index_t r = 0; r < Rows; ++r)
      for (int v = 0; v < 4; ++v) acc[r][v] = vdupq_n_s32(0);
    const std::int8_t* w = p.b;
    const index_t groups = (p.k + 3) / 4;
    const index_t whole = p.k / 4;
    for (index_t g = 0; g < groups; ++g, w += 64) {
      const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32), w3 = vld1q_s8(w + 48);
      for (index_t r = 0; r < Rows; ++r) {
        std::uint32_t four;
        if (g < whole) {
          std::memcpy(&four, p.a + r * p.lda + 4 * g, 4);
        } else {
          four = detail::load_group(p.a + r * p.lda, g, p.k);
        }
        const int8x16_t x = vreinterpretq_s8_u32(vdupq_n_u32(four ^ 0x80808080u));
        acc[r][0] = vdotq_s32(acc[r][0], w0, x);
        acc[r][1] = vdotq_s32(acc[r][1], w1, x);
        acc[r][2] = vdotq_s32(acc[r][2], w2, x);
        acc[r][3] = vdotq_s32(acc[r][3], w3, x);
      }
    }
    using B = xsimd::batch<std::int32_t, arch::neon_dot::xsimd_arch>;
    for (index_t r = 0; r < Rows; ++r)
      for (int v = 0; v < 4; ++v) detail::finish_lanes(B(acc[r][v]), p, r, 4 * v, out);
  }
};

}  // namespace ctq::kernels
#endif
