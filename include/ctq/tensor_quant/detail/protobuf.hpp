// A minimal protocol-buffers wire-format writer (varints, length-delimited fields, fixed32
// floats, packed repeated scalars): what onnx_export.hpp needs to write an ONNX model without a
// protobuf library. Encoding: https://protobuf.dev/programming-guides/encoding/
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace ctq::detail::protobuf {

/// The wire type in the low 3 bits of a field's key.
enum class wire : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

/// One message being written; a nested message is written into its own Writer and added whole
/// with message(), which prefixes its length. Fields appear in the order they are written.
class Writer {
 public:
  /// Base-128 varint: 7 bits per byte, least significant group first, high bit = "more follows".
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  /// A field key: (field number << 3) | wire type, as a varint.
  void key(std::uint32_t field, wire w) { varint((std::uint64_t{field} << 3) | static_cast<std::uint32_t>(w)); }

  /// int32 / int64 / enum / bool: a negative value is its 64-bit two's complement (10 bytes).
  void int_field(std::uint32_t field, std::int64_t v) {
    key(field, wire::varint);
    varint(static_cast<std::uint64_t>(v));
  }
  /// float: 4 bytes, little endian.
  void float_field(std::uint32_t field, float v) {
    key(field, wire::fixed32);
    fixed32(v);
  }
  /// string / bytes: the length as a varint, then the bytes.
  void bytes_field(std::uint32_t field, std::string_view bytes) {
    key(field, wire::length_delimited);
    varint(bytes.size());
    out_.append(bytes);
  }
  /// A nested message: length-delimited, like bytes.
  void message(std::uint32_t field, const Writer& m) { bytes_field(field, m.bytes()); }

  /// A packed repeated integer field: one key, the byte length, then the varints.
  void packed_ints(std::uint32_t field, std::span<const std::int64_t> values) {
    Writer body;
    for (std::int64_t v : values) body.varint(static_cast<std::uint64_t>(v));
    bytes_field(field, body.bytes());
  }
  void packed_ints(std::uint32_t field, std::span<const std::int32_t> values) {
    Writer body;
    for (std::int32_t v : values) body.varint(static_cast<std::uint64_t>(std::int64_t{v}));
    bytes_field(field, body.bytes());
  }
  /// A packed repeated float field: one key, the byte length (4 per value), the fixed32 values.
  void packed_floats(std::uint32_t field, std::span<const float> values) {
    key(field, wire::length_delimited);
    varint(values.size() * 4);
    for (float v : values) fixed32(v);
  }

  const std::string& bytes() const { return out_; }

 private:
  void fixed32(float v) {
    std::uint32_t u = 0;
    std::memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }

  std::string out_;
};

}  // namespace ctq::detail::protobuf
