// Test support: loads the reference vectors that tools/reference/*.py wrote with PyTorch.
#pragma once

#include <cmath>
#include <cstdint>
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
