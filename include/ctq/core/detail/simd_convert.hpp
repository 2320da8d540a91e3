// What xsimd 8.1 lacks or gets wrong for bit-exact kernels: widening loads (8-bit -> int32 batch),
// narrowing stores (int32 batch -> 8-bit), with native intrinsics per architecture and a portable
// fallback through a stack buffer; and IEEE float division on aarch64 (xsimd's neon64 divides by
// a refined reciprocal estimate, which is not correctly rounded). Narrowing truncates: callers
// clamp into the 8-bit range first, so truncation is exact.
#pragma once

#include "../../config.hpp"

#if CTQ_HAS_XSIMD
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

namespace ctq::detail {

template <class A>
inline constexpr bool is_x86_sse_only_v =
#if defined(__SSE2__)
    std::is_base_of_v<xsimd::sse2, A> && !std::is_base_of_v<xsimd::avx, A>;
#else
    false;
#endif

/// Stores the int32 lanes of v, already in the range of T, as T (uint8_t or int8_t).
template <class T, class A>
inline void store_narrow(const xsimd::batch<std::int32_t, A>& v, T* dst) {
  static_assert(sizeof(T) == 1);
  constexpr std::size_t n = xsimd::batch<std::int32_t, A>::size;
#if defined(__AVX512F__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, A>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(v));
    return;
  } else
#endif
#if defined(__AVX2__)
      if constexpr (std::is_base_of_v<xsimd::avx2, A>) {
    const __m256i r = v;
    const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    const __m128i p8 = std::is_signed_v<T> ? _mm_packs_epi16(p16, p16) : _mm_packus_epi16(p16, p16);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), p8);
    return;
  } else
#endif
#if defined(__SSE2__)
      if constexpr (is_x86_sse_only_v<A>) {
    const __m128i r = v;
    const __m128i p16 = _mm_packs_epi32(r, r);
    const __m128i p8 = std::is_signed_v<T> ? _mm_packs_epi16(p16, p16) : _mm_packus_epi16(p16, p16);
    const std::int32_t four = _mm_cvtsi128_si32(p8);
    std::memcpy(dst, &four, 4);
    return;
  } else
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
      if constexpr (std::is_base_of_v<xsimd::neon64, A>) {
    const int16x4_t n16 = vmovn_s32(v);
    const int8x8_t n8 = vmovn_s16(vcombine_s16(n16, n16));
    vst1_lane_s32(reinterpret_cast<std::int32_t*>(static_cast<void*>(dst)), vreinterpret_s32_s8(n8), 0);
    return;
  } else
#endif
  {
    alignas(64) std::int32_t buf[n];
    v.store_aligned(buf);
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(buf[i]);
  }
}

/// Stores the int32 lanes of v as T (uint8_t or int8_t), each saturated to T's range. On AVX2
/// store_narrow's pack instructions saturate, so they are the clamp; elsewhere the lanes are
/// clamped, then narrowed.
template <class T, class A>
inline void store_saturated(const xsimd::batch<std::int32_t, A>& v, T* dst) {
  static_assert(sizeof(T) == 1);
  using B = xsimd::batch<std::int32_t, A>;
  constexpr std::int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
#if defined(__AVX2__)
  if constexpr (std::is_base_of_v<xsimd::avx2, A> && !std::is_base_of_v<xsimd::avx512f, A>) {
    store_narrow(v, dst);
    return;
  }
#endif
  store_narrow(xsimd::min(xsimd::max(v, B(lo)), B(hi)), dst);
}

/// Loads batch-size many T (uint8_t or int8_t) and widens them to int32 lanes.
template <class A, class T>
inline xsimd::batch<std::int32_t, A> load_widen(const T* src) {
  static_assert(sizeof(T) == 1);
  using B = xsimd::batch<std::int32_t, A>;
  constexpr bool is_signed = std::is_signed_v<T>;
#if defined(__AVX512F__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, A>) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    return B(is_signed ? _mm512_cvtepi8_epi32(x) : _mm512_cvtepu8_epi32(x));
  } else
#endif
#if defined(__AVX2__)
      if constexpr (std::is_base_of_v<xsimd::avx2, A>) {
    const __m128i x = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
    return B(is_signed ? _mm256_cvtepi8_epi32(x) : _mm256_cvtepu8_epi32(x));
  } else
#endif
#if defined(__SSE2__)
      if constexpr (is_x86_sse_only_v<A>) {
    std::int32_t four;
    std::memcpy(&four, src, 4);
    const __m128i x = _mm_cvtsi32_si128(four);
    if constexpr (is_signed) {
      const __m128i b = _mm_unpacklo_epi8(x, x);  // each byte twice
      return B(_mm_srai_epi32(_mm_unpacklo_epi16(b, b), 24));
    } else {
      const __m128i zero = _mm_setzero_si128();
      return B(_mm_unpacklo_epi16(_mm_unpacklo_epi8(x, zero), zero));
    }
  } else
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
      if constexpr (std::is_base_of_v<xsimd::neon64, A>) {
    std::int32_t four;
    std::memcpy(&four, src, 4);
    const int8x8_t x = vreinterpret_s8_s32(vdup_n_s32(four));
    if constexpr (is_signed) {
      return B(vmovl_s16(vget_low_s16(vmovl_s8(x))));
    } else {
      const uint8x8_t u = vreinterpret_u8_s8(x);
      return B(vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(u)))));
    }
  } else
#endif
  {
    alignas(64) std::int32_t buf[B::size];
    for (std::size_t i = 0; i < B::size; ++i) buf[i] = static_cast<std::int32_t>(src[i]);
    return B::load_aligned(buf);
  }
}

/// no_contract (fp.hpp) for a vector: the product that produced v is rounded by its own
/// instruction, and the compiler cannot fuse it into a following add.
template <class A>
inline xsimd::batch<float, A> no_contract(xsimd::batch<float, A> v) {
  auto r = static_cast<typename xsimd::batch<float, A>::register_type>(v);
#if defined(__SSE2__)
  __asm__("" : "+v"(r));
#elif defined(__aarch64__)
  __asm__("" : "+w"(r));
#endif
  return xsimd::batch<float, A>(r);
}

/// a / b, correctly rounded on every architecture.
template <class A>
inline xsimd::batch<float, A> exact_div(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) {
#if defined(__ARM_NEON) && defined(__aarch64__)
  if constexpr (std::is_base_of_v<xsimd::neon64, A>) {
    return xsimd::batch<float, A>(vdivq_f32(a, b));
  } else
#endif
  {
    return a / b;
  }
}

}  // namespace ctq::detail

#endif  // CTQ_HAS_XSIMD
