// ctq's int8 GEMM: C = requantize(A x W^T), A uint8 activations (M x K, row stride lda, one
// zero point), W int8 weights (N x K as PyTorch's Linear stores them, per-tensor or per-channel
// zero points) packed once for the kernel architecture, int32 accumulation, and an output
// pipeline (output_pipeline.hpp) fused into the store.
//
//   kernels::PackedWeights<> w(weights, N, K, K, zero_points);          // at convert time
//   std::vector<std::int32_t> scratch(kernels::gemm_scratch_size(w, M)); // or any buffer
//   kernels::gemm(a, M, K, a_zero_point, w, pipeline, scratch);          // no allocation
//
// Zero points: sum_k (a - za)(w - zw) = sum_k a w - za sum_k w - zw sum_k a + K za zw. The
// kernels compute the first sum; the column terms come from column sums made at packing time,
// the row term (only when some zw != 0) from row sums of A. Integer arithmetic wraps modulo 2^32
// as the instructions do: results are exact whenever the true dot product fits in int32, which
// holds for K <= 65793 with any data (255 * 128 * K < 2^31).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"
#include "../core/qparams.hpp"
#include "arch.hpp"
#include "arch/amx/gemm.hpp"
#include "arch/avx2/gemm.hpp"
#include "arch/avx512vnni/gemm.hpp"
#include "arch/neon/gemm.hpp"
#include "arch/neon_dot/gemm.hpp"
#include "arch/scalar/gemm.hpp"
#include "gemm_ukernel.hpp"
#include "output_pipeline.hpp"

namespace ctq::kernels {

/// Int8 weights (N output columns x K) in the layout of Arch's microkernel, with the column sums
/// and zero points the GEMM needs. Made once, used by every call.
template <class Arch = arch::best>
class PackedWeights {
 public:
  using arch_type = Arch;
  static constexpr index_t nr = gemm_ukernel<Arch>::nr;

  PackedWeights() = default;

  /// Packs w[n * ldw + k] (n < N, k < K). `zero_points` holds one value (per-tensor weights) or
  /// N values (per-channel), each in [-128, 127].
  PackedWeights(const std::int8_t* w, index_t n, index_t k, index_t ldw, std::span<const std::int32_t> zero_points)
      : n_(n), k_(k) {
    if (n < 1 || k < 1 || ldw < k) {
      raise(ctq::detail::message() << "ctq: PackedWeights: need N >= 1, K >= 1 and ldw >= K; got N = " << n
                                   << ", K = " << k << ", ldw = " << ldw);
    }
    const auto zps = static_cast<index_t>(zero_points.size());
    if (zps != 1 && zps != n) {
      raise(ctq::detail::message() << "ctq: PackedWeights: " << zps << " zero points for " << n
                                   << " columns; give one (per-tensor) or one per column (per-channel)");
    }
    const index_t groups = groups_(), padded = padded_n();
    data_.assign(static_cast<std::size_t>(padded * groups * 4), 0);
    colsum_.assign(static_cast<std::size_t>(padded), 0);
    zero_point_.assign(static_cast<std::size_t>(padded), 0);
    for (index_t c = 0; c < n; ++c) {
      const std::int32_t zp = zero_points[static_cast<std::size_t>(zps == 1 ? 0 : c)];
      if (zp < -128 || zp > 127) {
        raise(ctq::detail::message() << "ctq: PackedWeights: weight zero point " << zp << " of column " << c
                                     << " is outside the int8 range [-128, 127]");
      }
      zero_point_[static_cast<std::size_t>(c)] = zp;
      if (zp != 0) has_zero_point_ = true;
      std::int32_t sum = 0;
      std::int8_t* panel = data_.data() + (c / nr) * groups * nr * 4;
      for (index_t i = 0; i < k; ++i) {
        const std::int8_t v = w[c * ldw + i];
        sum += v;
        panel[(i / 4) * nr * 4 + (c % nr) * 4 + i % 4] = v;
      }
      colsum_[static_cast<std::size_t>(c)] = sum;
    }
    if constexpr (requires { gemm_ukernel<Arch>::pair_center; }) make_pair_terms_();
  }

  index_t n() const { return n_; }
  index_t k() const { return k_; }
  /// N rounded up to whole panels: the length of the per-column arrays below.
  index_t padded_n() const { return (n_ + nr - 1) / nr * nr; }
  index_t panels() const { return padded_n() / nr; }
  const std::int8_t* panel(index_t p) const { return data_.data() + p * groups_() * nr * 4; }
  const std::int32_t* column_sums() const { return colsum_.data(); }
  const std::int32_t* zero_points() const { return zero_point_.data(); }
  bool has_zero_point() const { return has_zero_point_; }
  /// For kernels whose 7-bit path adds two groups of four k in int16 (gemm_ukernel::pair_center
  /// set): per panel and whole pair q of groups (2q, 2q + 1; K / 8 of them), one int16 per two
  /// adjacent panel bytes L: pair_center * (bytes 2L and 2L + 1 of both groups). nullptr for
  /// other kernels.
  const std::int16_t* pair_bias(index_t p) const {
    return pair_bias_.empty() ? nullptr : pair_bias_.data() + p * (k_ / 8) * nr * 2;
  }
  /// The column terms that add pair_bias back: pair_center * (sum of the column's weights at
  /// k < 8 * (K / 8)), padded_n() entries; nullptr for kernels without pairs.
  const std::int32_t* pair_offsets() const { return pair_offset_.empty() ? nullptr : pair_offset_.data(); }
  /// Bytes of packed weights (the int8 model size; column sums, zero points and pair terms not
  /// counted).
  std::size_t bytes() const { return data_.size(); }
  bool empty() const { return n_ == 0; }

