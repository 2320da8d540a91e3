// QuantDescriptor: how a TensorQuantizer quantizes (NVIDIA pytorch_quantization's
// ScaledQuantDescriptor), as a structural type used as a template argument, and the predefined
// descriptors.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace ctq {

/// A set of tensor axes (at most 8; negative counts from the last). NVIDIA's `axis`: the axes
/// that KEEP their own amax; every other axis is reduced. Empty: one amax for the whole tensor.
struct AxisSet {
  int count = 0;
  int values[8] = {};
  constexpr bool empty() const { return count == 0; }
  constexpr bool contains(int axis, int rank) const {
    for (int i = 0; i < count; ++i) {
      if ((values[i] < 0 ? values[i] + rank : values[i]) == axis) return true;
    }
    return false;
  }
  friend constexpr bool operator==(const AxisSet&, const AxisSet&) = default;
};

/// The axes a descriptor keeps: `ctq::axes(0)`, `ctq::axes(0, 1)`.
template <class... I>
constexpr AxisSet axes(I... axis) {
  static_assert(sizeof...(I) <= 8, "ctq: axes: at most 8 axes");
  AxisSet s;
  ((s.values[s.count++] = static_cast<int>(axis)), ...);
  return s;
}

/// How to calibrate amax when none is given.
enum class calib_method : std::uint8_t { max, histogram };

/// "No amax given": the quantizer computes or calibrates it.
inline constexpr float no_amax = -1.0f;

/// NVIDIA's QuantDescriptor fields and defaults (`unsigned` is `is_unsigned`, a C++ keyword).
struct QuantDescriptor {
  int num_bits = 8;
  bool fake_quant = true;
  AxisSet axis = {};  // kept axes; empty: per tensor
  float amax = no_amax;
  bool learn_amax = false;
  float scale_amax = 1.0f;  // amax is multiplied by it when used (None in NVIDIA: 1)
  ctq::calib_method calib_method = ctq::calib_method::max;
  bool is_unsigned = false;
  bool narrow_range = false;
  friend constexpr bool operator==(const QuantDescriptor&, const QuantDescriptor&) = default;
};

namespace detail {
template <QuantDescriptor D>
struct check_quant_descriptor {
  static_assert(D.num_bits >= 2 && D.num_bits <= 16, "ctq: QuantDescriptor: num_bits must be in 2..16");
  static_assert(D.amax == no_amax || D.amax >= 0.0f, "ctq: QuantDescriptor: amax must not be negative");
  static_assert(!D.learn_amax || D.amax != no_amax, "ctq: QuantDescriptor: learn_amax needs an initial amax");
  static_assert(D.scale_amax > 0.0f, "ctq: QuantDescriptor: scale_amax must be positive");
  static constexpr bool ok = true;
};
}  // namespace detail

inline constexpr QuantDescriptor QUANT_DESC_8BIT_PER_TENSOR{.num_bits = 8};
inline constexpr QuantDescriptor QUANT_DESC_UNSIGNED_8BIT_PER_TENSOR{.num_bits = 8, .is_unsigned = true};
inline constexpr QuantDescriptor QUANT_DESC_8BIT_CONV1D_WEIGHT_PER_CHANNEL{.num_bits = 8, .axis = axes(0)};
inline constexpr QuantDescriptor QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL{.num_bits = 8, .axis = axes(0)};
inline constexpr QuantDescriptor QUANT_DESC_8BIT_CONV3D_WEIGHT_PER_CHANNEL{.num_bits = 8, .axis = axes(0)};
inline constexpr QuantDescriptor QUANT_DESC_8BIT_LINEAR_WEIGHT_PER_ROW{.num_bits = 8, .axis = axes(0)};
// Transposed convolutions: axis 0 of PyTorch's [In][Out / G][k...] weight (ctq keeps that layout),
// the input channel, as NVIDIA's descriptors keep it.
inline constexpr QuantDescriptor QUANT_DESC_8BIT_CONVTRANSPOSE1D_WEIGHT_PER_CHANNEL{.num_bits = 8, .axis = axes(0)};
inline constexpr QuantDescriptor QUANT_DESC_8BIT_CONVTRANSPOSE2D_WEIGHT_PER_CHANNEL{.num_bits = 8, .axis = axes(0)};
inline constexpr QuantDescriptor QUANT_DESC_8BIT_CONVTRANSPOSE3D_WEIGHT_PER_CHANNEL{.num_bits = 8, .axis = axes(0)};

}  // namespace ctq
