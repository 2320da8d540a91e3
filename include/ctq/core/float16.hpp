// IEEE 754 binary16 storage type with round-to-nearest-even conversion from float, for float16
// dynamic and weight-only quantization (PyTorch's `x.to(torch.float16)`).
#pragma once

#include <bit>
#include <cstdint>

namespace ctq {

/// A half-precision value held as its bit pattern. Arithmetic happens in float.
struct float16_t {
  std::uint16_t bits = 0;

  static constexpr float16_t from_bits(std::uint16_t b) { return float16_t{b}; }

  /// float -> binary16, rounding half to even; overflow gives +-inf, NaN stays NaN (quiet).
  static constexpr float16_t from_float(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const std::uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) {  // inf or NaN
      const std::uint32_t nan = abs > 0x7f800000u ? (0x0200u | ((abs >> 13) & 0x3ffu)) : 0u;
      return from_bits(static_cast<std::uint16_t>(sign | 0x7c00u | nan));
    }
    if (abs >= 0x477ff000u) {  // rounds to a value >= 65520: overflow to inf
      return from_bits(static_cast<std::uint16_t>(sign | 0x7c00u));
    }
    if (abs < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
      if (abs < 0x33000000u) return from_bits(static_cast<std::uint16_t>(sign));  // < 2^-25: zero
      const std::uint32_t exp = abs >> 23;
      const std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
      const std::uint32_t shift = 126u - exp;  // brings the value to units of 2^-24
      std::uint32_t h = mant >> shift;
      const std::uint32_t rem = mant & ((1u << shift) - 1u);
      const std::uint32_t half = 1u << (shift - 1u);
      if (rem > half || (rem == half && (h & 1u))) ++h;
      return from_bits(static_cast<std::uint16_t>(sign | h));
    }
    // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits.
    std::uint32_t h = ((abs - 0x38000000u) >> 13);
    const std::uint32_t rem = abs & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent
    return from_bits(static_cast<std::uint16_t>(sign | h));
  }

  /// binary16 -> float, exact.
  constexpr float to_float() const {
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
    const std::uint32_t exp = (bits >> 10) & 0x1fu;
    std::uint32_t mant = bits & 0x3ffu;
    if (exp == 0x1fu) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
      if (mant == 0) return std::bit_cast<float>(sign);
      // Subnormal: value = mant * 2^-24, exactly representable as a float.
      const float v = static_cast<float>(mant) * 5.9604644775390625e-08f;
      return sign ? -v : v;
    }
    return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
  }

  explicit constexpr operator float() const { return to_float(); }
  friend constexpr bool operator==(float16_t a, float16_t b) { return a.bits == b.bits; }
};

}  // namespace ctq
