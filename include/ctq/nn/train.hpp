// Training over a whole model: nn::train / nn::eval (the mode switch), nn::for_each_parameter,
// nn::zero_grad and nn::backward. The per-module protocol is in grad.hpp.
//
// ctq's modules start in evaluation mode (PyTorch's start in training mode): a model built for
// inference, calibration or conversion never updates batch statistics by accident.
#pragma once

#include <string>
#include <string_view>

#include "grad.hpp"
#include "module.hpp"

namespace ctq::nn {

/// Sets training mode (true) or evaluation mode (false) on m and every module below it.
template <class M>
void train(M& m, bool mode = true) {
  for_each_module(m, [&]<fixed_string>(auto& mod) {
    if constexpr (requires { mod.set_training(mode); })
      mod.set_training(mode);  // a wrapper (Observed) passes the mode to what it wraps
    else if constexpr (requires { mod.training = true; })
      mod.training = mode;
  });
}
/// Evaluation mode for m and every module below it: nn::train(m, false).
template <class M>
void eval(M& m) {
  train(m, false);
}

/// Calls f(dotted_name, value, grad) for every trainable parameter of m, in module order (the
/// order PyTorch's model.parameters() gives for the same architecture).
template <class M, class F>
void for_each_parameter(M& m, F&& f) {
  for_each_module(m, [&]<fixed_string Path>(auto& mod) {
    if constexpr (requires { mod.visit_parameters([](std::string_view, auto&, auto&) {}); }) {
      mod.visit_parameters([&](std::string_view leaf, auto& value, auto& grad) {
        std::string key(Path.view());
        if (!key.empty()) key += '.';
        key += leaf;
        f(key, value, grad);
      });
    }
  });
}

/// Sets every parameter's gradient to zero (allocating it the first time).
template <class M>
void zero_grad(M& m) {
  for_each_parameter(m, [](const std::string&, auto& value, auto& grad) {
    detail::ensure_grad(grad, value);
    grad.array().setZero();
  });
}

/// Runs m's backward pass from grad_y, the loss's gradient with respect to m's last output in
/// training mode; parameters' gradients accumulate. Returns the gradient with respect to m's input.
template <class M, int R>
DynTensor backward(M& m, const Tensor<float, R>& grad_y) {
  static_assert(
      requires(const DynTensor& g) { m.backward(g); },
      "ctq: nn::backward: the model has no backward pass (a module without one is inside it)");
  return m.backward(DynTensor(grad_y));
}

/// The number of trainable parameter values in m.
template <class M>
index_t parameter_count(M& m) {
  index_t n = 0;
  for_each_parameter(m, [&](const std::string&, auto& value, auto&) { n += value.size(); });
  return n;
}

}  // namespace ctq::nn
