// The one mechanism behind fuse_modules, prepare and convert: rebuild a model type leaf by leaf.
// rewrite(m, pass) walks m; every container is rebuilt with its rewritten children (its template
// arguments rebound, names kept) and every leaf at dotted path P becomes pass.leaf<P>(leaf).
// Leaves are moved from.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include "../nn/module.hpp"

namespace ctq::detail {

template <fixed_string Path = fixed_string{""}, class M, class Pass>
auto rewrite(M& m, Pass& pass) {
  if constexpr (nn::Container<M>) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      // braced initialisation: the children are rewritten in order (errors name the first)
      auto kids = std::tuple<decltype(rewrite<join_path<Path, nn::child_name<M, I>>()>(nn::child<I>(m), pass))...>{
          rewrite<join_path<Path, nn::child_name<M, I>>()>(nn::child<I>(m), pass)...};
      using New = nn::rebind_t<M, std::tuple_element_t<I, decltype(kids)>...>;
      return nn::assemble<New>(std::move(kids));
    }
    (std::make_index_sequence<nn::child_count<M>>{});
  } else {
    return pass.template leaf<Path>(m);
  }
}

}  // namespace ctq::detail
