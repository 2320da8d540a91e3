// The contract between ctq's GEMM driver and the per-architecture microkernels.
//
// Packed weights: N output columns in panels of `nr` columns; inside a panel, K in groups of four
// (K padded with zeros to a multiple of 4), and for each group the four int8 weights of every
// column side by side:  panel[g][col][0..3] = w[col][4g .. 4g+3].  Every architecture uses this
// layout with its own `nr`, so one packing routine serves all.
//
// A microkernel computes a tile of up to `mr` rows and `nr` columns of raw dot products
// sum_k (a[m][k] - a_shift) * w[n][k] (a_shift is 0 for kernels that multiply unsigned
// activations, 128 for kernels that multiply signed bytes), adds the per-column offset and the
// row term that turn it into sum_k (a - a_zp) * (w - w_zp), and hands each vector of
// accumulators to the output pipeline.
#pragma once

#include <cstdint>
#include <cstring>

#include "../config.hpp"
#include "../core/qparams.hpp"

#if CTQ_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace ctq::kernels {

/// One microkernel call: `rows` rows of A from `a` (row stride lda), K columns; one panel of
/// packed weights; the tile's place in the output.
struct ukernel_args {
  const std::uint8_t* a;
  index_t lda;
  index_t rows;  // 1 .. mr (the kernel is instantiated for this count)
  index_t k;
  const std::int8_t* b;            // the panel
  index_t cols;                    // valid columns of the panel, 1 .. nr
  const std::int32_t* col_offset;  // nr entries: (a_shift - a_zp) * colsum + k * a_zp * w_zp
  const std::int32_t* row_sum;     // rows entries of sum_k a[m][k], or nullptr when w_zp == 0
  const std::int32_t* w_zp;        // nr entries (used with row_sum)
  index_t row, col;                // the tile's first output row and column
  // 7-bit kernels that add pairs of groups in int16 (PackedWeights::pair_bias): the panel's
  // per-pair lane offsets, or nullptr
  const std::int16_t* pair_bias = nullptr;
};

/// Specialised per kernel architecture: static constexpr index_t mr, nr, k_align (K is padded
/// with zeros to a multiple of it); static constexpr std::int32_t a_shift; template <index_t Rows, class Out> static
/// void run(const ukernel_args&, const Out&).
template <class Arch>
struct gemm_ukernel;

namespace detail {

// The four activation bytes of group g of a row, zero beyond k (the weights there are zero too;
// reading them from memory could cross the end of the buffer).
inline std::uint32_t load_group(const std::uint8_t* row, index_t g, index_t k) {
  const index_t first = 4 * g;
  const index_t n = k - first < 4 ? k - first : 4;
  if (n == 4) {
    std::uint32_t v;
    std::memcpy(&v, row + first, 4);
    return v;
  }
  // byte by byte, not a library memcpy call of 1 to 3 bytes
  std::uint32_t v = 0;
  for (index_t i = 0; i < n; ++i) v |= std::uint32_t{row[first + i]} << (8 * i);
  return v;
}

// Calls f.template operator()<R>() with R = rows (1 <= rows <= MaxRows), so each row count has
// its own fully unrolled kernel.
template <index_t MaxRows, class F>
inline void dispatch_rows(index_t rows, F&& f) {
  [&]<index_t... I>(std::integer_sequence<index_t, I...>) {
    ((rows == I + 1 ? (f.template operator()<I + 1>(), true) : false) || ...);
  }
  (std::make_integer_sequence<index_t, MaxRows>{});
}

#if CTQ_HAS_XSIMD
// Finishes one vector of accumulators of a vector kernel: row r of the tile, panel columns c0 ..
// c0 + lanes - 1. Adds the column offsets and the row term, then hands the lanes to the output
// pipeline; columns past the panel's valid ones are dropped, and a partial vector goes through
// the pipeline lane by lane (its scalar form gives the same bits), so per-column parameter
// arrays need only N entries.
// OffsetAdded: the kernel started its accumulators at the column offsets.
template <bool OffsetAdded = false, class A, class Out>
CTQ_ALWAYS_INLINE void finish_lanes(xsimd::batch<std::int32_t, A> acc, const ukernel_args& p, index_t r, index_t c0,
                                    const Out& out) {
  using B = xsimd::batch<std::int32_t, A>;
  constexpr auto lanes = static_cast<index_t>(B::size);
  const index_t valid = p.cols - c0;
  if (valid <= 0) return;
  if constexpr (!OffsetAdded) acc += B::load_unaligned(p.col_offset + c0);
  if (p.row_sum) acc -= B::load_unaligned(p.w_zp + c0) * B(p.row_sum[r]);
  if (valid >= lanes) {
    out(acc, p.row + r, p.col + c0, lanes);
  } else {
    alignas(64) std::int32_t buf[lanes];
    acc.store_aligned(buf);
    for (index_t j = 0; j < valid; ++j) out(buf[j], p.row + r, p.col + c0 + j, index_t{1});
  }
}
#endif

}  // namespace detail

}  // namespace ctq::kernels
