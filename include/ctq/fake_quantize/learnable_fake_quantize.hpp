// LearnableFakeQuantize: fake quantization whose scale and zero point are trained by gradient
// descent (LSQ), as PyTorch's torch.ao.quantization._LearnableFakeQuantize and its kernels
// _fake_quantize_learnable_per_tensor_affine / _per_channel_affine.
#pragma once

#include <cmath>
#include <span>
#include <vector>

#include "../core/detail/fp.hpp"
#include "../observers/per_channel_min_max_observer.hpp"
#include "fake_quantize.hpp"

namespace ctq {

struct LearnableFakeQuantizeArgs {
  bool use_grad_scaling = false;  // scale the parameter gradients by 1 / sqrt(numel * quant_max)
};

/// Gradients of one LearnableFakeQuantize backward.
template <int R>
struct LearnableFakeQuantizeGrads {
  Tensor<float, R> grad_input;
  std::vector<float> grad_scale;       // one per channel (one for per tensor)
  std::vector<float> grad_zero_point;  // zeros after toggle_qparam_learning(false)
};

/// Modes, as PyTorch's: static estimate (observer sets the parameters; the default), parameter
/// learning (the parameters are trained; backward gives their gradients), static observation
/// (observer only, output = input).
///   forward(x): if static_enabled, observe and copy the observer's parameters; else clamp the
///               scale to eps = 2^-23. If fake_quant_enabled: symmetric schemes zero the zero
///               point; output = fake quantize with round-half-even(zero_point) clamped (12).
///   backward(grad): d/dx = grad * mask; d/dscale and d/dzero_point by LSQ's formulas (12),
///               summed per channel, times grad_factor.
/// PyTorch's AVX2 kernels contract two expressions of the backward into FMAs; ctq computes them
/// rounded separately, as PyTorch's portable kernel does (docs/numerics.md (12)).
template <class Obs, LearnableFakeQuantizeArgs Args = LearnableFakeQuantizeArgs{}>
class LearnableFakeQuantize : public detail::fake_quantizer_base<Obs> {
  using base = detail::fake_quantizer_base<Obs>;
  using base::fake_quant_enabled_;
  using base::observer_enabled_;

  static_assert(require_observer<Obs>());
  static_assert(!has_float_zero_point(Obs::qscheme),
                "ctq: LearnableFakeQuantize: per_channel_affine_float_qparams is not supported");

 public:
  static constexpr std::string_view name = "LearnableFakeQuantize";
  using base::activation_post_process;
  using base::is_per_channel;
  using base::quant_max;
  using base::quant_min;
  static constexpr float eps = float32_eps;

  /// channel_len: number of channels (per channel), -1 for per tensor.
  explicit LearnableFakeQuantize(float scale = 1.0f, float zero_point = 0.0f, int channel_len = -1) {
    if (is_per_channel != (channel_len > 0)) {
      raise(detail::message() << "ctq: LearnableFakeQuantize: channel_len must be positive for per-channel schemes "
                                 "and -1 for per-tensor ones, got "
                              << channel_len);
    }
    const auto n = static_cast<std::size_t>(channel_len > 0 ? channel_len : 1);
    scale_.assign(n, scale);
    zero_point_.assign(n, zero_point);
  }

  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    if (observer_enabled_) {
      activation_post_process(x);
      const auto qp = activation_post_process.calculate_qparams();
      if constexpr (is_per_channel) {
        scale_ = qp.scales;
        zero_point_.assign(qp.zero_points.begin(), qp.zero_points.end());
      } else {
        scale_ = {qp.scale};
        zero_point_ = {static_cast<float>(qp.zero_point)};
      }
    } else {
      for (auto& s : scale_) s = std::max(s, eps);
    }
    input_.assign(x.values().begin(), x.values().end());
    shape_.assign(x.shape().begin(), x.shape().end());
    if (!fake_quant_enabled_) return x;
    if constexpr (is_symmetric(Obs::qscheme)) std::fill(zero_point_.begin(), zero_point_.end(), 0.0f);
    if constexpr (is_per_channel) {
      std::vector<std::int32_t> zp(zero_point_.size());
      for (std::size_t c = 0; c < zp.size(); ++c) zp[c] = forward_zero_point(zero_point_[c]);
      return fake_quantize_per_channel_affine(x, scale_, zp, channel_axis<R>(), quant_min, quant_max);
    } else {
      return fake_quantize_per_tensor_affine(x, scale_[0], forward_zero_point(zero_point_[0]), quant_min, quant_max);
    }
  }

  /// Not the plain straight-through estimator: backward also gives scale and zero-point
  /// gradients, which the model-level training protocol does not carry yet.
  void backward_in_place(std::span<float>) const = delete;

