// The AMX GEMM: blocks of 32 rows x 32 columns in four 16 x 16 int32 tiles, fed per 64 k by two
// activation tiles (16 rows x 64 uint8) and the panel's two weight tiles (16 groups of four k x
// 16 columns: the VNNI layout, read with a row stride of 128 bytes). Activations are read in place
// when K is a multiple of 64 and the block has 32 rows, otherwise copied, zero-padded, into the
// scratch buffer. The accumulators go through the same epilogue as every other kernel.
#pragma once

#include "../../arch.hpp"

#if defined(CTQ_KERNEL_AMX)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "../../gemm_ukernel.hpp"
#include "../avx512vnni/gemm.hpp"

namespace ctq::kernels {

/// Below `amx_min_rows` rows the VNNI microkernel (the same packed weights) is faster.
template <>
struct gemm_ukernel<arch::amx> : gemm_ukernel<arch::avx512vnni> {
  static constexpr index_t k_align = 64;
  static constexpr index_t amx_min_rows = 8;
};

namespace detail {

// Linux gives a process the AMX tile state only when it asks (arch_prctl ARCH_REQ_XCOMP_PERM for
// XFEATURE_XTILEDATA); asked once.
inline bool amx_permitted() {
  static const bool permitted = syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  return permitted;
}

struct alignas(64) amx_tile_config {
  std::uint8_t palette = 1, start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

inline constexpr index_t amx_block_rows = 32;

// The int32 entries of scratch the copied activation block takes (32 rows of K padded to 64).
inline index_t amx_scratch_ints(index_t k) { return amx_block_rows * ((k + 63) / 64 * 64) / 4; }

// Tiles: 0-3 accumulators (rows 0-15 / 16-31 x columns 0-15 / 16-31), 4-5 activations, 6-7 weights.
// The epilogue of one block runs on the vector units while the next block's tdpbusd run on the
// matrix unit: each block's accumulators are stored to one of two buffers after the next block's
// multiply loop has been issued.
template <class Out>
void amx_gemm(const std::uint8_t* a, index_t m, index_t lda, index_t k, const std::int8_t* panels, index_t panel_bytes,
              index_t n, const std::int32_t* col_offset, const std::int32_t* row_sum, const std::int32_t* w_zp,
              const Out& pipeline, std::uint8_t* copy) {
  const Out out = pipeline;  // a local copy: the 8-bit stores cannot alias it
  const index_t k64 = (k + 63) / 64 * 64;
  const amx_tile_config config;
  _tile_loadconfig(&config);
  alignas(64) std::int32_t c[2][amx_block_rows][32];
  using B = xsimd::batch<std::int32_t, arch::amx::xsimd_arch>;
  ukernel_args pending{};
  bool have_pending = false;
  int buffer = 0;
  auto drain = [&](const ukernel_args& p, int buf) __attribute__((always_inline)) {
    for (index_t r = 0; r < p.rows; ++r) {
      finish_lanes(B(_mm512_load_si512(&c[buf][r][0])), p, r, 0, out);
      finish_lanes(B(_mm512_load_si512(&c[buf][r][16])), p, r, 16, out);
    }
  };
  for (index_t m0 = 0; m0 < m; m0 += amx_block_rows) {
    const index_t rows = m - m0 < amx_block_rows ? m - m0 : amx_block_rows;
    const std::uint8_t* ab = a + m0 * lda;
    index_t ld = lda;
    if (k != k64 || rows != amx_block_rows) {
      // (The pending block read the copy, if any, before these stores: program order.)
      const index_t tile_rows = rows > 16 ? 32 : 16;
      for (index_t r = 0; r < tile_rows; ++r) {
        std::uint8_t* dst = copy + r * k64;
        if (r < rows) {
          std::memcpy(dst, ab + r * lda, static_cast<std::size_t>(k));
          std::memset(dst + k, 0, static_cast<std::size_t>(k64 - k));
        } else {
          std::memset(dst, 0, static_cast<std::size_t>(k64));
        }
      }
      ab = copy;
      ld = k64;
    }
    const bool two = rows > 16;
    for (index_t col = 0; col < n; col += 32) {
      const std::int8_t* b = panels + col / 32 * panel_bytes;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (index_t kk = 0; kk < k64; kk += 64) {
        _tile_loadd(4, ab + kk, ld);
        _tile_loadd(6, b + kk * 32, 128);
        _tile_loadd(7, b + kk * 32 + 64, 128);
        _tile_dpbusd(0, 4, 6);
        _tile_dpbusd(1, 4, 7);
        if (two) {
          _tile_loadd(5, ab + 16 * ld + kk, ld);
          _tile_dpbusd(2, 5, 6);
          _tile_dpbusd(3, 5, 7);
        }
      }
      if (have_pending) drain(pending, buffer ^ 1);
      _tile_stored(0, &c[buffer][0][0], 128);
      _tile_stored(1, &c[buffer][0][16], 128);
      if (two) {
        _tile_stored(2, &c[buffer][16][0], 128);
        _tile_stored(3, &c[buffer][16][16], 128);
      }
      pending = ukernel_args{
          ab,         ld, rows, k, b, n - col < 32 ? n - col : 32, col_offset + col, row_sum ? row_sum + m0 : nullptr,
          w_zp + col, m0, col};
      have_pending = true;
      buffer ^= 1;
    }
  }
  if (have_pending) drain(pending, buffer ^ 1);
  _tile_release();
}

}  // namespace detail

}  // namespace ctq::kernels
#endif
