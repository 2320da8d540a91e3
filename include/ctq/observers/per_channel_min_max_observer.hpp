// PerChannelMinMaxObserver: running min and max per slice along ch_axis (PyTorch's
// torch.ao.quantization.PerChannelMinMaxObserver).
#pragma once

#include <vector>

#include "moving_average_min_max_observer.hpp"
#include "observer_base.hpp"

namespace ctq {

struct PerChannelMinMaxObserverArgs {
  int ch_axis = 0;  // negative counts from the last dimension
  ctq::dtype dtype = ctq::dtype::quint8;
  ctq::qscheme qscheme = ctq::qscheme::per_channel_affine;
  bool reduce_range = false;
  std::int64_t quant_min = unset;
  std::int64_t quant_max = unset;
  float eps = float32_eps;
};

namespace detail {

// Per-channel min/max; empty before the first observation, as PyTorch's buffers.
struct ChannelRanges {
  std::vector<float> min_val, max_val;
  bool observed() const { return !min_val.empty(); }
  friend bool operator==(const ChannelRanges&, const ChannelRanges&) = default;
};

template <int Axis, int R>
constexpr int channel_axis() {
  static_assert(Axis >= -R && Axis < R, "ctq: per-channel observer: ch_axis is out of range for the tensor's rank");
  return Axis < 0 ? Axis + R : Axis;
}

// Min and max of every slice along `axis` (the tensor viewed as [outer, channels, inner]).
template <int R>
ChannelRanges channel_aminmax(const Tensor<float, R>& x, int axis) {
  const auto shape = x.shape();
  const index_t channels = shape[static_cast<std::size_t>(axis)];
  const index_t inner = inner_size(shape, axis), outer = outer_size(shape, axis);
  ChannelRanges r{std::vector<float>(static_cast<std::size_t>(channels), std::numeric_limits<float>::infinity()),
                  std::vector<float>(static_cast<std::size_t>(channels), -std::numeric_limits<float>::infinity())};
  const float* p = x.data();
  for (index_t o = 0; o < outer; ++o) {
    for (index_t c = 0; c < channels; ++c, p += inner) {
      const auto [lo, hi] = aminmax(p, inner);
      auto& mn = r.min_val[static_cast<std::size_t>(c)];
      auto& mx = r.max_val[static_cast<std::size_t>(c)];
      mn = lo < mn ? lo : mn;
      mx = hi > mx ? hi : mx;
    }
  }
  return r;
}

inline void check_same_channels(const ChannelRanges& a, const ChannelRanges& b, std::string_view observer) {
  if (a.observed() && b.observed() && a.min_val.size() != b.min_val.size()) {
    raise(message() << "ctq: " << observer << ": " << b.min_val.size() << " channels where earlier data had "
                    << a.min_val.size());
  }
}

inline void check_channel_ranges(const ChannelRanges& s, std::string_view observer) {
  if (s.min_val.size() != s.max_val.size()) {
    raise(message() << "ctq: " << observer << ": state has " << s.min_val.size() << " minima and " << s.max_val.size()
                    << " maxima");
  }
  for (std::size_t c = 0; c < s.min_val.size(); ++c) {
    if (!(std::isfinite(s.min_val[c]) && std::isfinite(s.max_val[c]) && s.min_val[c] <= s.max_val[c])) {
      raise(message() << "ctq: " << observer << ": state of channel " << c << " is not a finite range with min <= max");
    }
  }
}

// Per-channel observation with runtime arguments, for both per-channel observers: running
// min/max, or (averaging_constant > 0) the moving averages of (10) with merge by composition.
struct PerChannelImpl {
  float averaging_constant = 0.0f;  // 0: running min/max
  ChannelRanges ranges{};
  ChannelRanges first{};  // the first batch's min/max (moving averages only, for merge)
  std::int64_t count = 0;