  template <int R>
  LearnableFakeQuantizeGrads<R> backward(const Tensor<float, R>& grad_output) const {
    if (static_cast<index_t>(input_.size()) != grad_output.size()) {
      raise(detail::message() << "ctq: " << name << ": gradient of " << grad_output.size()
                              << " elements for a forward of " << input_.size());
    }
    LearnableFakeQuantizeGrads<R> g{Tensor<float, R>(grad_output.shape()), std::vector<float>(scale_.size(), 0.0f),
                                    std::vector<float>(scale_.size(), 0.0f)};
    if (!fake_quant_enabled_) {
      g.grad_input = grad_output;
      return g;
    }
    const float grad_factor = Args.use_grad_scaling
                                  ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(grad_output.size()) *
                                                                       static_cast<double>(quant_max)))
                                  : 1.0f;
    const int axis = is_per_channel ? channel_axis<R>() : 0;
    const index_t channels = is_per_channel ? grad_output.dim(axis) : 1;
    const index_t inner = is_per_channel ? detail::inner_size(grad_output.shape(), axis) : grad_output.size();
    const index_t outer = is_per_channel ? detail::outer_size(grad_output.shape(), axis) : 1;
    std::vector<std::vector<float>> ds(static_cast<std::size_t>(channels)), dz(static_cast<std::size_t>(channels));
    for (index_t o = 0; o < outer; ++o) {
      for (index_t c = 0; c < channels; ++c) {
        const auto cs = static_cast<std::size_t>(c);
        // per tensor the backward truncates zero_point + 0.5; per channel it rounds half to even
        const float z = is_per_channel ? static_cast<float>(forward_zero_point(zero_point_[cs]))
                                       : static_cast<float>(backward_zero_point(zero_point_[cs]));
        const index_t base = (o * channels + c) * inner;
        element_grads(input_.data() + base, grad_output.data() + base, g.grad_input.data() + base, inner, scale_[cs], z,
                      grad_factor, ds[cs], dz[cs]);
      }
    }
    if (param_grads_) {
      for (std::size_t c = 0; c < ds.size(); ++c) {
        g.grad_scale[c] = detail::torch_sum(ds[c].data(), static_cast<std::int64_t>(ds[c].size()));
        g.grad_zero_point[c] = detail::torch_sum(dz[c].data(), static_cast<std::int64_t>(dz[c].size()));
      }
    }
    return g;
  }

  /// PyTorch's calculate_qparams: scale clamped to eps, zero point rounded half to even and
  /// clamped to [quant_min, quant_max].
  auto calculate_qparams() const {
    if constexpr (is_per_channel) {
      PerChannelQParams<std::int32_t> qp{{}, {}, Obs::ch_axis};
      for (std::size_t c = 0; c < scale_.size(); ++c) {
        qp.scales.push_back(std::max(scale_[c], eps));
        qp.zero_points.push_back(forward_zero_point(zero_point_[c]));
      }
      return qp;
    } else {
      return PerTensorQParams{std::max(scale_[0], eps), forward_zero_point(zero_point_[0])};
    }
  }

  // The parameters (PyTorch's nn.Parameter scale and zero_point), for an optimiser to update.
  std::vector<float>& scale() { return scale_; }
  std::vector<float>& zero_point() { return zero_point_; }
  const std::vector<float>& scale() const { return scale_; }
  const std::vector<float>& zero_point() const { return zero_point_; }

  void enable_param_learning() { set_modes(true, true, false); }
  void enable_static_estimate() { set_modes(false, true, true); }
  void enable_static_observation() { set_modes(false, false, true); }
  /// Sets learning_enabled and whether backward computes parameter gradients (PyTorch's
  /// requires_grad on the parameters, which is true from construction until this is called).
  void toggle_qparam_learning(bool enabled) { learning_enabled_ = param_grads_ = enabled; }
  bool learning_enabled() const { return learning_enabled_; }
  void reset() { activation_post_process.reset(); }

 private:
  template <int R>
  static constexpr int channel_axis() {
    if constexpr (is_per_channel) {
      return detail::channel_axis<Obs::ch_axis, R>();
    } else {
      return 0;
    }
  }

  // The forward's zero point: round half to even, clamp, as an integer.
  static std::int32_t forward_zero_point(float z) {
    const float r = std::nearbyint(z);
    return static_cast<std::int32_t>(
        std::fmin(std::fmax(r, static_cast<float>(quant_min)), static_cast<float>(quant_max)));
  }
  // The per-tensor backward's zero point: zero_point + 0.5 clamped, then truncated.
  static std::int32_t backward_zero_point(float z) {
    return static_cast<std::int32_t>(
        std::fmin(std::fmax(z + 0.5f, static_cast<float>(quant_min)), static_cast<float>(quant_max)));
  }

  // (12) per element: xq = nearbyint(float(x * inv_scale) + z);
  //   inside [qmin, qmax]: dx = dy, ds = dy * (float((clamp(xq) - z) * scale) - x) * inv_scale, dz = 0
  //   below / above:       dx = 0,  ds = dy * (qmin - z) or dy * (qmax - z),  dz = -dy * scale
  // ds and dz are multiplied by grad_factor; every operation rounds to float.
  static void element_grads(const float* x, const float* dy, float* dx, index_t n, float s, float z, float grad_factor,
                            std::vector<float>& ds, std::vector<float>& dz) {
    const float inv = 1.0f / s;
    const float qmin = static_cast<float>(quant_min), qmax = static_cast<float>(quant_max);
    const float dsmall = qmin - z, dbig = qmax - z;
    for (index_t i = 0; i < n; ++i) {
      const float xq = std::nearbyint(detail::no_contract(x[i] * inv) + z);
      const bool inside = xq >= qmin && xq <= qmax;
      dx[i] = dy[i] * (inside ? 1.0f : 0.0f);
      if (!inside) {
        ds.push_back(detail::no_contract(dy[i] * (xq < qmin ? dsmall : dbig)) * grad_factor);
        dz.push_back(detail::no_contract(dy[i] * -1.0f * s) * grad_factor);
      } else {
        const float d = detail::no_contract((xq - z) * s) - x[i];
        ds.push_back(detail::no_contract(detail::no_contract(dy[i] * d) * inv) * grad_factor);
        dz.push_back(0.0f);
      }
    }
  }

  void set_modes(bool learning, bool fake_quant, bool observe) {
    toggle_qparam_learning(learning);
    fake_quant_enabled_ = fake_quant;
    observer_enabled_ = observe;
  }

  std::vector<float> scale_, zero_point_;
  bool learning_enabled_ = false;
  bool param_grads_ = true;  // PyTorch's nn.Parameter starts with requires_grad
  std::vector<float> input_;
  std::vector<index_t> shape_;
};

}  // namespace ctq
