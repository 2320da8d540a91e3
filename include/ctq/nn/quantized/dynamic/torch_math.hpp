// The float arithmetic of PyTorch 1.13's recurrent cells on x86 (ATen's AVX2 kernels): sigmoid
// as 1 / (1 + exp(-x)) with Sleef's expf on the 16-wide vector body of each gate row and the C
// library's expf on the tail, tanh as Sleef's tanhf_u10 on every value. The scalar functions
// define the results; with AVX2 and FMA the same operations run 8 lanes at a time, operation for
// operation (every product that must not fuse into an FMA is fenced), so both give the same bits
// (tests/nn/test_rnn_math_avx2.cpp compares them on every float bit pattern in a sampled set).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../../../core/detail/fp.hpp"
#include "../../../core/tensor.hpp"
#include "../../../kernels/torch_numerics.hpp"
#include "../../rnn.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CTQ_RNN_MATH_AVX2 1
#endif

namespace ctq::nn::quantized::dynamic::detail {

/// (hi, lo): a float plus a correction, Sleef's double-float.
struct f2 {
  float x, y;
};

using ctq::detail::no_contract;

inline float fma_pn(float a, float b, float c) { return std::fma(a, b, -c); }  // a * b - c, one rounding
inline float fma_np(float a, float b, float c) { return std::fma(-a, b, c); }  // c - a * b, one rounding
inline float pow2i(std::int32_t e) {
  const auto bits = static_cast<std::uint32_t>(e + 0x7f) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline f2 df_add2(f2 a, float b) {
  const float s = a.x + b, v = s - a.x;
  return {s, ((a.x - (s - v)) + (b - v)) + a.y};
}
inline f2 df_add2(f2 a, f2 b) {
  const float s = a.x + b.x, v = s - a.x;
  return {s, ((a.x - (s - v)) + (b.x - v)) + (a.y + b.y)};
}
inline f2 df_add(float a, f2 b) {
  const float s = a + b.x;
  return {s, ((a - s) + b.x) + b.y};
}
inline f2 df_add(f2 a, f2 b) {  // |a| >= |b|
  const float s = a.x + b.x;
  return {s, (((a.x - s) + b.x) + a.y) + b.y};
}
inline f2 df_mul(f2 a, float b) {
  const float s = no_contract(a.x * b);
  return {s, std::fma(a.y, b, fma_pn(a.x, b, s))};
}
inline f2 df_mul(f2 a, f2 b) {
  const float s = no_contract(a.x * b.x);
  return {s, std::fma(a.x, b.y, std::fma(a.y, b.x, fma_pn(a.x, b.x, s)))};
}
inline f2 df_square(f2 a) {
  const float s = no_contract(a.x * a.x);
  return {s, std::fma(a.x + a.x, a.y, fma_pn(a.x, a.x, s))};
}
inline f2 df_reciprocal(f2 d) {
  const float s = 1.0f / d.x;
  return {s, no_contract(s * fma_np(d.y, s, fma_np(d.x, s, 1.0f)))};
}
inline f2 df_divide(f2 n, f2 d) {
  const float t = 1.0f / d.x, s = no_contract(n.x * t);
  const float u = fma_pn(t, n.x, s), v = fma_np(d.y, t, fma_np(d.x, t, 1.0f));
  return {s, std::fma(s, v, std::fma(n.y, t, u))};
}

/// exp(d) as a double-float (Sleef 3.5's expk2f, single precision, FMA build), for 0 <= d.x.
inline f2 sleef_expk2f(f2 d) {
  const float u0 = (d.x + d.y) * 1.442695040888963407359924681001892137426645954152985934135449406931f;
  const auto q = static_cast<std::int32_t>(std::nearbyint(u0));
  const auto fq = static_cast<float>(q);
  f2 s = df_add2(d, no_contract(fq * -0.693145751953125f));
  s = df_add2(s, no_contract(fq * -1.428606765330187045e-06f));
  float u = 0.1980960224e-3f;
  u = std::fma(u, s.x, 0.1394256484e-2f);
  u = std::fma(u, s.x, 0.8333456703e-2f);
  u = std::fma(u, s.x, 0.4166637361e-1f);
  f2 t = df_add2(df_mul(s, u), 0.166666659414234244790680580464e+0f);
  t = df_add2(df_mul(s, t), 0.5f);
  t = df_add2(s, df_mul(df_square(s), t));
  t = df_add(1.0f, t);
  const std::int32_t half = q >> 1;
  return {no_contract(no_contract(t.x * pow2i(half)) * pow2i(q - half)),
          no_contract(no_contract(t.y * pow2i(half)) * pow2i(q - half))};
}

/// tanh as PyTorch 1.13's AVX2 Vectorized<float>::tanh computes it (Sleef 3.5's tanhf_u10, FMA
/// build): (e - 1/e) / (e + 1/e) in double-float with e = exp(|x|), sign restored; 1 beyond
/// |x| > 8.664339742. Equal to Sleef_tanhf8_u10avx2 for all 2^32 inputs (checked against libsleef
/// 3.5.1); std::tanh differs from it in the last bit for some inputs.
inline float sleef_tanhf(float x) {
  if (std::isnan(x)) return x;
  const float a = std::fabs(x);
  if (a > 8.664339742f) return std::copysign(1.0f, x);
  f2 d = sleef_expk2f({a, 0.0f});
  const f2 e = df_reciprocal(d);
  d = df_divide(df_add(d, f2{-e.x, -e.y}), df_add(d, e));
  const float y = d.x + d.y;
  return std::copysign(std::isnan(y) ? 1.0f : y, x);
}

#if defined(CTQ_RNN_MATH_AVX2)
// --- the same, eight lanes at a time ------------------------------------------------------------
namespace avx2 {

using V = __m256;
/// A product that must stay a product: the empty asm keeps the compiler from fusing it into an
/// FMA with a following addition (GCC contracts vector intrinsics too).
inline V nc(V v) {
  __asm__("" : "+x"(v));
  return v;
}
inline V set(float f) { return _mm256_set1_ps(f); }
inline V add(V a, V b) { return _mm256_add_ps(a, b); }
inline V sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V mul(V a, V b) { return nc(_mm256_mul_ps(a, b)); }
inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V fma_pn(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }   // a * b - c
inline V fma_np(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a * b
inline V pow2i(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(0x7f)), 23));
}

struct v2 {
  V x, y;
};
inline v2 df_add2(v2 a, V b) {
  const V s = add(a.x, b), v = sub(s, a.x);
  return {s, add(add(sub(a.x, sub(s, v)), sub(b, v)), a.y)};
}
inline v2 df_add2(v2 a, v2 b) {
  const V s = add(a.x, b.x), v = sub(s, a.x);
  return {s, add(add(sub(a.x, sub(s, v)), sub(b.x, v)), add(a.y, b.y))};
}
inline v2 df_add(V a, v2 b) {
  const V s = add(a, b.x);
  return {s, add(add(sub(a, s), b.x), b.y)};
}
inline v2 df_add(v2 a, v2 b) {
  const V s = add(a.x, b.x);
  return {s, add(add(add(sub(a.x, s), b.x), a.y), b.y)};
}
inline v2 df_mul(v2 a, V b) {
  const V s = mul(a.x, b);
  return {s, fma(a.y, b, fma_pn(a.x, b, s))};
}
inline v2 df_mul(v2 a, v2 b) {
  const V s = mul(a.x, b.x);
  return {s, fma(a.x, b.y, fma(a.y, b.x, fma_pn(a.x, b.x, s)))};
}
inline v2 df_square(v2 a) {
  const V s = mul(a.x, a.x);
  return {s, fma(add(a.x, a.x), a.y, fma_pn(a.x, a.x, s))};
}
inline v2 df_reciprocal(v2 d) {
  const V s = _mm256_div_ps(set(1.0f), d.x);
  return {s, mul(s, fma_np(d.y, s, fma_np(d.x, s, set(1.0f))))};
}
inline v2 df_divide(v2 n, v2 d) {
  const V t = _mm256_div_ps(set(1.0f), d.x), s = mul(n.x, t);
  const V u = fma_pn(t, n.x, s), v = fma_np(d.y, t, fma_np(d.x, t, set(1.0f)));
  return {s, fma(s, v, fma(n.y, t, u))};
}
inline __m256i round_to_int(V v) { return _mm256_cvtps_epi32(v); }  // nearest, ties to even

/// sleef_expk2f, lane by lane.
inline v2 expk2f(v2 d) {
  const V u0 = mul(add(d.x, d.y), set(1.442695040888963407359924681001892137426645954152985934135449406931f));
  const __m256i q = round_to_int(u0);
  const V fq = _mm256_cvtepi32_ps(q);
  v2 s = df_add2(d, mul(fq, set(-0.693145751953125f)));
  s = df_add2(s, mul(fq, set(-1.428606765330187045e-06f)));
  V u = set(0.1980960224e-3f);
  u = fma(u, s.x, set(0.1394256484e-2f));
  u = fma(u, s.x, set(0.8333456703e-2f));
  u = fma(u, s.x, set(0.4166637361e-1f));
  v2 t = df_add2(df_mul(s, u), set(0.166666659414234244790680580464e+0f));
  t = df_add2(df_mul(s, t), set(0.5f));
  t = df_add2(s, df_mul(df_square(s), t));
  t = df_add(set(1.0f), t);
  const __m256i half = _mm256_srai_epi32(q, 1);
  const V p0 = pow2i(half), p1 = pow2i(_mm256_sub_epi32(q, half));
  return {mul(mul(t.x, p0), p1), mul(mul(t.y, p0), p1)};
}

/// sleef_tanhf, lane by lane (the scalar branches become selects).
inline V tanhf(V x) {
  const V sign = set(-0.0f);
  const V a = _mm256_andnot_ps(sign, x);
  v2 d = expk2f({a, _mm256_setzero_ps()});
  const v2 e = df_reciprocal(d);
  d = df_divide(df_add(d, v2{_mm256_xor_ps(e.x, sign), _mm256_xor_ps(e.y, sign)}), df_add(d, e));
  V y = add(d.x, d.y);
  y = _mm256_blendv_ps(y, set(1.0f), _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
  y = _mm256_blendv_ps(y, set(1.0f), _mm256_cmp_ps(a, set(8.664339742f), _CMP_GT_OQ));
  y = _mm256_or_ps(_mm256_andnot_ps(sign, y), _mm256_and_ps(sign, x));  // copysign(y, x)
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));     // NaN stays x
}

