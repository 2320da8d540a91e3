// PlaceholderObserver: records nothing; carries the dtype a value converts to (float16, or float32
// with a dynamic compute dtype) to convert (PyTorch's torch.ao.quantization.PlaceholderObserver).
#pragma once

#include "no_qparams.hpp"

namespace ctq {

struct PlaceholderObserverArgs {
  ctq::dtype dtype = ctq::dtype::float32;
  ctq::dtype compute_dtype = ctq::dtype::float32;  // quint8 marks dynamic quantization of the input
};

/// Passes data through; tells convert which dtype the value takes (float16, or float32 with a
/// dynamic compute dtype). calculate_qparams raises ctq::error, as PyTorch's raises.
template <PlaceholderObserverArgs Args = PlaceholderObserverArgs{}>
class PlaceholderObserver {
 public:
  static constexpr std::string_view name = "PlaceholderObserver";
  static constexpr ctq::dtype dtype = Args.dtype;
  static constexpr ctq::dtype compute_dtype = Args.compute_dtype;
  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    return x;
  }
  void calculate_qparams() const { detail::no_qparams<PlaceholderObserver>::calculate_qparams(); }
  void reset() {}
  void merge(const PlaceholderObserver&) {}
};

}  // namespace ctq
