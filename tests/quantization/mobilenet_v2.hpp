// MobileNetV2 as one static ctq type, written like torchvision's quantizable MobileNetV2
// (ConvBNReLU units, residual adds through FloatFunctional): the stem, the 17 inverted-residual
// blocks (expansion 6, channels 16 to 320, 10 of them residual), the 1x1 head conv and the
// classifier; and its 52 fusion groups, made from dotted paths at compile time. Shared by
// tests/quantization/test_mobilenet_v2.cpp and benchmarks/bench_network.cpp.
#pragma once

#include <ctq/ctq.hpp>
#include <tuple>
#include <type_traits>
#include <utility>

namespace ctq_models {

using namespace ctq;

template <index_t In, index_t Out, index_t K, index_t S, index_t G = 1>
using ConvBNReLU = nn::Sequential<nn::named<"0", nn::Conv2d<In, Out, K, S, (K - 1) / 2, 1, G, false>>,
                                  nn::named<"1", nn::BatchNorm2d<Out>>, nn::named<"2", nn::ReLU>>;

// The block's body: [expand 1x1 ConvBNReLU,] depthwise 3x3 ConvBNReLU, project 1x1 conv, BN.
template <index_t In, index_t Out, index_t S, index_t T>
struct body {
  static constexpr index_t H = In * T;
  using type = std::conditional_t<
      T == 1, nn::Sequential<ConvBNReLU<H, H, 3, S, H>, nn::Conv2d<H, Out, 1, 1, 0, 1, 1, false>, nn::BatchNorm2d<Out>>,
      nn::Sequential<ConvBNReLU<In, H, 1, 1>, ConvBNReLU<H, H, 3, S, H>, nn::Conv2d<H, Out, 1, 1, 0, 1, 1, false>,
                     nn::BatchNorm2d<Out>>>;
};

template <index_t In, index_t Out, index_t S, index_t T>
struct inverted_residual {
  static constexpr bool residual = S == 1 && In == Out;
  static constexpr bool expands = T != 1;
  using type = std::conditional_t<residual, nn::Residual<typename body<In, Out, S, T>::type>,
                                  typename body<In, Out, S, T>::type>;
};

// (in, out, stride, expansion) of MobileNetV2's 17 blocks
template <index_t In, index_t Out, index_t S, index_t T>
struct spec {
  using ir = inverted_residual<In, Out, S, T>;
};
using Blocks =
    std::tuple<spec<32, 16, 1, 1>, spec<16, 24, 2, 6>, spec<24, 24, 1, 6>, spec<24, 32, 2, 6>, spec<32, 32, 1, 6>,
               spec<32, 32, 1, 6>, spec<32, 64, 2, 6>, spec<64, 64, 1, 6>, spec<64, 64, 1, 6>, spec<64, 64, 1, 6>,
               spec<64, 96, 1, 6>, spec<96, 96, 1, 6>, spec<96, 96, 1, 6>, spec<96, 160, 2, 6>, spec<160, 160, 1, 6>,
               spec<160, 160, 1, 6>, spec<160, 320, 1, 6>>;
static_assert(std::tuple_size_v<Blocks> == 17);

template <class Seq>
struct features_of;
template <std::size_t... I>
struct features_of<std::index_sequence<I...>> {
  using type = nn::Sequential<ConvBNReLU<3, 32, 3, 2>, typename std::tuple_element_t<I, Blocks>::ir::type...,
                              ConvBNReLU<320, 1280, 1, 1>>;
};
using Features = typename features_of<std::make_index_sequence<17>>::type;

using MobileNetV2 = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"features", Features>,
                                   nn::named<"pool", nn::AdaptiveAvgPool2d<1, 1>>, nn::named<"flatten", nn::Flatten>,
                                   nn::named<"classifier", nn::Linear<1280, 1000>>, nn::named<"dequant", DeQuantStub>>;

// --- the fuse groups, built as dotted paths at compile time ------------------------------------
template <fixed_string A, fixed_string B>
constexpr auto cat = ctq::detail::join_path<A, B>();

template <fixed_string Unit>  // a ConvBNReLU at Unit: conv "0", bn "1", relu "2"
using fuse_cbr = fuse<cat<Unit, "0">, cat<Unit, "1">, cat<Unit, "2">>;

// the features child index of block b (0 is the stem)
template <std::size_t B>
constexpr auto block_path = cat<"features", ctq::detail::index_name<B + 1>()>;

template <std::size_t B, class IR = typename std::tuple_element_t<B, Blocks>::ir>
constexpr auto body_path() {
  if constexpr (IR::residual)
    return cat<block_path<B>, "body">;
  else
    return block_path<B>;
}

// the fuse groups of block B, as a std::tuple type
template <std::size_t B>
auto block_groups() {
  using IR = typename std::tuple_element_t<B, Blocks>::ir;
  constexpr auto p = body_path<B>();
  constexpr std::size_t first = IR::expands ? 1 : 0;  // the depthwise unit
  constexpr auto dw = cat<p, ctq::detail::index_name<first>()>;
  using project = fuse<cat<p, ctq::detail::index_name<first + 1>()>, cat<p, ctq::detail::index_name<first + 2>()>>;
  if constexpr (IR::expands)
    return std::tuple<fuse_cbr<cat<p, "0">>, fuse_cbr<dw>, project>{};
  else
    return std::tuple<fuse_cbr<dw>, project>{};
}

template <class Seq>
struct all_groups;
template <std::size_t... B>
struct all_groups<std::index_sequence<B...>> {
  using type =
      decltype(std::tuple_cat(std::tuple<fuse_cbr<"features.0">, fuse_cbr<"features.18">>{}, block_groups<B>()...));
};

template <class Groups>
struct fuse_all;
template <class... G>
struct fuse_all<std::tuple<G...>> {
  static_assert(sizeof...(G) == 52);
  static auto run(MobileNetV2 net) { return fuse_modules<G...>(std::move(net)); }
};

inline auto fuse_mobilenet(MobileNetV2 net) {
  return fuse_all<typename all_groups<std::make_index_sequence<17>>::type>::run(std::move(net));
}

}  // namespace ctq_models
