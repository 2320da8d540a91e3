// The scalar GEMM microkernel: the reference every vector kernel is tested against, and the
// kernel of targets without a vector unit ctq knows. Integer arithmetic wraps modulo 2^32 like
// the vector instructions (unsigned, so it is defined), which keeps results exact whenever the
// true dot product fits in int32.
#pragma once

#include <cstdint>

#include "../../arch.hpp"
#include "../../gemm_ukernel.hpp"

namespace ctq::kernels {

template <>
struct gemm_ukernel<arch::scalar> {
  static constexpr index_t mr = 4;
  static constexpr index_t nr = 8;
  static constexpr std::int32_t a_shift = 0;
  static constexpr index_t k_align = 4;

  template <index_t Rows, class Out>
  static void run(const ukernel_args& p, const Out& out) {
    std::uint32_t acc[Rows][nr] = {};
    const index_t groups = (p.k + 3) / 4;
    for (index_t g = 0; g < groups; ++g) {
      const std::int8_t* w = p.b + g * nr * 4;
      for (index_t r = 0; r < Rows; ++r) {
        const std::uint32_t four = detail::load_group(p.a + r * p.lda, g, p.k);
        for (index_t c = 0; c < nr; ++c) {
          std::uint32_t sum = 0;
          for (int j = 0; j < 4; ++j) {
            const auto a = static_cast<std::int32_t>((four >> (8 * j)) & 0xffu);
            sum += static_cast<std::uint32_t>(a * static_cast<std::int32_t>(w[c * 4 + j]));
          }
          acc[r][c] += sum;
        }
      }
    }
    for (index_t r = 0; r < Rows; ++r) {
      for (index_t c = 0; c < p.cols; ++c) {
        std::uint32_t v = acc[r][c] + static_cast<std::uint32_t>(p.col_offset[c]);
        if (p.row_sum) v -= static_cast<std::uint32_t>(p.w_zp[c]) * static_cast<std::uint32_t>(p.row_sum[r]);
        out(static_cast<std::int32_t>(v), p.row + r, p.col + c, 1);
      }
    }
  }
};

}  // namespace ctq::kernels
