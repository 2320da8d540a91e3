// nn::Identity: returns its input (PyTorch's torch.nn.Identity); also the "no observer" of a
// qconfig that quantizes only weights.
#pragma once

#include "../core/tensor.hpp"

namespace ctq::nn {

struct Identity {
  static constexpr std::string_view name = "Identity";
  template <class T, int R>
  const Tensor<T, R>& operator()(const Tensor<T, R>& x) const {
    return x;
  }
};

}  // namespace ctq::nn
