// NoopObserver: records nothing; carries float16 (or another dtype) to convert (PyTorch's NoopObserver).
#pragma once

#include "no_qparams.hpp"

namespace ctq {

struct NoopObserverArgs {
  ctq::dtype dtype = ctq::dtype::float16;
};

/// As PlaceholderObserver, with float16 as the default dtype.
template <NoopObserverArgs Args = NoopObserverArgs{}>
class NoopObserver {
 public:
  static constexpr std::string_view name = "NoopObserver";
  static constexpr ctq::dtype dtype = Args.dtype;
  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    return x;
  }
  void calculate_qparams() const { detail::no_qparams<NoopObserver>::calculate_qparams(); }
  void reset() {}
  void merge(const NoopObserver&) {}
};

}  // namespace ctq
