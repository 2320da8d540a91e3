// MovingAverageMinMaxObserver: exponential moving averages of the per-batch min and max
// (PyTorch's torch.ao.quantization.MovingAverageMinMaxObserver), per tensor.
#pragma once

#include <cmath>
#include <cstdint>

#include "../core/detail/fp.hpp"
#include "min_max_observer.hpp"

namespace ctq {

struct MovingAverageMinMaxObserverArgs {
  float averaging_constant = 0.01f;
  ctq::dtype dtype = ctq::dtype::quint8;
  ctq::qscheme qscheme = ctq::qscheme::per_tensor_affine;
  bool reduce_range = false;
  std::int64_t quant_min = unset;
  std::int64_t quant_max = unset;
  float eps = float32_eps;
};

namespace detail {

template <float C>
struct check_averaging_constant {
  static_assert(C > 0.0f && C <= 1.0f, "ctq: observer: averaging_constant must be in (0, 1]");
  static constexpr bool ok = true;
};

// (10) m = m + c * (cur - m), three float32 operations, never fused (PyTorch runs each as a
// separate tensor op).
inline float moving_average(float m, float cur, float c) { return m + no_contract(c * (cur - m)); }

// Merging moving averages: the state after observing A's batches and then B's. For B's batches
// x_1..x_n (B started at x_1), continuing from A's value a instead gives
//   b + (1 - c)^n (a - x_1)
// since the average is linear in its start. Computed in double, rounded once.
inline float compose_moving_average(float a, float b, float b_first, std::int64_t b_count, float c) {
  return static_cast<float>(static_cast<double>(b) +
                            std::pow(1.0 - static_cast<double>(c), static_cast<double>(b_count)) *
                                (static_cast<double>(a) - static_cast<double>(b_first)));
}

struct MovingAverageState {
  MinMaxState range;
  std::int64_t count = 0;  // batches seen (for merge)
  float first_min = 0.0f, first_max = 0.0f;
  friend bool operator==(const MovingAverageState&, const MovingAverageState&) = default;
};

// The observation logic with runtime arguments; MovingAverageMinMaxObserver<Args> wraps it.
struct MovingAverageImpl {
  float averaging_constant = 0.01f;
  MovingAverageState state{};
  void observe(const float* x, index_t n, std::string_view observer) {
    if (n == 0) return;
    const auto [lo, hi] = finite_aminmax(x, n, observer);
    if (!state.range.observed()) {
      state.range = {lo, hi};
      state.first_min = lo;
      state.first_max = hi;
    } else {
      state.range.min_val = moving_average(state.range.min_val, lo, averaging_constant);
      state.range.max_val = moving_average(state.range.max_val, hi, averaging_constant);
    }
    ++state.count;
  }
  void merge(const MovingAverageImpl& other) {
    const MovingAverageState& b = other.state;
    if (b.count == 0) return;
    if (state.count == 0) {
      state = b;
      return;
    }
    const float c = averaging_constant;
    state.range.min_val = compose_moving_average(state.range.min_val, b.range.min_val, b.first_min, b.count, c);
    state.range.max_val = compose_moving_average(state.range.max_val, b.range.max_val, b.first_max, b.count, c);
    state.count += b.count;
  }
};

}  // namespace detail

/// The first observation sets min_val/max_val; each later one moves them by
/// averaging_constant towards the batch's min/max (10). merge(other) composes: the result is the
/// state after this observer's batches followed by other's, exact up to float rounding (PyTorch
/// has no merge; the moving average is order dependent, so merge is not commutative).
template <MovingAverageMinMaxObserverArgs Args = MovingAverageMinMaxObserverArgs{}>
class MovingAverageMinMaxObserver : public detail::uniform_observer<Args, false> {
  using base = detail::uniform_observer<Args, false>;
  static constexpr UniformArgs U = base::U;
  static_assert(detail::check_averaging_constant<Args.averaging_constant>::ok);

 public:
  static constexpr std::string_view name = "MovingAverageMinMaxObserver";
  using qparams_type = PerTensorQParams;

  using State = detail::MovingAverageState;

  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    impl_.observe(x.data(), x.size(), name);
    return x;
  }

  PerTensorQParams calculate_qparams() const { return detail::per_tensor_qparams(U, impl_.state.range, name); }
  void reset() { impl_.state = {}; }
  void merge(const MovingAverageMinMaxObserver& other) { impl_.merge(other.impl_); }

  float min_val() const { return impl_.state.range.min_val; }
  float max_val() const { return impl_.state.range.max_val; }
  const State& state() const { return impl_.state; }
  void set_state(const State& s) {
    detail::check_min_max_state(s.range, name);
    impl_.state = s;
  }

 private:
  detail::MovingAverageImpl impl_{Args.averaging_constant};
};

}  // namespace ctq
