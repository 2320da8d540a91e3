// The backend a converted model follows: PyTorch's default engine per target, and the numerics
// (requantization style, elementwise and pooling kernels) of each backend.
#pragma once

#include <type_traits>

#include "../kernels/requantize.hpp"
#include "../kernels/torch_numerics.hpp"
#include "../nn/quantized/engine.hpp"
#include "../qconfig/backend.hpp"

namespace ctq {

/// The backend PyTorch would use by default on the target: qnnpack on ARM, x86 elsewhere.
#if defined(__aarch64__) || defined(__arm__) || defined(_M_ARM64)
using default_backend = backend::qnnpack;
#else
using default_backend = backend::x86;
#endif

/// The numerics of PyTorch's quantized engine for a backend. x86 and fbgemm use the onednn
/// engine's (ctq's reference PyTorch has no FBGEMM; see docs/quantization.md).
template <class B>
constexpr nn::quantized::EngineConfig engine_config() {
  using kernels::qengine;
  nn::quantized::EngineConfig e;
  e.torch.format = kernels::memory_format::channels_last;  // quantized convs produce channels-last tensors
  if constexpr (std::is_same_v<B, backend::qnnpack>) {
    e.style = kernels::requantize_style::qnnpack;
    e.torch.engine = qengine::qnnpack;
  } else {
    e.style = kernels::requantize_style::onednn;
    e.torch.engine = std::is_same_v<B, backend::onednn>   ? qengine::onednn
                     : std::is_same_v<B, backend::fbgemm> ? qengine::fbgemm
                                                          : qengine::x86;
  }
  return e;
}

}  // namespace ctq
