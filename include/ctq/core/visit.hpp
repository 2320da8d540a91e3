// Walking a model: visit_modules calls a function on a module and, recursively, on every child
// it declares, with PyTorch-style dotted names ("features.3.conv.0").
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace ctq {

/// A module that has children declares them by calling f(name, child) for each in
/// `for_each_child(f)` (const and non-const). Leaves declare nothing.
template <class M>
concept HasChildren = requires(M& m) {
  m.for_each_child([](std::string_view, auto&) {});
};

/// Calls f(path, module) on `m` (path "" for the root) and on every descendant, parents first.
template <class M, class F>
void visit_modules(M& m, F&& f, const std::string& path = {}) {
  f(std::string_view(path), m);
  if constexpr (HasChildren<M>) {
    m.for_each_child([&](std::string_view name, auto& child) {
      visit_modules(child, f, path.empty() ? std::string(name) : path + "." + std::string(name));
    });
  }
}

}  // namespace ctq
