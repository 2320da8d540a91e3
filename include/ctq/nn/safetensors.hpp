// State dicts in the safetensors format (what `safetensors.torch.save_file` writes): an 8-byte
// little-endian header length, a JSON header {"name": {"dtype", "shape", "data_offsets"}, ...,
// "__metadata__": {...}}, then the tensors' bytes. A checkpoint trained in PyTorch loads into a
// ctq model by its dotted names:
//
//   nn::load_safetensors(model, "model.safetensors");   // strict: every name and shape must match
//   nn::save_safetensors(model, "model.safetensors");   // F32, readable by safetensors' loaders
//
// Reading converts F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL tensors to float (ctq's
// state is float; PyTorch's BatchNorm writes an I64 num_batches_tracked, which ctq's BatchNorm
// does not keep: read_safetensors then erase it, or load with strict = false). Other dtypes and
// malformed files raise ctq::error naming the problem.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/float16.hpp"
#include "state.hpp"

namespace ctq::nn {

namespace detail {

static_assert(std::endian::native == std::endian::little,
              "ctq: safetensors: reading and writing assume a little-endian machine");

// A reader of the JSON subset safetensors headers use: objects, arrays, strings, integers (and,
// in metadata, any JSON value, skipped).
class SafetensorsHeader {
 public:
  explicit SafetensorsHeader(std::string_view text) : s_(text) {}

  [[noreturn]] void fail(std::string_view what) const {
    raise(ctq::detail::message() << "ctq: safetensors: bad header at byte " << pos_ << ": " << what);
  }
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  bool peek(char c) {
    ws();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool at_end() {
    ws();
    return pos_ == s_.size();
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, code_point()); break;
        default: fail("unknown escape");
      }
    }
  }

  std::int64_t integer() {
    ws();
    const std::size_t start = pos_;
    bool negative = false;
    if (pos_ < s_.size() && s_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    std::uint64_t v = 0;
    std::size_t digits = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (v > (std::uint64_t{1} << 62)) fail("integer too large");
      v = v * 10 + static_cast<std::uint64_t>(s_[pos_++] - '0');
      ++digits;
    }
    if (digits == 0) {
      pos_ = start;
      fail("expected an integer");
    }
    return negative ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
  }

  std::vector<std::int64_t> integers() {
    std::vector<std::int64_t> v;
    expect('[');
    if (peek(']')) {
      ++pos_;
      return v;
    }
    do {
      v.push_back(integer());
    } while (comma());
    expect(']');
    return v;
  }

  bool comma() {
    if (!peek(',')) return false;
    ++pos_;
    return true;
  }