  template <int R>
  void observe(const Tensor<float, R>& x, int axis, std::string_view observer) {
    if (x.empty()) return;
    check_finite(x.data(), x.size(), observer);
    ChannelRanges cur = channel_aminmax(x, axis);
    check_same_channels(ranges, cur, observer);
    if (!ranges.observed()) {
      ranges = cur;
      if (averaging_constant > 0.0f) first = std::move(cur);
    } else {
      for (std::size_t c = 0; c < cur.min_val.size(); ++c) {
        if (averaging_constant > 0.0f) {
          ranges.min_val[c] = moving_average(ranges.min_val[c], cur.min_val[c], averaging_constant);
          ranges.max_val[c] = moving_average(ranges.max_val[c], cur.max_val[c], averaging_constant);
        } else {
          ranges.min_val[c] = std::min(cur.min_val[c], ranges.min_val[c]);
          ranges.max_val[c] = std::max(cur.max_val[c], ranges.max_val[c]);
        }
      }
    }
    ++count;
  }

  void merge(const PerChannelImpl& other, std::string_view observer) {
    if (!other.ranges.observed()) return;
    if (!ranges.observed()) {
      *this = other;
      return;
    }
    check_same_channels(ranges, other.ranges, observer);
    const float c = averaging_constant;
    for (std::size_t i = 0; i < ranges.min_val.size(); ++i) {
      if (c > 0.0f) {
        ranges.min_val[i] =
            compose_moving_average(ranges.min_val[i], other.ranges.min_val[i], other.first.min_val[i], other.count, c);
        ranges.max_val[i] =
            compose_moving_average(ranges.max_val[i], other.ranges.max_val[i], other.first.max_val[i], other.count, c);
      } else {
        ranges.min_val[i] = std::min(ranges.min_val[i], other.ranges.min_val[i]);
        ranges.max_val[i] = std::max(ranges.max_val[i], other.ranges.max_val[i]);
      }
    }
    count += other.count;
  }
};

template <qscheme S>
qparams_for<S> per_channel_qparams(const UniformArgs& u, const ChannelRanges& s, int axis, std::string_view observer) {
  qparams_for<S> qp;
  qp.axis = axis;
  if (!s.observed()) {
    warn_not_observed(observer);
    qp.scales = {1.0f};
    qp.zero_points = {0};
    return qp;
  }
  for (std::size_t c = 0; c < s.min_val.size(); ++c) {
    const auto r = calculate_channel_qparams(u, s.min_val[c], s.max_val[c]);
    qp.scales.push_back(r.scale);
    if constexpr (has_float_zero_point(S)) {
      qp.zero_points.push_back(r.zero_point_float);
    } else {
      qp.zero_points.push_back(r.zero_point);
    }
  }
  return qp;
}

}  // namespace detail

/// Running min and max per channel; calculate_qparams applies (9) per channel and returns
/// PerChannelQParams (float zero points for per_channel_affine_float_qparams) with axis ch_axis.
/// merge(other) is exactly observing both inputs.
template <PerChannelMinMaxObserverArgs Args = PerChannelMinMaxObserverArgs{}>
class PerChannelMinMaxObserver : public detail::uniform_observer<Args, true> {
  using base = detail::uniform_observer<Args, true>;
  static constexpr UniformArgs U = base::U;

 public:
  static constexpr std::string_view name = "PerChannelMinMaxObserver";
  static constexpr int ch_axis = Args.ch_axis;
  using State = detail::ChannelRanges;
  using qparams_type = qparams_for<Args.qscheme>;

  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    impl_.observe(x, detail::channel_axis<Args.ch_axis, R>(), name);
    return x;
  }

  qparams_type calculate_qparams() const {
    return detail::per_channel_qparams<Args.qscheme>(U, impl_.ranges, Args.ch_axis, name);
  }
  void reset() { impl_ = {}; }
  void merge(const PerChannelMinMaxObserver& other) { impl_.merge(other.impl_, name); }

  const std::vector<float>& min_val() const { return impl_.ranges.min_val; }
  const std::vector<float>& max_val() const { return impl_.ranges.max_val; }
  const State& state() const { return impl_.ranges; }
  void set_state(State s) {
    detail::check_channel_ranges(s, name);
    impl_.ranges = std::move(s);
  }

 private:
  detail::PerChannelImpl impl_;
};

}  // namespace ctq
