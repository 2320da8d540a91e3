// Walking a model: visit_modules calls a function on a module and, recursively, on every child
// it declares, with PyTorch-style dotted names ("features.3.conv.0").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace ctq {

/// A module that has children declares them by calling f(name, child) for each in
/// `for_each_child(f)` (const and non-const). Leaves declare nothing.
template <class M>
concept HasChildren = requires(M& m) {
  m.for_each_child([](std::string_view, auto&) {});
};

/// A container of ctq::nn (Sequential, Residual, a user's named container): a tuple of its
/// children from children() and their names in child_names.
template <class M>
concept HasNamedChildren = requires(M& m) {
  typename M::child_names;
  m.children();
};

/// Calls f(path, module) on `m` (path "" for the root) and on every descendant, parents first:
/// the children a module declares with for_each_child and the children of containers.
template <class M, class F>
void visit_modules(M& m, F&& f, const std::string& path = {}) {
  f(std::string_view(path), m);
  auto join = [&](std::string_view name) { return path.empty() ? std::string(name) : path + "." + std::string(name); };
  if constexpr (HasChildren<M>) {
    m.for_each_child([&](std::string_view name, auto& child) { visit_modules(child, f, join(name)); });
  } else if constexpr (HasNamedChildren<M>) {
    auto kids = m.children();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (visit_modules(std::get<I>(kids), f, join(M::child_names::template at<I>.view())), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<decltype(kids)>>{});
  }
}

}  // namespace ctq
