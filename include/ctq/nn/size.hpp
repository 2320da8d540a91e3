// The bytes of a model's parameters: 4 per float state value, and what each quantized module
// reports (int8 weights plus float scales, zero points and bias).
#pragma once

#include <cstddef>

#include "module.hpp"

namespace ctq::nn {

template <class M>
std::size_t parameter_bytes(M& m) {
  std::size_t bytes = 0;
  for_each_module(m, [&]<fixed_string>(auto& mod) {
    if constexpr (requires { mod.parameter_bytes(); }) {
      bytes += mod.parameter_bytes();
    } else if constexpr (requires { mod.visit_state([](std::string_view, auto&) {}); }) {
      mod.visit_state([&](std::string_view, auto& t) { bytes += sizeof(float) * static_cast<std::size_t>(t.size()); });
    }
  });
  return bytes;
}

}  // namespace ctq::nn
