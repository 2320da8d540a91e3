// MinMaxObserver: scale and zero point from the running minimum and maximum (PyTorch's
// torch.ao.quantization.MinMaxObserver), per tensor.
#pragma once

#include <limits>

#include "observer_base.hpp"

namespace ctq {

/// Arguments of MinMaxObserver, in PyTorch's order; `MinMaxObserver<{.dtype = dtype::qint8}>`.
struct MinMaxObserverArgs {
  ctq::dtype dtype = ctq::dtype::quint8;
  ctq::qscheme qscheme = ctq::qscheme::per_tensor_affine;
  bool reduce_range = false;
  std::int64_t quant_min = unset;
  std::int64_t quant_max = unset;
  float eps = float32_eps;
};

namespace detail {

// Running per-tensor min/max with PyTorch's "not observed yet" encoding (+inf, -inf).
struct MinMaxState {
  float min_val = std::numeric_limits<float>::infinity();
  float max_val = -std::numeric_limits<float>::infinity();
  bool observed() const {
    return !(min_val == std::numeric_limits<float>::infinity() && max_val == -std::numeric_limits<float>::infinity());
  }
  friend bool operator==(const MinMaxState&, const MinMaxState&) = default;
};

inline void check_min_max_state(const MinMaxState& s, std::string_view observer) {
  if (s.observed() && !(std::isfinite(s.min_val) && std::isfinite(s.max_val) && s.min_val <= s.max_val)) {
    raise(message() << "ctq: " << observer << ": state min_val " << s.min_val << " / max_val " << s.max_val
                    << " is not a finite range with min <= max");
  }
}

// The observation logic with runtime arguments; MinMaxObserver<Args> wraps it.
struct MinMaxImpl {
  MinMaxState state;
  void observe(const float* x, index_t n, std::string_view observer) {
    if (n == 0) return;
    const auto [lo, hi] = finite_aminmax(x, n, observer);
    state.min_val = std::min(lo, state.min_val);
    state.max_val = std::max(hi, state.max_val);
  }
  void merge(const MinMaxImpl& other) {
    state.min_val = std::min(state.min_val, other.state.min_val);
    state.max_val = std::max(state.max_val, other.state.max_val);
  }
};

inline PerTensorQParams per_tensor_qparams(const UniformArgs& u, const MinMaxState& s, std::string_view observer) {
  if (!s.observed()) {
    warn_not_observed(observer);
    return {1.0f, 0};
  }
  const auto c = calculate_channel_qparams(u, s.min_val, s.max_val);
  return {c.scale, c.zero_point};
}

}  // namespace detail

/// Observes the running min and max of every tensor it sees:
///   min_val = min(min_val, min(x)), max_val = max(max_val, max(x));
/// calculate_qparams applies (9). Empty tensors are ignored; NaN/Inf raise ctq::error.
/// merge(other) gives exactly the state of one observer that saw both inputs (min of mins, max of maxes).
template <MinMaxObserverArgs Args = MinMaxObserverArgs{}>
class MinMaxObserver : public detail::uniform_observer<Args, false> {
  using base = detail::uniform_observer<Args, false>;
  static constexpr UniformArgs U = base::U;

 public:
  static constexpr std::string_view name = "MinMaxObserver";
  using State = detail::MinMaxState;
  using qparams_type = PerTensorQParams;

  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    impl_.observe(x.data(), x.size(), name);
    return x;
  }

  PerTensorQParams calculate_qparams() const { return detail::per_tensor_qparams(U, impl_.state, name); }
  void reset() { impl_ = {}; }
  void merge(const MinMaxObserver& other) { impl_.merge(other.impl_); }

  float min_val() const { return impl_.state.min_val; }
  float max_val() const { return impl_.state.max_val; }
  const State& state() const { return impl_.state; }
  void set_state(const State& s) {
    detail::check_min_max_state(s, name);
    impl_.state = s;
  }

 private:
  detail::MinMaxImpl impl_;
};

}  // namespace ctq
