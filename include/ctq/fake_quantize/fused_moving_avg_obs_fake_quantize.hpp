// FusedMovingAvgObsFakeQuantize: moving-average observation, parameter choice and fake
// quantization in one step (PyTorch's torch.ao.quantization.FusedMovingAvgObsFakeQuantize, the
// default QAT fake-quantizer of get_default_qat_qconfig in 1.13).
#pragma once

#include "../observers/moving_average_min_max_observer.hpp"
#include "../observers/moving_average_per_channel_min_max_observer.hpp"
#include "fake_quantize.hpp"

namespace ctq {

namespace detail {
template <class T>
inline constexpr bool is_moving_average_observer = false;
template <MovingAverageMinMaxObserverArgs A>
inline constexpr bool is_moving_average_observer<MovingAverageMinMaxObserver<A>> = true;
template <MovingAveragePerChannelMinMaxObserverArgs A>
inline constexpr bool is_moving_average_observer<MovingAveragePerChannelMinMaxObserver<A>> = true;
}  // namespace detail

/// forward(x), as PyTorch's fused_moving_avg_obs_fake_quant kernel:
///   - observer enabled: the running min/max move as in MovingAverageMinMaxObserver (10);
///   - fake quant enabled: scale and zero point from choose_qparams (6) on the running min/max
///     (preserve_sparsity for symmetric schemes, the scale rounded to float), then (4); the
///     parameters are not updated while fake quant is off (output = x).
/// Note: these parameters differ from the observer's own calculate_qparams (9): PyTorch's fused
/// kernel uses ChooseQuantizationParams, whose scale floor is 6.1e-5 and whose symmetric scale is
/// max(-min / 128, max / 127); ctq reproduces that.
template <class Obs>
class FusedMovingAvgObsFakeQuantize : public detail::fake_quantizer_base<Obs> {
  using base = detail::fake_quantizer_base<Obs>;
  using base::fake_quant_enabled_;
  using base::mask_;
  using base::observer_enabled_;

  static_assert(detail::is_moving_average_observer<Obs>,
                "ctq: FusedMovingAvgObsFakeQuantize: the observer must be MovingAverageMinMaxObserver or "
                "MovingAveragePerChannelMinMaxObserver");
  static_assert(!has_float_zero_point(Obs::qscheme),
                "ctq: FusedMovingAvgObsFakeQuantize: per_channel_affine_float_qparams is not supported");

 public:
  static constexpr std::string_view name = "FusedMovingAvgObsFakeQuantize";
  using base::activation_post_process;
  using base::is_per_channel;
  using base::quant_max;
  using base::quant_min;
  using qparams_type = typename Obs::qparams_type;
  static_assert(
      [] {
        if constexpr (is_per_channel)
          return Obs::ch_axis == 0;
        else
          return true;
      }(),
      "ctq: FusedMovingAvgObsFakeQuantize: per-channel observation needs ch_axis 0 (as PyTorch's kernel)");

  FusedMovingAvgObsFakeQuantize() {
    if constexpr (is_per_channel) {
      qparams_ = qparams_type{{1.0f}, {0}, 0};
    }
  }

  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    mask_.size = x.size();
    if (x.empty()) {
      mask_.mask.clear();
      return x;
    }
    if (observer_enabled_) activation_post_process(x);
    if (!fake_quant_enabled_) {
      mask_.mask.clear();
      return x;
    }
    constexpr bool symmetric = is_symmetric(Obs::qscheme);
    auto choose = [](float mn, float mx) {
      return choose_qparams(mn, mx, static_cast<std::int32_t>(quant_min), static_cast<std::int32_t>(quant_max),
                            symmetric, false, false)
          .as_per_tensor();
    };
    FakeQuantizeResult<R> r;
    if constexpr (is_per_channel) {
      const auto& mins = activation_post_process.min_val();
      const auto& maxs = activation_post_process.max_val();
      qparams_.scales.clear();
      qparams_.zero_points.clear();
      for (std::size_t c = 0; c < mins.size(); ++c) {
        const auto p = choose(mins[c], maxs[c]);
        qparams_.scales.push_back(p.scale);
        qparams_.zero_points.push_back(p.zero_point);
      }
      r = fake_quantize_per_channel_affine_cachemask(x, qparams_.scales, qparams_.zero_points, 0, quant_min, quant_max);
    } else {
      qparams_ = choose(activation_post_process.min_val(), activation_post_process.max_val());
      r = fake_quantize_per_tensor_affine_cachemask(x, qparams_.scale, qparams_.zero_point, quant_min, quant_max);
    }
    mask_.mask.assign(r.mask.values().begin(), r.mask.values().end());
    return std::move(r.output);
  }

  template <int R>
  Tensor<float, R> backward(const Tensor<float, R>& grad_output) const {
    return mask_.backward(grad_output, name);
  }

  qparams_type calculate_qparams() const { return activation_post_process.calculate_qparams(); }
  const qparams_type& qparams() const { return qparams_; }

  void reset() { *this = FusedMovingAvgObsFakeQuantize{}; }

 private:
  qparams_type qparams_{};
};

}  // namespace ctq