/// kernels::detail::sleef_expf, lane by lane.
inline V expf(V d) {
  const __m256i q = round_to_int(mul(d, set(1.442695040888963407359924681001892137f)));
  const V fq = _mm256_cvtepi32_ps(q);
  V s = fma(fq, set(-0.693145751953125f), d);
  s = fma(fq, set(-1.428606765330187045e-06f), s);
  V u = set(0.000198527617612853646278381f);
  u = fma(u, s, set(0.00139304355252534151077271f));
  u = fma(u, s, set(0.00833336077630519866943359f));
  u = fma(u, s, set(0.0416664853692054748535156f));
  u = fma(u, s, set(0.166666671633720397949219f));
  u = fma(u, s, set(0.5f));
  u = add(set(1.0f), fma(mul(s, s), u, s));
  const __m256i half = _mm256_srai_epi32(q, 1);
  V r = mul(mul(u, pow2i(half)), pow2i(_mm256_sub_epi32(q, half)));
  r = _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_cmp_ps(d, set(-104.0f), _CMP_LT_OQ));
  return _mm256_blendv_ps(r, set(std::numeric_limits<float>::infinity()), _mm256_cmp_ps(d, set(100.0f), _CMP_GT_OQ));
}

}  // namespace avx2
#endif

/// In-place sigmoid of one gate row (n values), as ATen's sigmoid kernel rounds it: its AVX2 body
/// (16 values per iteration) computes 1 / (1 + exp(0 - x)) with Sleef's expf, the scalar tail
/// 1 / (1 + exp(-x)) with the C library's expf.
inline void torch_sigmoid(float* p, index_t n) {
  const index_t body = n / 16 * 16;
  index_t i = 0;
#if defined(CTQ_RNN_MATH_AVX2)
  for (; i < body; i += 8) {
    const __m256 x = _mm256_loadu_ps(p + i);
    const __m256 e = avx2::expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
    _mm256_storeu_ps(p + i, _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
  }
#endif
  for (; i < body; ++i) p[i] = 1.0f / (1.0f + kernels::detail::sleef_expf(0.0f - p[i]));
  for (; i < n; ++i) p[i] = 1.0f / (1.0f + std::exp(-p[i]));
}

/// In-place tanh of n values: ATen's tanh runs Sleef on every value (partial vectors included).
inline void torch_tanh(float* p, index_t n) {
  index_t i = 0;
#if defined(CTQ_RNN_MATH_AVX2)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, avx2::tanhf(_mm256_loadu_ps(p + i)));
#endif
  for (; i < n; ++i) p[i] = sleef_tanhf(p[i]);
}

inline constexpr nn::detail::RecurrentMath torch_math{&torch_sigmoid, &torch_tanh};

}  // namespace ctq::nn::quantized::dynamic::detail
