// MovingAveragePerChannelMinMaxObserver: moving averages of each channel's per-batch min and max
// (PyTorch's torch.ao.quantization.MovingAveragePerChannelMinMaxObserver).
#pragma once

#include "moving_average_min_max_observer.hpp"
#include "per_channel_min_max_observer.hpp"

namespace ctq {

struct MovingAveragePerChannelMinMaxObserverArgs {
  float averaging_constant = 0.01f;
  int ch_axis = 0;
  ctq::dtype dtype = ctq::dtype::quint8;
  ctq::qscheme qscheme = ctq::qscheme::per_channel_affine;
  bool reduce_range = false;
  std::int64_t quant_min = unset;
  std::int64_t quant_max = unset;
  float eps = float32_eps;
};

/// Per channel, the first observation sets min/max and later ones move them by
/// averaging_constant (10). merge(other) composes as MovingAverageMinMaxObserver's does.
template <MovingAveragePerChannelMinMaxObserverArgs Args = MovingAveragePerChannelMinMaxObserverArgs{}>
class MovingAveragePerChannelMinMaxObserver : public detail::uniform_observer<Args, true> {
  using base = detail::uniform_observer<Args, true>;
  static constexpr UniformArgs U = base::U;
  static_assert(detail::check_averaging_constant<Args.averaging_constant>::ok);

 public:
  static constexpr std::string_view name = "MovingAveragePerChannelMinMaxObserver";
  static constexpr int ch_axis = Args.ch_axis;
  using qparams_type = qparams_for<Args.qscheme>;

  /// Per-channel moving averages, the first batch's min/max and the batch count (for merge).
  struct State {
    detail::ChannelRanges ranges;
    std::int64_t count = 0;
    detail::ChannelRanges first;
    friend bool operator==(const State&, const State&) = default;
  };

  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    impl_.observe(x, detail::channel_axis<Args.ch_axis, R>(), name);
    return x;
  }

  qparams_type calculate_qparams() const {
    return detail::per_channel_qparams<Args.qscheme>(U, impl_.ranges, Args.ch_axis, name);
  }
  void reset() { impl_ = detail::PerChannelImpl{Args.averaging_constant}; }
  void merge(const MovingAveragePerChannelMinMaxObserver& other) { impl_.merge(other.impl_, name); }

  const std::vector<float>& min_val() const { return impl_.ranges.min_val; }
  const std::vector<float>& max_val() const { return impl_.ranges.max_val; }
  State state() const { return {impl_.ranges, impl_.count, impl_.first}; }
  void set_state(State s) {
    detail::check_channel_ranges(s.ranges, name);
    impl_.ranges = std::move(s.ranges);
    impl_.count = s.count;
    impl_.first = std::move(s.first);
  }

 private:
  detail::PerChannelImpl impl_{Args.averaging_constant};
};

}  // namespace ctq
