// prepare<QConfigOrMapping>(model): PyTorch's eager prepare as a type rewrite. Every leaf module
// that has a qconfig and needs one (needs_qconfig, quantization/traits.hpp) becomes
// Observed<M, QC>: the module and, if PyTorch observes its output (QuantStub, Conv, Linear, the
// fused modules, FloatFunctional, ...), its qconfig's activation observer (PyTorch's
// activation_post_process). Other modules are moved across unchanged.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../core/visit.hpp"
#include "../fake_quantize/fake_quantize.hpp"
#include "../nn/activation.hpp"
#include "../nn/batchnorm.hpp"
#include "../nn/conv.hpp"
#include "../nn/functional.hpp"
#include "../nn/identity.hpp"
#include "../nn/intrinsic/fused.hpp"
#include "../nn/linear.hpp"
#include "../nn/module.hpp"
#include "../nn/train.hpp"
#include "../qconfig/qconfig.hpp"
#include "qconfig_mapping.hpp"
#include "stubs.hpp"
#include "traits.hpp"
#include "transform.hpp"

namespace ctq {

/// A module prepared with qconfig QC: the module, and the activation observer on its output
/// (or none, e.g. for a DeQuantStub, which convert needs to know is in a quantized region).
template <class M, class QC>
class Observed {
 public:
  static constexpr bool observing = observes_output<M>::value;
  using module_type = M;
  using qconfig = QC;
  using observer_type = std::conditional_t<observing, typename QC::activation, nn::Identity>;
  static constexpr std::string_view name = "Observed";

  Observed() = default;
  explicit Observed(M m) : module(std::move(m)) {}

  template <class... X>
  auto operator()(const X&... x) {
    return observe(module(x...));
  }
  // FloatFunctional's operations, each observed (PyTorch's FloatFunctional calls its
  // activation_post_process on every result).
  template <class A, class B>
  auto add(const A& a, const B& b) {
    return observe(module.add(a, b));
  }
  template <class A, class B>
  auto add_relu(const A& a, const B& b) {
    return observe(module.add_relu(a, b));
  }
  template <class A, class B>
  auto mul(const A& a, const B& b) {
    return observe(module.mul(a, b));
  }
  template <class A>
  auto add_scalar(const A& a, float c) {
    return observe(module.add_scalar(a, c));
  }
  template <class A>
  auto mul_scalar(const A& a, float c) {
    return observe(module.mul_scalar(a, c));
  }
  template <class T>
  auto cat(const T& xs) {
    return observe(module.cat(xs));
  }

  template <class F>
  void visit_state(F&& f) {
    if constexpr (requires { module.visit_state(f); }) module.visit_state(f);
  }

  // Training (quantization-aware training after prepare_qat): the mode reaches the module, the
  // parameters are the module's, and backward runs the output fake-quantizer's straight-through
  // estimator, then the module's backward.
  void set_training(bool mode) { nn::train(module, mode); }
  template <class F>
  void visit_parameters(F&& f) {
    if constexpr (requires { module.visit_parameters(f); }) module.visit_parameters(f);
  }
  nn::DynTensor backward(const nn::DynTensor& g) requires requires(M& m, const nn::DynTensor& d) { m.backward(d); }
  {
    if constexpr (observing && FakeQuantizer<observer_type>) {
      static_assert(
          requires(std::span<float> s) { activation_post_process.backward_in_place(s); },
          "ctq: Observed::backward: this activation fake-quantizer has no straight-through backward pass "
          "(LearnableFakeQuantize cannot train inside a model yet; use FakeQuantize or "
          "FusedMovingAvgObsFakeQuantize)");
      nn::DynTensor gm = g;
      activation_post_process.backward_in_place(gm.values());
      return module.backward(gm);
    } else {
      return module.backward(g);
    }
  }
  // Forwarded to a simulated conv+bn (freeze_bn_stats / update_bn_stats over a model).
  void freeze_bn_stats() requires requires(M& m) { m.freeze_bn_stats(); }
  { module.freeze_bn_stats(); }
  void update_bn_stats() requires requires(M& m) { m.update_bn_stats(); }
  { module.update_bn_stats(); }

  /// For visit_modules: the module's own children (a QAT layer's weight_fake_quant), then the
  /// output observer as "activation_post_process" (PyTorch's names).
  template <class F>
  void for_each_child(F&& f) {
    if constexpr (HasChildren<M>) module.for_each_child(f);
    if constexpr (observing) f(std::string_view("activation_post_process"), activation_post_process);
  }
  template <class F>
  void for_each_child(F&& f) const {
    if constexpr (HasChildren<const M>) module.for_each_child(f);
    if constexpr (observing) f(std::string_view("activation_post_process"), activation_post_process);
  }

  M module;
  observer_type activation_post_process;

 private:
  // A fake-quantizer's output replaces y (quantization-aware training); an observer only sees it.
  template <class Y>
  Y observe(Y y) {
    if constexpr (observing) {
      if constexpr (FakeQuantizer<observer_type>)
        return activation_post_process(y);
      else
        activation_post_process(y);
    }
    return y;
  }
};

template <class T>
inline constexpr bool is_observed = false;
template <class M, class QC>
inline constexpr bool is_observed<Observed<M, QC>> = true;

namespace detail {

template <class Mapping>
struct prepare_pass {
  template <fixed_string Path, class M>
  auto leaf(M& m) {
    using QC = typename qconfig_at<Mapping, Path, M>::type;
    if constexpr (std::is_same_v<QC, no_qconfig>) {
      return std::move(m);
    } else if constexpr (needs_qconfig<M>) {
      if constexpr (observes_output<M>::value) {
        static_assert(
            requires { typename QC::activation::qparams_type; },
            "ctq: prepare: the qconfig's activation observer computes no quantization parameters "
            "(static quantization needs MinMaxObserver, HistogramObserver, ...)");
      }
      return Observed<M, QC>(std::move(m));
    } else {
      return std::move(m);
    }
  }
};

}  // namespace detail

/// The observed model: prepare<QC>(model), prepare<QConfigMapping<...>>(model) (PyTorch's
/// torch.ao.quantization.prepare).
template <class QConfigOrMapping, class Model>
auto prepare(Model model) {
  detail::prepare_pass<QConfigOrMapping> pass;
  return detail::rewrite(model, pass);
}

/// Runs the prepared model over every batch (calibration); progress(done, total) after each one
/// if given.
template <class Prepared, class Batches>
void calibrate(Prepared& prepared, const Batches& batches,
               const std::function<void(std::size_t, std::size_t)>& progress = {}) {
  const auto total = static_cast<std::size_t>(std::size(batches));
  std::size_t done = 0;
  for (const auto& x : batches) {
    (void)prepared(x);
    if (progress) progress(++done, total);
  }
}

}  // namespace ctq

// The module mappings last: the QAT mappings build on prepare (and convert), so they need this
// file's definitions; a user who includes only this header still gets every mapping.
#include "mapping.hpp"
