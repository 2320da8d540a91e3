// Quantized data types (PyTorch's torch.quint8, qint8, qint32, quint4x2, float16) and their
// compile-time traits: storage type, quant_min/quant_max, signedness, bit width.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

#include "float16.hpp"

namespace ctq {

/// The data types of the seeds. A value of this enum is a structural template argument, so it
/// serves both as a tag (`QTensor<dtype::qint8, ...>`) and as a field of observer parameters
/// (`MinMaxObserver<{.dtype = dtype::qint8}>`).
enum class dtype : std::uint8_t {
  quint8,    // uint8 storage, [0, 255]
  qint8,     // int8 storage, [-128, 127]
  qint32,    // int32 storage, full range (bias and accumulators)
  quint4x2,  // two unsigned 4-bit values per byte, [0, 15]; element 2i in the low nibble
  float16,   // binary16: dynamic and weight-only quantization, no integer storage
  float32,   // no quantization (PlaceholderObserver with dtype float)
};

/// Compile-time facts of a dtype. Primary template left undefined: every enumerator has one.
template <dtype D>
struct dtype_traits;

template <>
struct dtype_traits<dtype::quint8> {
  using storage = std::uint8_t;
  static constexpr bool is_quantized = true;  // has integer storage with quant_min/quant_max
  static constexpr bool is_signed = false;
  static constexpr int bits = 8;
  static constexpr int elements_per_byte = 1;
  static constexpr std::int64_t quant_min = 0;
  static constexpr std::int64_t quant_max = 255;
  static constexpr std::string_view name = "quint8";
};

template <>
struct dtype_traits<dtype::qint8> {
  using storage = std::int8_t;
  static constexpr bool is_quantized = true;
  static constexpr bool is_signed = true;
  static constexpr int bits = 8;
  static constexpr int elements_per_byte = 1;
  static constexpr std::int64_t quant_min = -128;
  static constexpr std::int64_t quant_max = 127;
  static constexpr std::string_view name = "qint8";
};

template <>
struct dtype_traits<dtype::qint32> {
  using storage = std::int32_t;
  static constexpr bool is_quantized = true;
  static constexpr bool is_signed = true;
  static constexpr int bits = 32;
  static constexpr int elements_per_byte = 0;  // wider than a byte
  static constexpr std::int64_t quant_min = std::numeric_limits<std::int32_t>::min();
  static constexpr std::int64_t quant_max = std::numeric_limits<std::int32_t>::max();
  static constexpr std::string_view name = "qint32";
};

template <>
struct dtype_traits<dtype::quint4x2> {
  using storage = std::uint8_t;  // one byte holds two elements
  static constexpr bool is_quantized = true;
  static constexpr bool is_signed = false;
  static constexpr int bits = 4;
  static constexpr int elements_per_byte = 2;
  static constexpr std::int64_t quant_min = 0;
  static constexpr std::int64_t quant_max = 15;
  static constexpr std::string_view name = "quint4x2";
};

template <>
struct dtype_traits<dtype::float16> {
  using storage = float16_t;
  static constexpr bool is_quantized = false;
  static constexpr bool is_signed = true;
  static constexpr int bits = 16;
  static constexpr int elements_per_byte = 0;
  static constexpr std::string_view name = "float16";
};

template <>
struct dtype_traits<dtype::float32> {
  using storage = float;
  static constexpr bool is_quantized = false;
  static constexpr bool is_signed = true;
  static constexpr int bits = 32;
  static constexpr int elements_per_byte = 0;
  static constexpr std::string_view name = "float32";
};

template <dtype D>
using storage_t = typename dtype_traits<D>::storage;

/// True for the dtypes that quantize to integers with a zero point.
template <dtype D>
inline constexpr bool is_quantized_dtype = dtype_traits<D>::is_quantized;

/// True for the dtypes packing several elements into one byte.
template <dtype D>
inline constexpr bool is_sub_byte_dtype = dtype_traits<D>::elements_per_byte > 1;

/// Number of storage units that hold n elements of D.
template <dtype D>
constexpr std::int64_t storage_size(std::int64_t n) {
  constexpr int per = dtype_traits<D>::elements_per_byte;
  if constexpr (per > 1) {
    return (n + per - 1) / per;
  } else {
    return n;
  }
}

}  // namespace ctq
