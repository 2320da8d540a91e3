// nn::Concat<Branches...>: parallel branches on the same input, their outputs concatenated along
// the channel (last) dimension through a FloatFunctional child named "cat" (PyTorch's
// self.cat.cat([...], dim=1) of an Inception block), so that prepare observes the concatenation
// and convert makes the child a QFunctional. Unnamed branches are "0", "1", ... as PyTorch names
// a module's numbered children.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "functional.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {

/// f.cat(xs): the member of FloatFunctional (observed after prepare), or a free cat(f, xs) found
/// by argument-dependent lookup (nn::quantized::cat for a QFunctional, nn/quantized/cat.hpp).
template <class F, class Xs>
decltype(auto) concat_through(F& f, const Xs& xs) {
  if constexpr (requires { f.cat(xs); }) {
    return f.cat(xs);
  } else if constexpr (requires { cat(f, xs); }) {
    return cat(f, xs);
  } else {
    static_assert(ctq::detail::always_false<F>,
                  "ctq: nn::Concat: the 'cat' child cannot concatenate the branches' tensors (a converted Concat "
                  "needs ctq/nn/quantized/cat.hpp)");
  }
}

}  // namespace detail

/// The container behind nn::Concat: Items are the branches, then named<"cat", F> with F a
/// FloatFunctional (Observed after prepare, QFunctional after convert).
template <class... Items>
class ConcatT {
  static constexpr std::size_t branches = sizeof...(Items) - 1;
  static_assert(sizeof...(Items) >= 2, "ctq: nn::Concat: at least one branch");

 public:
  static constexpr std::string_view name = "Concat";
  using child_names = item_names_t<Items...>;
  static_assert(child_names::template at<branches>.view() == "cat",
                "ctq: nn::Concat: the last child is the FloatFunctional named \"cat\"");

  auto children() {
    return std::apply([](auto&... c) { return std::tie(c...); }, items_);
  }

  /// cat([branch_0(x), branch_1(x), ...]) along the last dimension; the branches run in order.
  template <class X>
  auto operator()(const X& x) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      using Ys =
          std::tuple<std::remove_cvref_t<decltype(forward_child<child_name<ConcatT, I>>(std::get<I>(items_), x))>...>;
      using Y = std::tuple_element_t<0, Ys>;
      static_assert((std::is_same_v<Y, std::tuple_element_t<I, Ys>> && ...),
                    "ctq: nn::Concat: every branch must return the same kind of tensor (all float or all quantized, "
                    "one rank); a QuantStub or DeQuantStub inside a branch is the usual cause");
      Ys ys{forward_child<child_name<ConcatT, I>>(std::get<I>(items_), x)...};  // braces: left to right
      const std::array<const Y*, branches> ptrs{&std::get<I>(ys)...};
      return detail::concat_through(std::get<branches>(items_), ptrs);
    }
    (std::make_index_sequence<branches>{});
  }

 private:
  std::tuple<detail::unname_t<Items>...> items_;
};

/// Branches on the same input, concatenated along channels by a FloatFunctional "cat":
/// nn::Concat<nn::named<"b1", Branch1>, Branch2>.
template <class... Branches>
using Concat = ConcatT<Branches..., named<"cat", FloatFunctional>>;

}  // namespace ctq::nn
