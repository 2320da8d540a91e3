// Which qconfig each module gets: one for the whole model, or a QConfigMapping with entries by
// dotted name and by module type (PyTorch's qconfig_dict / QConfigMapping in eager mode).
// no_qconfig (PyTorch's None) leaves a module or subtree in float.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "../nn/module.hpp"
#include "../qconfig/qconfig.hpp"

namespace ctq {

/// No quantization for this module or subtree.
struct no_qconfig {};

namespace detail {
template <class T>
inline constexpr bool is_qconfig_or_none = is_qconfig<T> || std::is_same_v<T, no_qconfig>;
}  // namespace detail

/// The qconfig of the module at dotted path Path and of everything below it, unless a deeper
/// entry says otherwise.
template <fixed_string Path, class QC>
struct for_name {
  static_assert(detail::is_qconfig_or_none<QC>, "ctq: for_name: the second argument must be a QConfig or no_qconfig");
  static constexpr bool is_for_name = true;
  static constexpr auto path = Path;
  using qconfig = QC;
};
/// The qconfig of every module of type M (beats the inherited one, loses to a for_name).
template <class M, class QC>
struct for_type {
  static_assert(detail::is_qconfig_or_none<QC>, "ctq: for_type: the second argument must be a QConfig or no_qconfig");
};

/// Global qconfig plus entries: QConfigMapping<get_default_qconfig<backend::x86>,
/// for_name<"fc2", no_qconfig>, for_type<nn::Linear<16, 10>, default_qconfig>>.
template <class Global, class... Entries>
struct QConfigMapping {};

namespace detail {

template <class Entry, fixed_string Path>
struct name_entry {
  using type = void;
};
template <fixed_string N, class QC, fixed_string Path>
struct name_entry<for_name<N, QC>, Path> {
  using type = std::conditional_t<N.view() == Path.view(), QC, void>;
};

template <class Entry, class M>
struct type_entry {
  using type = void;
};
template <class T, class QC, class M>
struct type_entry<for_type<T, QC>, M> {
  using type = std::conditional_t<std::is_same_v<T, M>, QC, void>;
};

template <class... T>
struct first_non_void {
  using type = void;
};
template <class T, class... Rest>
struct first_non_void<T, Rest...> {
  using type = std::conditional_t<std::is_void_v<T>, typename first_non_void<Rest...>::type, T>;
};

// A for_name entry's rank for Path: 0 no match, else 1 + the entry's length (deeper wins).
template <class Entry, fixed_string Path>
constexpr std::size_t prefix_rank() {
  if constexpr (requires { Entry::is_for_name; }) {
    constexpr auto n = Entry::path.view();
    constexpr auto p = Path.view();
    return p.size() > n.size() && p.substr(0, n.size()) == n && p[n.size()] == '.' ? n.size() + 1 : 0;
  } else {
    return 0;
  }
}

template <class E>
struct name_entry_qconfig {
  using type = void;
};
template <fixed_string N, class QC>
struct name_entry_qconfig<for_name<N, QC>> {
  using type = QC;
};

template <fixed_string Path, class... Entries>
struct deepest_prefix {
  using type = void;
};
template <fixed_string Path, class E, class... Rest>
struct deepest_prefix<Path, E, Rest...> {
  using rest = deepest_prefix<Path, Rest...>;
  static constexpr std::size_t rank = std::max(prefix_rank<E, Path>(), rest::rank);
  using type = std::conditional_t<(prefix_rank<E, Path>() > 0 && prefix_rank<E, Path>() >= rest::rank),
                                  typename name_entry_qconfig<E>::type, typename rest::type>;
};
template <fixed_string Path>
struct deepest_prefix<Path> {
  static constexpr std::size_t rank = 0;
  using type = void;
};

/// The qconfig of the leaf module of type M at Path, as PyTorch's propagation gives it: an entry
/// for its name, else one for its type, else the deepest entry naming one of its parents, else
/// the global one. (Type entries apply to leaf modules.)
template <class Mapping, fixed_string Path, class M>
struct qconfig_at {
  static_assert(is_qconfig_or_none<Mapping>,
                "ctq: prepare: the argument must be a QConfig, no_qconfig or a QConfigMapping<...>");
  using type = Mapping;
};
template <class Global, class... Entries, fixed_string Path, class M>
struct qconfig_at<QConfigMapping<Global, Entries...>, Path, M> {
  static_assert(is_qconfig_or_none<Global>,
                "ctq: QConfigMapping: the first argument is the global QConfig (or no_qconfig)");
  using type =
      typename first_non_void<typename name_entry<Entries, Path>::type..., typename type_entry<Entries, M>::type...,
                              typename deepest_prefix<Path, Entries...>::type, Global>::type;
};

template <class Mapping>
struct global_qconfig {
  using type = Mapping;
};
template <class Global, class... Entries>
struct global_qconfig<QConfigMapping<Global, Entries...>> {
  using type = Global;
};

}  // namespace detail
}  // namespace ctq
