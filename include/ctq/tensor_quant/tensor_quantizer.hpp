// TensorQuantizer<Descriptor>: NVIDIA pytorch_quantization's TensorQuantizer as a type: amax
// from the descriptor, from calibration (load_calib_amax) or from the data itself, then fake or
// real quantization, or PyTorch-compatible fake quantization (use_fb_fake_quant).
#pragma once

#include <algorithm>
#include <cmath>
#include <string_view>
#include <variant>
#include <vector>

#include "../core/quantize.hpp"
#include "calibrators.hpp"
#include "quant_descriptor.hpp"
#include "tensor_quant.hpp"

namespace ctq {

namespace detail {

// The scale/zero-point fake quantization NVIDIA's use_fb_fake_quant path runs: bound =
// 2^(bits - 1 + unsigned) - 1, zero point 0, range [-bound - 1, bound] ([0, bound] unsigned);
// per tensor the scale is amax / bound in double, rounded to float; per channel in float32.
template <int R>
Tensor<float, R> fb_fake_quant(const Tensor<float, R>& x, const Amax<R>& amax, int num_bits, bool is_unsigned) {
  const std::int64_t bound = (std::int64_t{1} << (num_bits - 1 + (is_unsigned ? 1 : 0))) - 1;
  const std::int64_t qmin = is_unsigned ? 0 : -bound - 1;
  if (amax.size() == 1) {
    const auto scale = static_cast<float>(static_cast<double>(amax.values[0]) / static_cast<double>(bound));
    return fake_quantize_per_tensor_affine(x, scale, 0, qmin, bound);
  }
  int axis = -1;
  for (int d = 0; d < R; ++d) {
    if (amax.shape[static_cast<std::size_t>(d)] != 1) {
      if (axis >= 0) raise("ctq: TensorQuantizer: use_fb_fake_quant supports one quantization axis");
      axis = d;
    }
  }
  std::vector<float> scales(amax.values.size());
  for (std::size_t c = 0; c < scales.size(); ++c) scales[c] = amax.values[c] / static_cast<float>(bound);
  const std::vector<std::int32_t> zero_points(scales.size(), 0);
  return fake_quantize_per_channel_affine(x, scales, zero_points, axis, qmin, bound);
}

}  // namespace detail

/// Quantizes tensors as the descriptor D says:
///   forward(x): disabled -> x; calibrating -> the calibrator collects x; quantizing -> amax is
///   the loaded/descriptor amax (times scale_amax) or reduce_amax(x) over the axes D does not keep,
///   then fake_tensor_quant (fake_quant, D.narrow_range), tensor_quant (real, always narrow range,
///   as NVIDIA's) or the PyTorch-compatible scale/zero-point fake quant (use_fb_fake_quant).
/// Calibrator: MaxCalibrator for calib_method::max, HistogramCalibrator for histogram.
template <QuantDescriptor D = QUANT_DESC_8BIT_PER_TENSOR>
class TensorQuantizer {
  static_assert(detail::check_quant_descriptor<D>::ok);
  static_assert(!D.learn_amax || D.axis.empty(),
                "ctq: TensorQuantizer: learn_amax learns one per-tensor amax (NVIDIA's Clip range is a scalar); "
                "the descriptor's axis must be empty");
  static_assert(
      D.calib_method == calib_method::max || D.axis.empty(),
      "ctq: TensorQuantizer: histogram calibration is per tensor (NVIDIA's HistogramCalibrator takes no axis)");

 public:
  static constexpr std::string_view name = "TensorQuantizer";
  static constexpr QuantDescriptor descriptor = D;
  using calibrator_type = std::conditional_t<D.calib_method == calib_method::max, MaxCalibrator, HistogramCalibrator>;

  TensorQuantizer() : calibrator_(make_calibrator()) {
    if (D.amax != no_amax) amax_.values = {D.amax};
  }

  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    if (disabled_) return x;
    if (calib_) calibrator_.collect(x);
    if constexpr (D.learn_amax) {
      // NVIDIA's learned range: x clipped to [clip_min, clip_max] (the clip stage), then
      // quantized with amax = max(-clip_min, clip_max); the input is kept for backward.
      if (!clip_ && !quant_) return x;
      learn_input_.assign(x.values().begin(), x.values().end());
      Tensor<float, R> c(x.shape());
      for (index_t i = 0; i < x.size(); ++i) c[i] = std::max(std::min(x[i], clip_max_), clip_min_);
      if (!quant_) return c;
      return quantize(c, Amax<R>::per_tensor(learned_amax()));
    } else {
      if (!quant_) return x;
      return quantize(x, get_amax(x));
    }
  }

  /// learn_amax: gradients of the last forward (NVIDIA's ClipFunction, PACT's rule; the fake
  /// quantization passes the gradient straight through inside the range): dL/dx where
  /// clip_min < x < clip_max, and the sums of dL/dy over the inputs at or beyond each bound,
  /// which are clip_min's and clip_max's gradients while the clip stage is enabled (zero
  /// otherwise: NVIDIA then stops learning them).
  template <int R>
  struct LearnAmaxGradients {
    Tensor<float, R> input;
    float clip_min = 0.0f, clip_max = 0.0f;
  };
  template <int R>
  LearnAmaxGradients<R> backward(const Tensor<float, R>& grad_output) const requires(D.learn_amax) {
    if (static_cast<index_t>(learn_input_.size()) != grad_output.size()) {
      raise(ctq::detail::message() << "ctq: TensorQuantizer: backward of " << grad_output.size()
                                   << " gradients after a forward of " << learn_input_.size() << " values");
    }
    LearnAmaxGradients<R> g{Tensor<float, R>(grad_output.shape())};
    double below = 0.0, above = 0.0;
    for (index_t i = 0; i < grad_output.size(); ++i) {
      const float x = learn_input_[static_cast<std::size_t>(i)];
      const bool inside = x > clip_min_ && x < clip_max_;
      g.input[i] = inside ? grad_output[i] : 0.0f;
      if (x <= clip_min_) below += grad_output[i];
      if (x >= clip_max_) above += grad_output[i];
    }
    if (clip_) {
      g.clip_min = static_cast<float>(below);
      g.clip_max = static_cast<float>(above);
    }
    return g;
  }

