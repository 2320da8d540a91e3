// A model's float state by dotted name, as PyTorch's state_dict: "conv1.weight",
// "block.body.bn_a.running_var", ... Loading checks every name and shape.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "module.hpp"

namespace ctq::nn {

/// One tensor of a state dict: its shape (PyTorch's layout) and values (row-major).
struct StateTensor {
  std::vector<index_t> shape;
  std::vector<float> values;
};

using StateDict = std::map<std::string, StateTensor>;

/// Calls f(dotted_name, tensor) for every state tensor of m, in module order.
template <class M, class F>
void visit_state(M& m, F&& f) {
  for_each_module(m, [&]<fixed_string Path>(auto& mod) {
    if constexpr (requires { mod.visit_state([](std::string_view, auto&) {}); }) {
      mod.visit_state([&](std::string_view leaf, auto& tensor) {
        std::string key(Path.view());
        if (!key.empty()) key += '.';
        key += leaf;
        f(key, tensor);
      });
    }
  });
}

/// A copy of m's state.
template <class M>
StateDict state_dict(M& m) {
  StateDict d;
  visit_state(m, [&](const std::string& key, auto& t) {
    StateTensor s;
    s.shape.assign(t.shape().begin(), t.shape().end());
    s.values.assign(t.values().begin(), t.values().end());
    d.emplace(key, std::move(s));
  });
  return d;
}

/// Loads `d` into m. Every tensor of m must be in d with the same shape; with strict, d must hold
/// nothing else. Raises ctq::error naming the first key that is missing, unexpected or misshapen.
template <class M>
void load_state_dict(M& m, const StateDict& d, bool strict = true) {
  std::size_t used = 0;
  visit_state(m, [&](const std::string& key, auto& t) {
    const auto it = d.find(key);
    if (it == d.end()) raise(ctq::detail::message() << "ctq: load_state_dict: missing key '" << key << "'");
    const auto& s = it->second;
    const bool same_shape = std::ranges::equal(s.shape, t.shape());
    if (!same_shape || static_cast<index_t>(s.values.size()) != t.size()) {
      raise(ctq::detail::message() << "ctq: load_state_dict: '" << key << "' has a different shape from the model's");
    }
    std::copy(s.values.begin(), s.values.end(), t.values().begin());
    ++used;
  });
  if (strict && used != d.size()) {
    for (const auto& [key, value] : d) {
      bool known = false;
      visit_state(m, [&](const std::string& k, auto&) { known = known || k == key; });
      if (!known) raise(ctq::detail::message() << "ctq: load_state_dict: unexpected key '" << key << "'");
    }
  }
}

}  // namespace ctq::nn
