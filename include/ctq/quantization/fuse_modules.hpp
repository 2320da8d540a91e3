// fuse_modules<fuse<"conv1", "bn1", "relu1">, ...>(model): PyTorch's eager fuse_modules in
// evaluation as a type rewrite. The first module of each group becomes the fused module, the
// others nn::Identity. BatchNorm is folded into the conv / linear weights with PyTorch's formulas
// (fuse_conv_bn_weights, fuse_linear_bn_weights), operation by operation in float. A group with
// no fuser is a compile error; ctq::fuser<A, B[, C]> can be specialised for a custom fusion.
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <utility>

#include "../core/detail/fp.hpp"
#include "../nn/activation.hpp"
#include "../nn/batchnorm.hpp"
#include "../nn/conv.hpp"
#include "../nn/identity.hpp"
#include "../nn/intrinsic/fused.hpp"
#include "../nn/linear.hpp"
#include "../nn/module.hpp"
#include "transform.hpp"

namespace ctq {

/// A group of dotted paths to fuse, in forward order.
template <fixed_string... Paths>
struct fuse {
  static_assert(sizeof...(Paths) >= 2, "ctq: fuse<...>: a group names at least two modules");
};

/// How a group of module types fuses: `type` and `static type apply(const Ms&...)`.
/// Specialise for a custom fusion (PyTorch's fuser_func / fuse_custom_config).
template <class... Ms>
struct fuser {
  static_assert(detail::always_false<fuser>,
                "ctq: fuse_modules: these modules cannot be fused; ctq fuses conv+bn, conv+bn+relu, conv+relu, "
                "linear+relu, linear+bn and bn+relu (the module types are in the 'fuser<...>' line above; "
                "specialise ctq::fuser for a custom fusion)");
};

namespace detail {

// PyTorch's fuse_conv_bn_weights / fuse_linear_bn_weights, one float operation at a time:
//   rsqrt = 1 / sqrt(var + eps)
//   conv:   w' = w * (bn_w * rsqrt)        b' = ((b - mean) * rsqrt) * bn_w + bn_b
//   linear: w' = w * (bn_w * rsqrt)        b' = (b - mean) * (bn_w * rsqrt) + bn_b
template <class Out, class In, class BN>
Out fold_bn(const In& m, const BN& bn, bool linear) {
  constexpr index_t C = BN::num_features;
  Out r;
  const index_t per = m.weight.size() / C;
  for (index_t c = 0; c < C; ++c) {
    const float rsqrt = no_contract(1.0f / std::sqrt(no_contract(bn.running_var[c] + BN::eps)));
    const float factor = no_contract(bn.weight[c] * rsqrt);
    for (index_t i = 0; i < per; ++i) r.weight[c * per + i] = no_contract(m.weight[c * per + i] * factor);
    const float b = In::has_bias ? m.bias[c] : 0.0f;
    const float centred = no_contract(b - bn.running_mean[c]);
    r.bias[c] = linear ? no_contract(no_contract(centred * factor) + bn.bias[c])
                       : no_contract(no_contract(no_contract(centred * rsqrt) * bn.weight[c]) + bn.bias[c]);
  }
  return r;
}

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B, int BR,
          index_t C, float Eps>
constexpr void check_conv_bn() {
  static_assert(R == BR, "ctq: fuse_modules: a Conv{1,2,3}d fuses with the BatchNorm of the same dimension");
  static_assert(C == Out, "ctq: fuse_modules: the BatchNorm's num_features differs from the conv's out_channels");
}

}  // namespace detail

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B, int BR,
          index_t C, float Eps>
struct fuser<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::BatchNormNd<BR, C, Eps>> {
  using conv = nn::ConvNd<R, In, Out, K, S, P, D, G, B>;
  using type = nn::ConvNd<R, In, Out, K, S, P, D, G, true>;
  static type apply(const conv& c, const nn::BatchNormNd<BR, C, Eps>& bn) {
    detail::check_conv_bn<R, In, Out, K, S, P, D, G, B, BR, C, Eps>();
    return detail::fold_bn<type>(c, bn, false);
  }
};

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B, int BR,
          index_t C, float Eps>
struct fuser<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::BatchNormNd<BR, C, Eps>, nn::ReLU> {
  using folded = fuser<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::BatchNormNd<BR, C, Eps>>;
  using type = nn::intrinsic::ConvReLU<typename folded::type>;
  static type apply(const typename folded::conv& c, const nn::BatchNormNd<BR, C, Eps>& bn, const nn::ReLU&) {
    type r;
    r.inner = folded::apply(c, bn);
    return r;
  }
};

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B>
struct fuser<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::ReLU> {
  using type = nn::intrinsic::ConvReLU<nn::ConvNd<R, In, Out, K, S, P, D, G, B>>;
  static type apply(const nn::ConvNd<R, In, Out, K, S, P, D, G, B>& c, const nn::ReLU&) {
    type r;
    r.inner = c;
    return r;
  }
};

template <index_t In, index_t Out, bool B>
struct fuser<nn::Linear<In, Out, B>, nn::ReLU> {
  using type = nn::intrinsic::LinearReLU<nn::Linear<In, Out, B>>;
  static type apply(const nn::Linear<In, Out, B>& l, const nn::ReLU&) {
    type r;
    r.inner = l;
    return r;
  }
};

template <index_t In, index_t Out, bool B, index_t C, float Eps>
struct fuser<nn::Linear<In, Out, B>, nn::BatchNormNd<1, C, Eps>> {
  using type = nn::Linear<In, Out, true>;
  static type apply(const nn::Linear<In, Out, B>& l, const nn::BatchNormNd<1, C, Eps>& bn) {
    static_assert(C == Out, "ctq: fuse_modules: the BatchNorm1d's num_features differs from the linear's out_features");
    return detail::fold_bn<type>(l, bn, true);
  }
};

template <int R, index_t C, float Eps>
struct fuser<nn::BatchNormNd<R, C, Eps>, nn::ReLU> {
  static_assert(R >= 2, "ctq: fuse_modules: bn+relu fuses BatchNorm2d and BatchNorm3d (as PyTorch)");
  using type = nn::intrinsic::BNReLU<nn::BatchNormNd<R, C, Eps>>;
  static type apply(const nn::BatchNormNd<R, C, Eps>& bn, const nn::ReLU&) {
    type r;
    r.inner = bn;
    return r;
  }
};

namespace detail {

template <template <class...> class Fuser, class Group, class Model>
struct fused_group;

template <template <class...> class Fuser, fixed_string First, fixed_string... Rest, class Model>
struct fused_group<Fuser, fuse<First, Rest...>, Model> {
  using F = Fuser<nn::module_at_t<Model, First>, nn::module_at_t<Model, Rest>...>;
  typename F::type fused;

