// Composition: nn::Sequential (children run in order; named<> gives them PyTorch-style names,
// unnamed ones are "0", "1", ...) and nn::Residual (x + body(x) through a FloatFunctional, so
// the sum is observed and quantized like PyTorch's skip_add).
#pragma once

#include <tuple>
#include <utility>

#include "functional.hpp"
#include "grad.hpp"
#include "module.hpp"

namespace ctq::nn {

template <class... Items>
class Sequential {
 public:
  static constexpr std::string_view name = "Sequential";
  using child_names = item_names_t<Items...>;

  auto children() {
    return std::apply([](auto&... c) { return std::tie(c...); }, items_);
  }

  template <class X>
  auto operator()(X&& x) {
    return run<0>(std::forward<X>(x));
  }

  /// The children's backward passes, last to first.
  DynTensor backward(const DynTensor& g) {
    if constexpr (sizeof...(Items) == 0) {
      return g;
    } else {
      return back<sizeof...(Items) - 1>(g);
    }
  }

 private:
  template <std::size_t I>
  DynTensor back(const DynTensor& g) {
    auto& c = std::get<I>(items_);
    static_assert(
        requires { c.backward(g); }, "ctq: nn::Sequential::backward: a child has no backward pass");
    if constexpr (I == 0) {
      return c.backward(g);
    } else {
      return back<I - 1>(c.backward(g));
    }
  }

  template <std::size_t I, class X>
  auto run(X&& x) {
    if constexpr (I == sizeof...(Items)) {
      return std::remove_cvref_t<X>(std::forward<X>(x));
    } else {
      return run<I + 1>(forward_child<child_name<Sequential, I>>(std::get<I>(items_), std::forward<X>(x)));
    }
  }

  std::tuple<detail::unname_t<Items>...> items_;
};

/// x + body(x): children "body" and "skip_add" (a FloatFunctional until convert makes it a
/// QFunctional).
template <class Body, class Add = FloatFunctional>
class Residual {
 public:
  static constexpr std::string_view name = "Residual";
  using child_names = names<"body", "skip_add">;

  auto children() { return std::tie(body, skip_add); }

  template <class X>
  auto operator()(const X& x) {
    auto y = forward_child<"body">(body, x);
    return skip_add.add(x, y);
  }

  /// The sum passes its gradient gs to both operands: dx = gs + body's backward of gs, where gs
  /// is g through skip_add's backward (g itself in float; masked by the sum's fake-quantizer in
  /// quantization-aware training).
  DynTensor backward(const DynTensor& g) {
    static_assert(
        requires { skip_add.backward(g); }, "ctq: nn::Residual::backward: the skip_add module has no backward pass");
    DynTensor gs = skip_add.backward(g);
    DynTensor dx = body.backward(gs);
    if (!dx.same_shape(gs)) raise("ctq: nn::Residual::backward: the body's input gradient differs in shape from g");
    dx.array() += gs.array();
    return dx;
  }

  Body body;
  Add skip_add;
};

}  // namespace ctq::nn
