// Test support: loads the reference vectors that tools/reference/*.py wrote with PyTorch.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ctq/core/qtensor.hpp>
#include <ctq/core/tensor.hpp>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef CTQ_TEST_DATA_DIR
#error "CTQ_TEST_DATA_DIR must name the tests/data folder"
#endif

namespace ctq_test {

inline nlohmann::json load_reference(const std::string& file) {
  const std::string path = std::string(CTQ_TEST_DATA_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open reference file " + path + " (regenerate with tools/reference)");
  return nlohmann::json::parse(in);
}

// Floats are JSON numbers (exact: every float32 is a double) or "nan", "inf", "-inf".
inline float to_float(const nlohmann::json& v) {
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
    throw std::runtime_error("bad float in reference data: " + s);
  }
  return static_cast<float>(v.get<double>());
}

inline std::vector<float> floats(const nlohmann::json& a) {
  std::vector<float> out;
  out.reserve(a.size());
  for (const auto& v : a) out.push_back(to_float(v));
  return out;
}

template <class T = std::int64_t>
std::vector<T> ints(const nlohmann::json& a) {
  std::vector<T> out;
  out.reserve(a.size());
  for (const auto& v : a) out.push_back(static_cast<T>(v.get<std::int64_t>()));
  return out;
}

// Bitwise float equality that treats every NaN as equal to every NaN and keeps -0 != +0.
inline bool same_float(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  std::uint32_t ua, ub;
  static_assert(sizeof ua == sizeof a);
  __builtin_memcpy(&ua, &a, 4);
  __builtin_memcpy(&ub, &b, 4);
  return ua == ub;
}

}  // namespace ctq_test

namespace ctq_test {

// Decodes base64 (RFC 4648, with padding) into bytes.
inline std::vector<unsigned char> bytes_b64(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<unsigned char> bytes;
  bytes.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) continue;  // padding
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<unsigned char>((buffer >> bits) & 0xffu));
    }
  }
  return bytes;
}

// Decodes base64 holding little-endian float32 values.
inline std::vector<float> floats_b64(const std::string& text) {
  const std::vector<unsigned char> bytes = bytes_b64(text);
  if (bytes.size() % 4 != 0) throw std::runtime_error("base64 float data is not a whole number of floats");
  std::vector<float> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint32_t u =
        static_cast<std::uint32_t>(bytes[4 * i]) | (static_cast<std::uint32_t>(bytes[4 * i + 1]) << 8) |
        (static_cast<std::uint32_t>(bytes[4 * i + 2]) << 16) | (static_cast<std::uint32_t>(bytes[4 * i + 3]) << 24);
    __builtin_memcpy(&out[i], &u, 4);
  }
  return out;
}

// Distance in units in the last place between two finite floats of the same sign (0 if equal).
inline std::int64_t ulp_distance(float a, float b) {
  std::int32_t ia, ib;
  __builtin_memcpy(&ia, &a, 4);
  __builtin_memcpy(&ib, &b, 4);
  if (ia < 0) ia = std::numeric_limits<std::int32_t>::min() - ia;
  if (ib < 0) ib = std::numeric_limits<std::int32_t>::min() - ib;
  return ia > ib ? static_cast<std::int64_t>(ia) - ib : static_cast<std::int64_t>(ib) - ia;
}

}  // namespace ctq_test

namespace ctq_test {

// Calls f.template operator()<R>() with R = rank (1 to 4), the rank of a reference tensor.
template <class F>
void with_rank(std::size_t rank, F&& f) {
  switch (rank) {
    case 1: return f.template operator()<1>();
    case 2: return f.template operator()<2>();
    case 3: return f.template operator()<3>();
    case 4: return f.template operator()<4>();
    default: FAIL("unsupported rank " << rank);
  }
}

// A float tensor of rank R from a JSON shape and its row-major values.
template <int R>
ctq::Tensor<float, R> make_tensor(const nlohmann::json& shape, const std::vector<float>& values) {
  REQUIRE(static_cast<int>(shape.size()) == R);
  ctq::Shape<R> s{};
  for (int i = 0; i < R; ++i) s[static_cast<std::size_t>(i)] = shape[static_cast<std::size_t>(i)].get<ctq::index_t>();
  return ctq::Tensor<float, R>(s, std::span<const float>(values));
}

}  // namespace ctq_test

namespace ctq_test {

// Checks that got[0, n) equals `expected` bitwise (NaN equal to NaN, -0 distinct from +0),
// reporting the first three differences.
inline void check_bits(const std::vector<float>& expected, const float* got, std::size_t n, const std::string& what) {
  REQUIRE(expected.size() == n);
  int wrong = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!same_float(expected[i], got[i]) && ++wrong <= 3) {
      MESSAGE(what << " [" << i << "]: reference " << expected[i] << ", ctq " << got[i]);
    }
  }
  CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " of " << n << " differ");
}

}  // namespace ctq_test

namespace ctq_test {

// A float tensor from {"shape", "b64"} (float32 base64), as the module generators write them.
template <int R>
ctq::Tensor<float, R> float_tensor(const nlohmann::json& e) {
  return make_tensor<R>(e["shape"], floats_b64(e["b64"].get<std::string>()));
}

// A quint8 per-tensor tensor from {"shape", "scale", "zero_point", "int_repr"} (uint8 base64).
template <int R>
ctq::QTensor<ctq::dtype::quint8, ctq::qscheme::per_tensor_affine, R> quint8_tensor(const nlohmann::json& e) {
  REQUIRE(static_cast<int>(e["shape"].size()) == R);
  ctq::Shape<R> s{};
  for (int i = 0; i < R; ++i)
    s[static_cast<std::size_t>(i)] = e["shape"][static_cast<std::size_t>(i)].get<ctq::index_t>();
  const auto bytes = bytes_b64(e["int_repr"].get<std::string>());
  const ctq::PerTensorQParams qp{to_float(e["scale"]), e["zero_point"].get<std::int32_t>()};
  return {s, qp, std::span<const std::uint8_t>(bytes.data(), bytes.size())};
}

}  // namespace ctq_test
