// Parameter initialisation as PyTorch's reset_parameters does it (distributions, not bits): a
// model fresh from its constructor holds zeros; nn::reset_parameters(model, seed) gives every
// layer PyTorch's default initial values.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "../core/tensor.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's kaiming_uniform_(a = sqrt(5)) for Linear and
/// Conv weights, and their bias.
template <int R>
void fill_uniform_fan_in(Tensor<float, R>& t, index_t fan_in, std::mt19937& g) {
  const float bound = fan_in > 0 ? 1.0f / std::sqrt(static_cast<float>(fan_in)) : 0.0f;
  std::uniform_real_distribution<float> u(-bound, bound);
  for (auto& v : t.values()) v = u(g);
}
}  // namespace detail

/// Initialises every module of m that has parameters, in visiting order, from one seed.
template <class M>
void reset_parameters(M& m, std::uint32_t seed) {
  std::mt19937 g(seed);
  for_each_module(m, [&]<fixed_string>(auto& mod) {
    if constexpr (requires { mod.reset_parameters(g); }) mod.reset_parameters(g);
  });
}

}  // namespace ctq::nn