 private:
  // Groups of four k per panel: K padded to the kernel's alignment.
  index_t groups_() const {
    constexpr index_t align = gemm_ukernel<Arch>::k_align;
    return (k_ + align - 1) / align * align / 4;
  }

  void make_pair_terms_() {
    constexpr std::int32_t center = gemm_ukernel<Arch>::pair_center;
    const index_t pairs = k_ / 8, lanes = nr * 2, groups = groups_();
    pair_bias_.assign(static_cast<std::size_t>(panels() * pairs * lanes), 0);
    pair_offset_.assign(static_cast<std::size_t>(padded_n()), 0);
    for (index_t p = 0; p < panels(); ++p) {
      for (index_t q = 0; q < pairs; ++q) {
        const std::int8_t* g0 = data_.data() + (p * groups + 2 * q) * nr * 4;
        const std::int8_t* g1 = g0 + nr * 4;
        for (index_t l = 0; l < lanes; ++l) {
          const std::int32_t sum = g0[2 * l] + g0[2 * l + 1] + g1[2 * l] + g1[2 * l + 1];  // |sum| <= 512
          pair_bias_[static_cast<std::size_t>((p * pairs + q) * lanes + l)] = static_cast<std::int16_t>(center * sum);
          pair_offset_[static_cast<std::size_t>(p * nr + l / 2)] += center * sum;
        }
      }
    }
  }