  /// Skips any JSON value (metadata).
  void skip_value() {
    ws();
    if (pos_ >= s_.size()) fail("expected a value");
    const char c = s_[pos_];
    if (c == '"') {
      string();
    } else if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      if (peek(close)) {
        ++pos_;
        return;
      }
      do {
        if (close == '}') {
          string();
          expect(':');
        }
        skip_value();
      } while (comma());
      expect(close);
    } else {
      const std::size_t start = pos_;
      while (pos_ < s_.size() && std::string_view(",}] \n\r\t").find(s_[pos_]) == std::string_view::npos) ++pos_;
      const std::string_view word = s_.substr(start, pos_ - start);
      if (word.empty()) fail("expected a value");
    }
  }

 private:
  std::uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("short \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        fail("bad \\u escape");
      }
    }
    return v;
  }
  std::uint32_t code_point() {
    const std::uint32_t hi = hex4();
    if (hi < 0xd800 || hi > 0xdbff) return hi;
    if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') fail("unpaired surrogate");
    pos_ += 2;
    const std::uint32_t lo = hex4();
    if (lo < 0xdc00 || lo > 0xdfff) fail("unpaired surrogate");
    return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// Bytes per element of a safetensors dtype, 0 for the ones ctq does not read.
inline std::size_t safetensors_item_size(std::string_view dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

template <class T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline float safetensors_value(std::string_view dtype, const unsigned char* p) {
  if (dtype == "F32") return load_le<float>(p);
  if (dtype == "F64") return static_cast<float>(load_le<double>(p));
  if (dtype == "F16") return float16_t::from_bits(load_le<std::uint16_t>(p)).to_float();
  if (dtype == "BF16") return std::bit_cast<float>(static_cast<std::uint32_t>(load_le<std::uint16_t>(p)) << 16);
  if (dtype == "I64") return static_cast<float>(load_le<std::int64_t>(p));
  if (dtype == "I32") return static_cast<float>(load_le<std::int32_t>(p));
  if (dtype == "I16") return static_cast<float>(load_le<std::int16_t>(p));
  if (dtype == "I8") return static_cast<float>(load_le<std::int8_t>(p));
  return static_cast<float>(*p);  // U8, BOOL
}

inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace detail

/// The state dict in a safetensors buffer (the whole file's bytes). See the file comment for the
/// dtypes; metadata is skipped.
inline StateDict parse_safetensors(std::string_view file) {
  if (file.size() < 8) raise("ctq: safetensors: the file is shorter than its 8-byte header length");
  const auto header_len = detail::load_le<std::uint64_t>(reinterpret_cast<const unsigned char*>(file.data()));
  if (header_len > file.size() - 8) {
    raise(ctq::detail::message() << "ctq: safetensors: the header length " << header_len << " exceeds the file ("
                                 << file.size() << " bytes)");
  }
  const std::string_view data = file.substr(8 + header_len);
  detail::SafetensorsHeader h(file.substr(8, header_len));
  StateDict d;
  h.expect('{');
  if (!h.peek('}')) {
    do {
      std::string name = h.string();
      h.expect(':');
      if (name == "__metadata__") {
        h.skip_value();
        continue;
      }
      std::string dtype;
      std::vector<std::int64_t> shape, offsets;
      bool has_dtype = false, has_shape = false, has_offsets = false;
      h.expect('{');
      if (!h.peek('}')) {
        do {
          const std::string field = h.string();
          h.expect(':');
          if (field == "dtype") {
            dtype = h.string();
            has_dtype = true;
          } else if (field == "shape") {
            shape = h.integers();
            has_shape = true;
          } else if (field == "data_offsets") {
            offsets = h.integers();
            has_offsets = true;
          } else {
            h.skip_value();
          }
        } while (h.comma());
      }
      h.expect('}');
      if (!has_dtype || !has_shape || !has_offsets || offsets.size() != 2) {
        raise(ctq::detail::message() << "ctq: safetensors: tensor '" << name
                                     << "' needs dtype, shape and two data_offsets");
      }
      const std::size_t item = detail::safetensors_item_size(dtype);
      if (item == 0) {
        raise(ctq::detail::message() << "ctq: safetensors: tensor '" << name << "' has dtype " << dtype
                                     << "; ctq reads F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL");
      }
      std::uint64_t count = 1;
      for (const auto dim : shape) {
        if (dim < 0) raise(ctq::detail::message() << "ctq: safetensors: tensor '" << name << "' has a negative size");
        if (dim != 0 && count > (std::uint64_t{1} << 40) / static_cast<std::uint64_t>(dim)) {
          raise(ctq::detail::message() << "ctq: safetensors: tensor '" << name << "' is too large");
        }
        count *= static_cast<std::uint64_t>(dim);
      }
      if (offsets[0] < 0 || offsets[1] < offsets[0] || static_cast<std::uint64_t>(offsets[1]) > data.size() ||
          static_cast<std::uint64_t>(offsets[1] - offsets[0]) != count * item) {
        raise(ctq::detail::message() << "ctq: safetensors: tensor '" << name << "': data_offsets [" << offsets[0]
                                     << ", " << offsets[1] << "] do not hold " << count << " " << dtype
                                     << " values inside the " << data.size() << " data bytes");
      }
      StateTensor t;
      t.shape.assign(shape.begin(), shape.end());
      t.values.resize(count);
      const auto* p = reinterpret_cast<const unsigned char*>(data.data()) + offsets[0];
      for (std::uint64_t i = 0; i < count; ++i) t.values[i] = detail::safetensors_value(dtype, p + i * item);
      if (!d.emplace(std::move(name), std::move(t)).second) {
        raise(ctq::detail::message() << "ctq: safetensors: a tensor name appears twice");
      }
    } while (h.comma());
  }
  h.expect('}');
  if (!h.at_end()) h.fail("text after the header object");
  return d;
}

/// Reads a safetensors file.
inline StateDict read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) raise(ctq::detail::message() << "ctq: safetensors: cannot open '" << path << "'");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_safetensors(bytes);
}

/// The safetensors bytes of a state dict: F32 tensors in name order, the header padded with
/// spaces to a multiple of 8 bytes (as safetensors' own writer does).
inline std::string serialize_safetensors(const StateDict& d) {
  std::string header = "{";
  std::uint64_t offset = 0;
  bool first = true;
  for (const auto& [name, t] : d) {
    if (!first) header += ',';
    first = false;
    detail::append_json_string(header, name);
    header += R"(:{"dtype":"F32","shape":[)";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i) header += ',';
      header += std::to_string(t.shape[i]);
    }
    const std::uint64_t end = offset + 4 * t.values.size();
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  header += '}';
  while ((8 + header.size()) % 8 != 0) header += ' ';
  std::string out(8, '\0');
  const std::uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  out += header;
  for (const auto& [name, t] : d) {
    out.append(reinterpret_cast<const char*>(t.values.data()), 4 * t.values.size());
  }
  return out;
}

/// Writes a state dict as a safetensors file.
inline void write_safetensors(const StateDict& d, const std::string& path) {
  const std::string bytes = serialize_safetensors(d);
  std::ofstream out(path, std::ios::binary);
  if (!out) raise(ctq::detail::message() << "ctq: safetensors: cannot create '" << path << "'");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) raise(ctq::detail::message() << "ctq: safetensors: writing '" << path << "' failed");
}

/// Loads a safetensors checkpoint into m by dotted names (load_state_dict's checks).
template <class M>
void load_safetensors(M& m, const std::string& path, bool strict = true) {
  load_state_dict(m, read_safetensors(path), strict);
}

/// Saves m's state as a safetensors file.
template <class M>
void save_safetensors(M& m, const std::string& path) {
  write_safetensors(state_dict(m), path);
}

}  // namespace ctq::nn
