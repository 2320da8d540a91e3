// Build configuration of ctq: feature detection macros shared by every header.
#pragma once

// Exceptions: ctq raises ctq::error where they are on, and calls the error handler otherwise.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define CTQ_EXCEPTIONS 1
#else
#define CTQ_EXCEPTIONS 0
#endif

// xsimd is used only where it exists and has an architecture for the target (it has none for
// Cortex-M, and its full header does not compile against newlib there). Define CTQ_NO_XSIMD to
// force the scalar paths.
#if !defined(CTQ_NO_XSIMD) && __has_include(<xsimd/config/xsimd_config.hpp>)
#include <xsimd/config/xsimd_config.hpp>
#if !defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
#define CTQ_HAS_XSIMD 1
#endif
#endif
#ifndef CTQ_HAS_XSIMD
#define CTQ_HAS_XSIMD 0
#endif

// Kernel epilogues are small functions called once per vector of results: they must be inlined
// into the loop, where the compiler also hoists their constants.
#if defined(__GNUC__) || defined(__clang__)
#define CTQ_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define CTQ_ALWAYS_INLINE inline
#endif

#define CTQ_VERSION_MAJOR 0
#define CTQ_VERSION_MINOR 1
#define CTQ_VERSION_PATCH 0
