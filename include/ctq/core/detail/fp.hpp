// Float helpers that keep results bit-identical to PyTorch across compilers and flags.
#pragma once

#include <cstdint>

namespace ctq::detail {

// Returns v after forcing it to be rounded to float: the compiler cannot fuse the product that
// produced v into a following add or subtract (an FMA rounds once where PyTorch rounds twice,
// because PyTorch evaluates each tensor operation separately).
inline float no_contract(float v) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__SSE2__) || defined(__aarch64__))
#if defined(__SSE2__)
  __asm__("" : "+x"(v));
#else
  __asm__("" : "+w"(v));
#endif
  return v;
#else
  volatile float barrier = v;
  return barrier;
#endif
}

// The same for a double.
inline double no_contract(double v) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__SSE2__) || defined(__aarch64__))
#if defined(__SSE2__)
  __asm__("" : "+x"(v));
#else
  __asm__("" : "+w"(v));
#endif
  return v;
#else
  volatile double barrier = v;
  return barrier;
#endif
}

// torch.sum of a contiguous float32 array on CPU, in PyTorch 1.13's order: 8 float lanes, four
// interleaved accumulators (ilp), a four-level cascade over groups of 16 rows, leftovers into
// the first accumulator, the scalar tail first into the final sum, then the lanes in order.
inline float torch_sum(const float* x, std::int64_t n) {
  constexpr int lanes = 8, ilp = 4, levels = 4;
  if (n < lanes) {
    // Too short for a vector: PyTorch's scalar row sum, four interleaved accumulators.
    float partial[ilp] = {};
    const std::int64_t whole = n / ilp * ilp;
    for (std::int64_t i = 0; i < whole; ++i) partial[i % ilp] += x[i];
    for (std::int64_t i = whole; i < n; ++i) partial[0] += x[i];
    for (int k = 1; k < ilp; ++k) partial[0] += partial[k];
    return 0.0f + partial[0];
  }
  const std::int64_t vecs = n / lanes;   // whole 8-float vectors
  const std::int64_t rows = vecs / ilp;  // rows of ilp vectors
  int ceil_log2 = 0;
  while ((std::int64_t{1} << ceil_log2) < rows) ++ceil_log2;
  const int level_power = ceil_log2 / levels > 4 ? ceil_log2 / levels : 4;
  const std::int64_t level_step = std::int64_t{1} << level_power;
  const std::int64_t level_mask = level_step - 1;
  float acc[levels][ilp][lanes] = {};
  auto add_row = [&](std::int64_t row) {
    for (int k = 0; k < ilp; ++k)
      for (int l = 0; l < lanes; ++l) acc[0][k][l] += x[(row * ilp + k) * lanes + l];
  };
  std::int64_t i = 0;
  while (i + level_step <= rows) {
    for (std::int64_t j = 0; j < level_step; ++j, ++i) add_row(i);
    for (int j = 1; j < levels; ++j) {
      for (int k = 0; k < ilp; ++k)
        for (int l = 0; l < lanes; ++l) {
          acc[j][k][l] += acc[j - 1][k][l];
          acc[j - 1][k][l] = 0.0f;
        }
      if ((i & (level_mask << (j * level_power))) != 0) break;
    }
  }
  for (; i < rows; ++i) add_row(i);
  for (int j = 1; j < levels; ++j)
    for (int k = 0; k < ilp; ++k)
      for (int l = 0; l < lanes; ++l) acc[0][k][l] += acc[j][k][l];
  // vectors left over after whole rows go into the first accumulator
  for (std::int64_t v = rows * ilp; v < vecs; ++v)
    for (int l = 0; l < lanes; ++l) acc[0][0][l] += x[v * lanes + l];
  for (int k = 1; k < ilp; ++k)
    for (int l = 0; l < lanes; ++l) acc[0][0][l] += acc[0][k][l];
  float total = 0.0f;
  for (std::int64_t t = vecs * lanes; t < n; ++t) total += x[t];
  for (int l = 0; l < lanes; ++l) total += acc[0][0][l];
  return 0.0f + total;
}

}  // namespace ctq::detail