  /// learn_amax: the learned range (initially [-amax, amax] of the descriptor).
  float clip_min() const requires(D.learn_amax) { return clip_min_; }
  float clip_max() const requires(D.learn_amax) { return clip_max_; }
  void set_clip_range(float lo, float hi) requires(D.learn_amax) {
    if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) {
      raise(ctq::detail::message() << "ctq: TensorQuantizer: the clip range [" << lo << ", " << hi
                                   << "] must be finite with min <= max");
    }
    clip_min_ = lo;
    clip_max_ = hi;
  }
  /// The amax quantization uses under learn_amax: max(-clip_min, clip_max).
  float learned_amax() const requires(D.learn_amax) { return std::max(-clip_min_, clip_max_); }
  /// NVIDIA's init_learn_amax: the clip range from the loaded (e.g. calibrated) amax; a
  /// per-channel amax starts the range at its largest value.
  void init_learn_amax() requires(D.learn_amax) {
    if (amax_.empty()) raise("ctq: TensorQuantizer: init_learn_amax needs an amax (load_calib_amax or set_amax)");
    const float a = *std::max_element(amax_.values.begin(), amax_.values.end());
    set_clip_range(-a, a);
  }
  void enable_clip() requires(D.learn_amax) { clip_ = true; }
  void disable_clip() requires(D.learn_amax) { clip_ = false; }
  bool is_clipping() const { return clip_; }

  /// The amax that quantization uses: [-amax, amax] keeps its gradient (tensor_quant_backward).
  template <int R>
  Amax<R> get_amax(const Tensor<float, R>& x) const {
    Amax<R> a = amax_.empty() ? reduce_amax(x, D.axis) : amax_.template as<R>();
    if (D.scale_amax != 1.0f) {
      for (auto& v : a.values) v *= D.scale_amax;
    }
    return a;
  }

  /// Sets amax from the calibrator: max (no arguments), or for a histogram "entropy",
  /// "percentile" (with the percentile) or "mse". Raises ctq::error when nothing was collected.
  void load_calib_amax(std::string_view method = "max", double percentile = 99.99) {
    if constexpr (D.calib_method == calib_method::max) {
      if (method != "max") raise("ctq: TensorQuantizer: a max calibrator computes amax only by \"max\"");
      if (calibrator_.compute_amax().empty())
        raise("ctq: TensorQuantizer: load_calib_amax before any calibration data");
      amax_ = calibrator_.compute_amax();
    } else {
      float a;
      if (method == "entropy") {
        a = calibrator_.compute_amax_entropy();
      } else if (method == "percentile") {
        a = calibrator_.compute_amax_percentile(percentile);
      } else if (method == "mse") {
        a = calibrator_.compute_amax_mse();
      } else {
        raise("ctq: TensorQuantizer: histogram calibration methods are \"entropy\", \"percentile\" and \"mse\"");
      }
      amax_ = {{}, {a}};
    }
  }

  const AmaxData& amax() const { return amax_; }
  void set_amax(AmaxData a) { amax_ = std::move(a); }
  const std::vector<float>& scale() const { return scale_; }  // of the last real quantization
  calibrator_type& calibrator() { return calibrator_; }
  const calibrator_type& calibrator() const { return calibrator_; }

  void enable() { disabled_ = false; }
  void disable() { disabled_ = true; }
  void enable_quant() { quant_ = true; }
  void disable_quant() { quant_ = false; }
  void enable_calib() { calib_ = true; }
  void disable_calib() { calib_ = false; }
  void use_fb_fake_quant(bool enabled = true) { fb_fake_quant_ = enabled; }
  bool is_enabled() const { return !disabled_; }
  bool is_calibrating() const { return calib_; }
  bool is_quantizing() const { return quant_; }

 private:
  template <int R>
  Tensor<float, R> quantize(const Tensor<float, R>& x, const Amax<R>& amax) {
    if (fb_fake_quant_) return detail::fb_fake_quant(x, amax, D.num_bits, D.is_unsigned);
    if constexpr (D.fake_quant) {
      return fake_tensor_quant(x, amax, D.num_bits, D.is_unsigned, D.narrow_range);
    } else {
      auto r = tensor_quant(x, amax, D.num_bits, D.is_unsigned);
      scale_ = std::move(r.scale);
      return std::move(r.outputs);
    }
  }

  static calibrator_type make_calibrator() {
    if constexpr (D.calib_method == calib_method::max) {
      return MaxCalibrator(D.axis, D.num_bits, D.is_unsigned);
    } else {
      return HistogramCalibrator(D.num_bits, D.is_unsigned);
    }
  }

  calibrator_type calibrator_;
  AmaxData amax_;
  std::vector<float> scale_;
  bool disabled_ = false, calib_ = false, quant_ = true, fb_fake_quant_ = false;
  bool clip_ = D.learn_amax;  // NVIDIA enables the clip stage with learn_amax
  float clip_min_ = -D.amax, clip_max_ = D.amax;
  std::vector<float> learn_input_;
};

}  // namespace ctq
