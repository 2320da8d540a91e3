// FakeQuantize: an observer plus fake quantization with its parameters, for quantization-aware
// training (PyTorch's torch.ao.quantization.FakeQuantize), and the model-wide switches
// enable_fake_quant / disable_fake_quant / enable_observer / disable_observer.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../core/quantize.hpp"
#include "../core/visit.hpp"
#include "../observers/observer_base.hpp"

namespace ctq {

namespace detail {

// The gradient mask of the last forward, kept flat with its element count.
struct CachedMask {
  std::vector<std::uint8_t> mask;  // empty: everything passes (fake quant was off)
  index_t size = -1;               // -1: no forward yet

  /// grad *= mask, in place (the gradient of any tensor type, as a flat span).
  void apply(std::span<float> grad, std::string_view who) const {
    if (size < 0) raise(message() << "ctq: " << who << ": backward before forward");
    if (static_cast<index_t>(grad.size()) != size) {
      raise(message() << "ctq: " << who << ": gradient of " << grad.size() << " elements for a forward of " << size);
    }
    if (mask.empty()) return;
    for (std::size_t i = 0; i < grad.size(); ++i) grad[i] *= static_cast<float>(mask[i]);
  }
  template <int R>
  Tensor<float, R> backward(const Tensor<float, R>& grad_output, std::string_view who) const {
    Tensor<float, R> g = grad_output;
    apply(g.values(), who);
    return g;
  }
};

// What every fake-quantizer shares: its observer (activation_post_process, a child for
// visit_modules), the observer's compile-time facts, the two switches, and merge.
template <class Obs>
class fake_quantizer_base {
 public:
  using observer_type = Obs;
  static constexpr ctq::dtype dtype = Obs::dtype;
  static constexpr ctq::qscheme qscheme = Obs::qscheme;
  static constexpr std::int64_t quant_min = Obs::quant_min;
  static constexpr std::int64_t quant_max = Obs::quant_max;
  static constexpr bool is_per_channel = ctq::is_per_channel(Obs::qscheme);

  void enable_fake_quant(bool enabled = true) { fake_quant_enabled_ = enabled; }
  void disable_fake_quant() { enable_fake_quant(false); }
  void enable_observer(bool enabled = true) { observer_enabled_ = enabled; }
  void disable_observer() { enable_observer(false); }
  bool fake_quant_enabled() const { return fake_quant_enabled_; }
  bool observer_enabled() const { return observer_enabled_; }
  void merge(const fake_quantizer_base& other) { activation_post_process.merge(other.activation_post_process); }

  template <class F>
  void for_each_child(F&& f) {
    f(std::string_view("activation_post_process"), activation_post_process);
  }
  template <class F>
  void for_each_child(F&& f) const {
    f(std::string_view("activation_post_process"), activation_post_process);
  }

  /// The straight-through estimator in place: grad (of the last forward's output) times the
  /// last forward's mask (1 inside the quantization range, 0 where it clamped).
  void backward_in_place(std::span<float> grad) const { mask_.apply(grad, "fake-quantizer backward"); }

  Obs activation_post_process;

 protected:
  bool fake_quant_enabled_ = true;
  bool observer_enabled_ = true;
  CachedMask mask_;  // set by the derived class's forward
};

}  // namespace detail

/// Fake quantization driven by an observer:
///   forward(x): if observer_enabled, observe x and set scale/zero_point from the observer;
///               if fake_quant_enabled, return (4) with them (per channel along the observer's
///               ch_axis for per-channel observers), else x.
///   backward(grad): the straight-through estimator (5) with the mask of the last forward.
/// The quant range is the observer's (quant_min/quant_max/reduce_range live in its arguments):
///   FakeQuantize<MovingAverageMinMaxObserver<{.quant_min = 0, .quant_max = 255, .reduce_range = true}>>
template <class Obs>
class FakeQuantize : public detail::fake_quantizer_base<Obs> {
  static_assert(require_observer<Obs>());
  static_assert(
      requires { typename Obs::qparams_type; },
      "ctq: FakeQuantize: the observer must compute quantization parameters (not a Placeholder/Noop/"
      "RecordingObserver)");
  using base = detail::fake_quantizer_base<Obs>;
  using base::fake_quant_enabled_;
  using base::mask_;
  using base::observer_enabled_;

 public:
  static constexpr std::string_view name = "FakeQuantize";
  using qparams_type = typename Obs::qparams_type;
  using base::activation_post_process;
  using base::is_per_channel;
  using base::quant_max;
  using base::quant_min;

  FakeQuantize() {
    if constexpr (is_per_channel) {
      qparams_ = qparams_type{{1.0f}, {0}, Obs::ch_axis};
    }
  }

  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) {
    if (observer_enabled_) {
      activation_post_process(x);
      qparams_ = activation_post_process.calculate_qparams();
    }
    mask_.size = x.size();
    if (!fake_quant_enabled_) {
      mask_.mask.clear();
      return x;
    }
    FakeQuantizeResult<R> r;
    if constexpr (is_per_channel) {
      r = fake_quantize_per_channel_affine_cachemask(x, qparams_.scales, qparams_.zero_points, qparams_.axis, quant_min,
                                                     quant_max);
    } else {
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
  /// The parameters the last forward used (PyTorch's `scale` / `zero_point` buffers).
  const qparams_type& qparams() const { return qparams_; }
  void set_qparams(qparams_type qp) { qparams_ = std::move(qp); }
  void reset() { *this = FakeQuantize{}; }

 private:
  qparams_type qparams_{};
};

/// Anything with enable_fake_quant/enable_observer switches (FakeQuantize and its variants).
template <class T>
concept FakeQuantizer = requires(T t) {
  t.enable_fake_quant(true);
  t.enable_observer(true);
  t.calculate_qparams();
};

/// The model-wide switches of PyTorch (torch.ao.quantization.enable_fake_quant, ...): apply to
/// every fake quantizer in `model`, found with visit_modules.
template <class M>
void enable_fake_quant(M& model) {
  visit_modules(model, [](std::string_view, auto& m) {
    if constexpr (FakeQuantizer<std::remove_cvref_t<decltype(m)>>) m.enable_fake_quant(true);
  });
}
template <class M>
void disable_fake_quant(M& model) {
  visit_modules(model, [](std::string_view, auto& m) {
    if constexpr (FakeQuantizer<std::remove_cvref_t<decltype(m)>>) m.enable_fake_quant(false);
  });
}
template <class M>
void enable_observer(M& model) {
  visit_modules(model, [](std::string_view, auto& m) {
    if constexpr (FakeQuantizer<std::remove_cvref_t<decltype(m)>>) m.enable_observer(true);
  });
}
template <class M>
void disable_observer(M& model) {
  visit_modules(model, [](std::string_view, auto& m) {
    if constexpr (FakeQuantizer<std::remove_cvref_t<decltype(m)>>) m.enable_observer(false);
  });
}

/// PyTorch's get_observer_dict: calls f(dotted_name, observer) for every observer in `model`
/// (an observer inside a FakeQuantize is "<name>.activation_post_process", as in PyTorch).
template <class M, class F>
void get_observer_dict(M& model, F&& f) {
  visit_modules(model, [&](std::string_view path, auto& m) {
    if constexpr (Observer<std::remove_cvref_t<decltype(m)>>) {
      if constexpr (!FakeQuantizer<std::remove_cvref_t<decltype(m)>>) f(path, m);
    }
  });
}

}  // namespace ctq