  explicit fused_group(Model& m) : fused(F::apply(nn::module_at<First>(m), nn::module_at<Rest>(m)...)) {}

  template <fixed_string Path>
  static constexpr bool is_first = Path.view() == First.view();
  template <fixed_string Path>
  static constexpr bool is_rest = ((Path.view() == Rest.view()) || ...);
};

template <class Group>
struct group_paths;
template <fixed_string... P>
struct group_paths<fuse<P...>> {
  template <fixed_string Path>
  static constexpr int count = ((Path.view() == P.view() ? 1 : 0) + ...);
};

// Every group fused in one rewrite of the model: a leaf that starts a group becomes the fused
// module, a leaf in the rest of a group nn::Identity.
template <template <class...> class Fuser, class Model, class... Groups>
struct fuse_pass {
  std::tuple<fused_group<Fuser, Groups, Model>...> groups;

  explicit fuse_pass(Model& m) : groups(fused_group<Fuser, Groups, Model>(m)...) {}

  template <fixed_string Path, class M>
  auto leaf(M& m) {
    static_assert((group_paths<Groups>::template count<Path> + ...) <= 1,
                  "ctq: fuse_modules: a module is named in more than one group (see 'Path' above)");
    constexpr std::size_t first = index_of_first<Path>(std::index_sequence_for<Groups...>{});
    if constexpr (first < sizeof...(Groups)) {
      return std::move(std::get<first>(groups).fused);
    } else if constexpr ((fused_group<Fuser, Groups, Model>::template is_rest<Path> || ...)) {
      return nn::Identity{};
    } else {
      return std::move(m);
    }
  }

  template <fixed_string Path, std::size_t... I>
  static constexpr std::size_t index_of_first(std::index_sequence<I...>) {
    std::size_t r = sizeof...(Groups);
    ((fused_group<Fuser, Groups, Model>::template is_first<Path> ? (r = I, true) : false) || ...);
    return r;
  }
};

}  // namespace detail

/// The model with each group fused (PyTorch's fuse_modules(model, [[...], ...]) in eval mode).
template <class... Groups, class Model>
auto fuse_modules(Model model) {
  static_assert(sizeof...(Groups) >= 1, "ctq: fuse_modules: name at least one group, fuse<\"conv1\", \"bn1\">");
  detail::fuse_pass<fuser, Model, Groups...> pass(model);
  return detail::rewrite(model, pass);
}

/// How a group fuses for quantization-aware training: conv+bn and conv+bn+relu stay unfolded
/// (nn::intrinsic::ConvBn / ConvBnReLU, which prepare_qat turns into modules that simulate the
/// folding while training); every other group as fuser. Specialise for a custom fusion.
template <class... Ms>
struct qat_fuser : fuser<Ms...> {};
template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B, int BR,
          index_t C, float Eps>
struct qat_fuser<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::BatchNormNd<BR, C, Eps>> {
  using type = nn::intrinsic::ConvBn<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::BatchNormNd<BR, C, Eps>>;
  static type apply(const typename type::conv_type& c, const typename type::bn_type& bn) {
    detail::check_conv_bn<R, In, Out, K, S, P, D, G, B, BR, C, Eps>();
    type r;
    r.conv = c;
    r.bn = bn;
    return r;
  }
};
template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool B, int BR,
          index_t C, float Eps>
struct qat_fuser<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::BatchNormNd<BR, C, Eps>, nn::ReLU> {
  using type = nn::intrinsic::ConvBnReLU<nn::ConvNd<R, In, Out, K, S, P, D, G, B>, nn::BatchNormNd<BR, C, Eps>>;
  static type apply(const typename type::conv_type& c, const typename type::bn_type& bn, const nn::ReLU&) {
    detail::check_conv_bn<R, In, Out, K, S, P, D, G, B, BR, C, Eps>();
    type r;
    r.conv = c;
    r.bn = bn;
    return r;
  }
};

/// The model with each group fused for quantization-aware training (PyTorch's
/// fuse_modules_qat): as fuse_modules, except that conv+bn(+relu) keep the BatchNorm apart.
template <class... Groups, class Model>
auto fuse_modules_qat(Model model) {
  static_assert(sizeof...(Groups) >= 1, "ctq: fuse_modules_qat: name at least one group, fuse<\"conv1\", \"bn1\">");
  detail::fuse_pass<qat_fuser, Model, Groups...> pass(model);
  return detail::rewrite(model, pass);
}

}  // namespace ctq
