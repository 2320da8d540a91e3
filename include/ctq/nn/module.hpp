// The module protocol shared by float modules, combinators and the quantization workflow:
// compile-time names (fixed_string, named, names), containers whose template arguments are their
// children, navigation by dotted path, type rebinding, and the checks that turn a tensor of the
// wrong kind into a one-line compile error.
//
// A container is any class template C<A...> whose type arguments are its children (optionally
// wrapped in named<"name", M>) and that provides
//   using child_names = nn::names<"a", "b", ...>;   // one name per template argument
//   auto children();                                 // std::tuple of references, same order
// nn::Sequential and nn::Residual are containers; so is a user's own class template written this
// way, and fuse_modules / prepare / convert rebind its arguments like theirs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../core/dtype.hpp"
#include "../core/qscheme.hpp"
#include "../core/qtensor.hpp"
#include "../core/tensor.hpp"

namespace ctq {

/// A string usable as a template argument: nn::named<"conv1", ...>, fuse<"conv1", "bn1">.
template <std::size_t N>
struct fixed_string {
  char value[N]{};
  constexpr fixed_string() = default;
  constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, value); }  // NOLINT(google-explicit-constructor)
  static constexpr std::size_t length = N - 1;
  constexpr std::string_view view() const { return {value, N - 1}; }
  constexpr bool empty() const { return N == 1; }
};
template <std::size_t N>
fixed_string(const char (&)[N]) -> fixed_string<N>;

namespace detail {

template <class T>
inline constexpr bool always_false = false;
template <auto V>
inline constexpr bool always_false_v = false;

/// "a" + "." + "b", or "b" when a is empty: the dotted path of a child.
template <fixed_string A, fixed_string B>
constexpr auto join_path() {
  if constexpr (A.empty()) {
    return B;
  } else {
    fixed_string<A.length + B.length + 2> r{};
    std::size_t i = 0;
    for (char c : A.view()) r.value[i++] = c;
    r.value[i++] = '.';
    for (char c : B.view()) r.value[i++] = c;
    return r;
  }
}

/// s[pos, pos + len) as a fixed_string.
template <fixed_string S, std::size_t Pos, std::size_t Len>
constexpr auto substring() {
  fixed_string<Len + 1> r{};
  for (std::size_t i = 0; i < Len; ++i) r.value[i] = S.value[Pos + i];
  return r;
}

constexpr std::size_t decimal_digits(std::size_t i) { return i < 10 ? 1 : 1 + decimal_digits(i / 10); }

/// The decimal name "0", "1", ... of an unnamed child, as PyTorch names Sequential's items.
template <std::size_t I>
constexpr auto index_name() {
  fixed_string<decimal_digits(I) + 1> r{};
  std::size_t v = I;
  for (std::size_t k = decimal_digits(I); k-- > 0; v /= 10) r.value[k] = static_cast<char>('0' + v % 10);
  return r;
}

}  // namespace detail

