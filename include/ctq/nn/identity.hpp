// nn::Identity: returns its input (PyTorch's torch.nn.Identity), float or quantized; what
// fuse_modules leaves in place of the modules folded into the first of a group. Also the "no
// observer" of a qconfig that quantizes only weights.
#pragma once

#include <string_view>

namespace ctq::nn {

struct Identity {
  static constexpr std::string_view name = "Identity";
  template <class X>
  const X& operator()(const X& x) const {
    return x;
  }
  template <class G>
  G backward(G g) const {
    return g;
  }
};

}  // namespace ctq::nn
