// The architectures ctq's int8 kernels are written for, as tag types. A kernel is selected by an
// `Arch` template parameter; `kernels::arch::best` is the best one the compiler targets.
//
// xsimd 8.1 has no int8 dot product (no vpdpbusd, vpmaddwd on bytes, sdot): each tag names the
// xsimd architecture its epilogue uses and the microkernel uses native intrinsics for the
// multiply-accumulate.
#pragma once

#include <type_traits>

#include "../config.hpp"

#if CTQ_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace ctq::kernels::arch {

/// Portable C++: the reference every other kernel is tested against; compiles everywhere.
struct scalar {
  static constexpr const char* name() { return "scalar"; }
};

#if CTQ_HAS_XSIMD && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define CTQ_KERNEL_AVX512VNNI 1
/// AVX-512 with VNNI: `vpdpbusd` multiplies unsigned activations by signed weights, four at a
/// time, into int32 lanes without intermediate saturation.
struct avx512vnni {
  static constexpr const char* name() { return "avx512vnni"; }
  using xsimd_arch = xsimd::avx512bw;
};
#endif

#if defined(CTQ_KERNEL_AVX512VNNI) && defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__linux__)
#define CTQ_KERNEL_AMX 1
/// AMX (Advanced Matrix Extensions, Sapphire Rapids and later): `tdpbusd` multiplies 16 x 64
/// uint8 by 64 x 16 int8 tiles into 16 x 16 int32. Weights are packed as for AVX-512 VNNI (K
/// padded to 64); small M, and a process the kernel refuses the tile state, use the VNNI kernel.
struct amx {
  static constexpr const char* name() { return "amx"; }
  using xsimd_arch = xsimd::avx512bw;
};
#endif

#if CTQ_HAS_XSIMD && defined(__AVX2__)
#define CTQ_KERNEL_AVX2 1
/// AVX2: bytes widened to int16 and multiplied with `vpmaddwd`, exact for every input (see
/// docs/kernels.md for why ctq does not use the saturating `vpmaddubsw`).
struct avx2 {
  static constexpr const char* name() { return "avx2"; }
  using xsimd_arch = xsimd::avx2;
};
#endif

#if CTQ_HAS_XSIMD && defined(__ARM_NEON) && defined(__aarch64__)
#define CTQ_KERNEL_NEON 1
/// AArch64 NEON without the dot-product extension: `smull` + `sadalp`.
struct neon {
  static constexpr const char* name() { return "neon"; }
  using xsimd_arch = xsimd::neon64;
};
#if defined(__ARM_FEATURE_DOTPROD)
#define CTQ_KERNEL_NEON_DOT 1
/// AArch64 NEON with the dot-product extension (Armv8.2-A+dotprod): `sdot`.
struct neon_dot {
  static constexpr const char* name() { return "neon_dot"; }
  using xsimd_arch = xsimd::neon64;
};
#endif
#endif

/// The best kernel architecture the compiler targets.
#if defined(CTQ_KERNEL_AMX)
using best = amx;
#elif defined(CTQ_KERNEL_AVX512VNNI)
using best = avx512vnni;
#elif defined(CTQ_KERNEL_AVX2)
using best = avx2;
#elif defined(CTQ_KERNEL_NEON_DOT)
using best = neon_dot;
#elif defined(CTQ_KERNEL_NEON)
using best = neon;
#else
using best = scalar;
#endif

/// Whether Arch has the AVX-512 VNNI instructions (the VNNI and AMX kernels).
template <class Arch>
inline constexpr bool has_avx512vnni =
#if defined(CTQ_KERNEL_AVX512VNNI)
    std::is_same_v<Arch, avx512vnni>
#if defined(CTQ_KERNEL_AMX)
    || std::is_same_v<Arch, amx>
#endif
#else
    false
#endif
    ;

}  // namespace ctq::kernels::arch
