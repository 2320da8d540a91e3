// TensorQuantizer<Descriptor>: NVIDIA pytorch_quantization's TensorQuantizer as a type: amax
// from the descriptor, from calibration (load_calib_amax) or from the data itself, then fake or
// real quantization, or PyTorch-compatible fake quantization (use_fb_fake_quant).
#pragma once

#include <cmath>
#include <string_view>
#include <variant>

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
  static_assert(!D.learn_amax, "ctq: TensorQuantizer: learn_amax (training amax by gradient) is not implemented yet");
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
    if (!quant_) return x;
    const Amax<R> amax = get_amax(x);
    if (fb_fake_quant_) return detail::fb_fake_quant(x, amax, D.num_bits, D.is_unsigned);
    if constexpr (D.fake_quant) {
      return fake_tensor_quant(x, amax, D.num_bits, D.is_unsigned, D.narrow_range);
    } else {
      auto r = tensor_quant(x, amax, D.num_bits, D.is_unsigned);
      scale_ = std::move(r.scale);
      return std::move(r.outputs);
    }
  }

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
};

}  // namespace ctq
