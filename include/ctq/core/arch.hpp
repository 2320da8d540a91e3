// Execution paths for the elementwise core operations: the scalar reference and the xsimd path
// for the architecture the compiler targets. Every path gives bit-identical results.
#pragma once

#include "../config.hpp"

#if CTQ_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace ctq::arch {

/// The portable reference: plain C++, one element at a time.
struct scalar {
  static constexpr const char* name() { return "scalar"; }
};

#if CTQ_HAS_XSIMD
/// xsimd batches of the architecture A (an xsimd arch type, default: the best the compiler
/// targets), with native intrinsics where xsimd 8.1 has no operation (widening, narrowing).
template <class A = xsimd::default_arch>
struct simd {
  using xsimd_arch = A;
  static constexpr const char* name() { return A::name(); }
};
/// The path ctq's core operations take when none is named.
using best = simd<>;
#else
using best = scalar;
#endif

template <class T>
inline constexpr bool is_simd = false;
#if CTQ_HAS_XSIMD
template <class A>
inline constexpr bool is_simd<simd<A>> = true;
#endif

}  // namespace ctq::arch