  index_t n_ = 0, k_ = 0;
  std::vector<std::int8_t> data_;
  std::vector<std::int16_t> pair_bias_;
  std::vector<std::int32_t> colsum_, zero_point_, pair_offset_;
  bool has_zero_point_ = false;
};

namespace detail {
/// The largest byte of an M x K block with row stride lda.
inline std::uint8_t max_byte(const std::uint8_t* a, index_t m, index_t k, index_t lda) {
  if (lda == k) {
    k *= m;  // contiguous rows: one pass (one reduction of the vector maximum, not one per row)
    m = 1;
  }
  std::uint8_t hi = 0;
  for (index_t r = 0; r < m; ++r) {
    const std::uint8_t* row = a + r * lda;
    for (index_t i = 0; i < k; ++i) hi = row[i] > hi ? row[i] : hi;
  }
  return hi;
}
}  // namespace detail

namespace detail {
// One block of R rows (from `row`) of the product across every panel of b.
template <class U, index_t R, bool SevenBit, class Arch, class Out>
void gemm_row_block(const std::uint8_t* a, index_t lda, index_t row, const PackedWeights<Arch>& b,
                    const std::int32_t* col_offset, const std::int32_t* row_sum, const Out& pipeline) {
  const Out out = pipeline;  // a local copy: the 8-bit stores cannot alias it, so it stays in registers
  const std::int32_t* zw = b.zero_points();
  ukernel_args args{a + row * lda, lda, R, b.k(), nullptr, 0, nullptr, row_sum ? row_sum + row : nullptr,
                    nullptr,       row, 0};
  for (index_t p = 0; p < b.panels(); ++p) {
    const index_t col = p * U::nr;
    args.b = b.panel(p);
    args.cols = b.n() - col < U::nr ? b.n() - col : U::nr;
    args.col_offset = col_offset + col;
    args.w_zp = zw + col;
    args.col = col;
    if constexpr (SevenBit) {
      args.pair_bias = b.pair_bias(p);
      U::template run_7bit<R>(args, out);
    } else {
      U::template run<R>(args, out);
    }
  }
}
}  // namespace detail

/// The int32 scratch a gemm() call with M rows needs: the column offsets, and the row sums when
/// the weights have a non-zero zero point.
template <class Arch>
index_t gemm_scratch_size(const PackedWeights<Arch>& b, index_t m) {
  index_t n = b.padded_n() + (b.has_zero_point() ? m : 0);
#if defined(CTQ_KERNEL_AMX)
  if constexpr (std::is_same_v<Arch, arch::amx>) n += detail::amx_scratch_ints(b.k());
#endif
  return n;
}

/// out(C) for C[m][n] = sum_k (a[m * lda + k] - a_zero_point) * (w[n][k] - w_zp[n]), m < M,
/// n < N, with b the packed w. `out` is an output_pipeline; `scratch` has at least
/// gemm_scratch_size(b, M) entries. No allocation.
template <class Arch, class Out>
void gemm(const std::uint8_t* a, index_t m, index_t lda, std::int32_t a_zero_point, const PackedWeights<Arch>& b,
          const Out& pipeline, std::span<std::int32_t> scratch) {
  const Out out = pipeline;  // a local copy: the 8-bit stores cannot alias it
  using U = gemm_ukernel<Arch>;
  if (b.empty()) raise("ctq: gemm: the packed weights are empty");
  if (m < 0 || lda < b.k()) {
    raise(ctq::detail::message() << "ctq: gemm: need M >= 0 and lda >= K; got M = " << m << ", lda = " << lda
                                 << ", K = " << b.k());
  }
  if (a_zero_point < 0 || a_zero_point > 255) {
    raise(ctq::detail::message() << "ctq: gemm: activation zero point " << a_zero_point
                                 << " is outside the uint8 range [0, 255]");
  }
  if (static_cast<index_t>(scratch.size()) < gemm_scratch_size(b, m)) {
    raise(ctq::detail::message() << "ctq: gemm: scratch holds " << scratch.size() << " int32, the call needs "
                                 << gemm_scratch_size(b, m) << " (gemm_scratch_size)");
  }
  if (m == 0) return;
  const index_t k = b.k(), padded = b.padded_n();
  // Kernels with a faster exact path for activations below 128 (reduced range) take it when A
  // has none above 127: one pass over M x K bytes, against M x N x K products.
  bool seven_bit = false;
  if constexpr (requires { U::has_7bit_path; }) seven_bit = detail::max_byte(a, m, k, lda) <= 127;
  // Column offsets: (a_shift - za) * colsum + K * za * zw (+ the pair terms of a 7-bit path that
  // has them), computed in 64 bits and wrapped.
  std::int32_t* col_offset = scratch.data();
  const std::int32_t* colsum = b.column_sums();
  const std::int32_t* zw = b.zero_points();
  const std::int32_t* pair_offset = seven_bit ? b.pair_offsets() : nullptr;
  for (index_t c = 0; c < padded; ++c) {
    const std::int64_t v = std::int64_t{U::a_shift - a_zero_point} * colsum[c] +
                           std::int64_t{k} * a_zero_point * zw[c] + (pair_offset ? pair_offset[c] : 0);
    col_offset[c] = static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
  }
  std::int32_t* row_sum = nullptr;
  if (b.has_zero_point()) {
    row_sum = scratch.data() + padded;
    for (index_t r = 0; r < m; ++r) {
      std::uint32_t s = 0;
      for (index_t i = 0; i < k; ++i) s += a[r * lda + i];
      row_sum[r] = static_cast<std::int32_t>(s);
    }
  }
#if defined(CTQ_KERNEL_AMX)
  if constexpr (std::is_same_v<Arch, arch::amx>) {
    if (m >= U::amx_min_rows && detail::amx_permitted()) {
      auto* copy = reinterpret_cast<std::uint8_t*>(scratch.data() + padded + (row_sum ? m : 0));
      const index_t panel_bytes = b.panels() > 1 ? b.panel(1) - b.panel(0) : 0;
      detail::amx_gemm(a, m, lda, k, b.panel(0), panel_bytes, b.n(), col_offset, row_sum, zw, out, copy);
      return;
    }
  }
#endif
  // A block of rows at a time, across every panel: the block's activations stay in the first
  // cache level, and the tiles of one block run in one loop the processor can overlap.
  for (index_t row = 0; row < m; row += U::mr) {
    const index_t rows = m - row < U::mr ? m - row : U::mr;
    detail::dispatch_rows<U::mr>(rows, [&]<index_t R>() {
      if constexpr (requires { U::has_7bit_path; }) {
        if (seven_bit) {
          detail::gemm_row_block<U, R, true>(a, lda, row, b, col_offset, row_sum, out);
          return;
        }
      }
      detail::gemm_row_block<U, R, false>(a, lda, row, b, col_offset, row_sum, out);
    });
  }
}

/// The plain definition, for tests: C[m][n] = sum_k (a - a_zp)(w[n][k] - w_zp[n]) in 64-bit
/// integers, wrapped to int32, then through `out` lane by lane.
template <class Out>
void gemm_reference(const std::uint8_t* a, index_t m, index_t lda, std::int32_t a_zero_point, const std::int8_t* w,
                    index_t n, index_t k, index_t ldw, std::span<const std::int32_t> w_zero_points, const Out& out) {
  for (index_t r = 0; r < m; ++r) {
    for (index_t c = 0; c < n; ++c) {
      const std::int64_t zw = w_zero_points[w_zero_points.size() == 1 ? 0 : static_cast<std::size_t>(c)];
      std::int64_t s = 0;
      for (index_t i = 0; i < k; ++i) s += (std::int64_t{a[r * lda + i]} - a_zero_point) * (w[c * ldw + i] - zw);
      out(static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(s))), r, c, index_t{1});
    }
  }
}

}  // namespace ctq::kernels