namespace nn {

/// A child with a compile-time name: nn::named<"conv1", nn::Conv2d<1, 16, 3>>.
template <fixed_string Name, class M>
struct named {
  static constexpr auto name = Name;
  using module = M;
};

/// The names of a container's children, in template-argument order.
template <fixed_string... N>
struct names {
  static constexpr std::size_t size = sizeof...(N);
  template <std::size_t I>
  static constexpr auto at = std::get<I>(std::tuple{N...});
};

namespace detail {

template <class T>
struct unname {
  using type = T;
};
template <fixed_string N, class M>
struct unname<named<N, M>> {
  using type = M;
};
/// The module of a template argument (named<"n", M> gives M).
template <class T>
using unname_t = typename unname<T>::type;

template <class Item, class New>
struct rename {
  using type = New;
};
template <fixed_string N, class M, class New>
struct rename<named<N, M>, New> {
  using type = named<N, New>;
};

template <class T>
inline constexpr bool is_named = false;
template <fixed_string N, class M>
inline constexpr bool is_named<named<N, M>> = true;

template <class Item, std::size_t I>
constexpr auto item_name() {
  if constexpr (is_named<Item>)
    return Item::name;
  else
    return ctq::detail::index_name<I>();
}

template <class Seq, class... Items>
struct item_names;
template <std::size_t... I, class... Items>
struct item_names<std::index_sequence<I...>, Items...> {
  using type = names<item_name<Items, I>()...>;
};

}  // namespace detail

/// The names of Items (named<> or index): what Sequential and Residual use as child_names.
template <class... Items>
using item_names_t = typename detail::item_names<std::index_sequence_for<Items...>, Items...>::type;

/// A container: a module whose children the workflow can visit and rebind.
template <class M>
concept Container = requires(M& m) {
  typename M::child_names;
  m.children();
};

namespace detail {

template <class C, class... New>
struct rebind;
template <template <class...> class T, class... A, class... New>
struct rebind<T<A...>, New...> {
  static_assert(sizeof...(A) == sizeof...(New), "ctq: rebind: one new child per template argument");
  using type = T<typename rename<A, New>::type...>;
};

template <class C>
struct child_types;
template <template <class...> class T, class... A>
struct child_types<T<A...>> {
  using type = std::tuple<unname_t<A>...>;
};

}  // namespace detail

/// C with its children replaced by New... (names kept).
template <class C, class... New>
using rebind_t = typename detail::rebind<C, New...>::type;

/// The I-th child type of container C.
template <class C, std::size_t I>
using child_t = std::tuple_element_t<I, typename detail::child_types<C>::type>;

template <class C>
inline constexpr std::size_t child_count = C::child_names::size;

template <class C, std::size_t I>
inline constexpr auto child_name = C::child_names::template at<I>;

/// The I-th child of container c.
template <std::size_t I, Container C>
auto& child(C& c) {
  return std::get<I>(c.children());
}
template <std::size_t I, Container C>
const auto& child(const C& c) {
  return std::get<I>(const_cast<C&>(c).children());
}

namespace detail {

template <class C, std::size_t... I>
constexpr std::size_t find_child(std::string_view name, std::index_sequence<I...>) {
  std::size_t found = sizeof...(I);
  ((child_name<C, I>.view() == name ? (found = I, true) : false) || ...);
  return found;
}

}  // namespace detail

/// Index of the child called `name`, or child_count<C> if there is none.
template <Container C>
constexpr std::size_t child_index(std::string_view name) {
  return detail::find_child<C>(name, std::make_index_sequence<child_count<C>>{});
}

namespace detail {

// An index loop, not string_view::find: g++ 12 with -fsanitize=undefined does not evaluate find's
// null-pointer test on a template parameter object in a constant expression.
template <fixed_string Path>
constexpr std::size_t first_dot() {
  for (std::size_t i = 0; i < Path.length; ++i) {
    if (Path.value[i] == '.') return i;
  }
  return Path.length;
}

// The module at a dotted path (empty path: the model itself).
template <fixed_string Path, class M>
struct at_path_impl;

template <fixed_string Path, class M>
requires(Path.empty()) struct at_path_impl<Path, M> {
  using type = M;
  static M& get(M& m) { return m; }
};

template <fixed_string Path, class M>
requires(!Path.empty()) struct at_path_impl<Path, M> {
  static_assert(Container<M>,
                "ctq: no module at this dotted path (a leaf module has no children; see 'Path' in the "
                "instantiation above)");
  static constexpr std::size_t dot = first_dot<Path>();
  static constexpr std::size_t index = child_index<M>(Path.view().substr(0, dot));
  static_assert(index < child_count<M>,
                "ctq: no child of that name at this dotted path (see 'Path' in the instantiation above)");
  static constexpr auto rest = ctq::detail::substring<Path, (dot < Path.length ? dot + 1 : Path.length),
                                                      (dot < Path.length ? Path.length - dot - 1 : 0)>();
  using inner = at_path_impl<rest, child_t<M, index>>;
  using type = typename inner::type;
  static type& get(M& m) { return inner::get(child<index>(m)); }
};

}  // namespace detail

/// The type of the module at dotted path Path in M ("features.3.conv.0").
template <class M, fixed_string Path>
using module_at_t = typename detail::at_path_impl<Path, M>::type;

/// The module at dotted path Path in m.
template <fixed_string Path, class M>
auto& module_at(M& m) {
  return detail::at_path_impl<Path, M>::get(m);
}

namespace detail {

template <Container C, class Tuple, std::size_t... I>
C build_from(Tuple&& kids, std::index_sequence<I...>) {
  C c{};
  ((child<I>(c) = std::move(std::get<I>(kids))), ...);
  return c;
}

}  // namespace detail

/// Rebuilds a container of type C from its children (moved in).
template <Container C, class... Kids>
C assemble(std::tuple<Kids...>&& kids) {
  return detail::build_from<C>(std::move(kids), std::index_sequence_for<Kids...>{});
}

/// Calls f.template operator()<Path>(module) for m and every module below it, parents first.
template <fixed_string Path = fixed_string{""}, class M, class F>
void for_each_module(M& m, F&& f) {
  f.template operator()<Path>(m);
  if constexpr (Container<M>) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (for_each_module<ctq::detail::join_path<Path, child_name<M, I>>()>(child<I>(m), f), ...);
    }
    (std::make_index_sequence<child_count<M>>{});
  }
}

/// Calls the child with x; a named frame in the error trace when the child rejects x's kind.
template <fixed_string Name, class M, class X>
decltype(auto) forward_child(M& m, X&& x) {
  return m(std::forward<X>(x));
}

}  // namespace nn

namespace detail {

/// A float module given a quantized tensor: one line saying which stub is missing.
struct rejects_quantized {
  template <dtype D, qscheme S, int R>
  Tensor<float, R> operator()(const QTensor<D, S, R>&) const {
    static_assert(always_false_v<D>,
                  "ctq: a quantized tensor reaches a float module: a DeQuantStub is missing before it (or the "
                  "module was not converted); the module and its name are in the 'required from' lines above");
    return {};
  }
};

/// A quantized module given a float tensor.
struct rejects_float {
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>&) const {
    static_assert(always_false_v<R>,
                  "ctq: a float tensor reaches a quantized module: a QuantStub is missing before it; the "
                  "module and its name are in the 'required from' lines above");
    return {};
  }
};

}  // namespace detail
}  // namespace ctq
