// QConfig and QConfigDynamic: which observer (or fake-quantizer) types a module's activation and
// weight get. Types, never instances: each module instantiates its own (PyTorch stores
// constructors for the same reason).
#pragma once

#include <type_traits>

namespace ctq {

/// Static quantization (and QAT, with fake-quantizers): Activation observes outputs, Weight
/// observes weights.
template <class Activation, class Weight>
struct QConfig {
  using activation = Activation;
  using weight = Weight;
  static constexpr bool is_dynamic = false;
};

/// Dynamic quantization: weights observed once at convert time, activations quantized per call.
template <class Activation, class Weight>
struct QConfigDynamic {
  using activation = Activation;
  using weight = Weight;
  static constexpr bool is_dynamic = true;
};

template <class T>
inline constexpr bool is_qconfig = false;
template <class A, class W>
inline constexpr bool is_qconfig<QConfig<A, W>> = true;
template <class A, class W>
inline constexpr bool is_qconfig<QConfigDynamic<A, W>> = true;

}  // namespace ctq
