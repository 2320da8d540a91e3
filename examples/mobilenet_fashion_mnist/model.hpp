// A MobileNetV2-style network for Fashion-MNIST ([N, 28, 28, 1] in, 10 logits out) as one static
// ctq type, written like torchvision's quantizable MobileNetV2 (ConvBNReLU units, inverted
// residual blocks with expansion, depthwise 3x3 convolutions, residual adds through
// FloatFunctional, QuantStub/DeQuantStub), scaled down to 28x28 images; and its fusion groups,
// made from dotted paths at compile time.
#pragma once

#include <ctq/ctq.hpp>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mobilenet_fashion_mnist {

using namespace ctq;

// Conv (no bias) + BatchNorm + ReLU, named "0", "1", "2" as torchvision's ConvBNReLU. ReLU, not
// ReLU6: conv+bn+relu fuses into one int8 ConvReLU2d (torchvision's quantizable model does the same).
template <index_t In, index_t Out, index_t K, index_t S, index_t G = 1>
using ConvBNReLU = nn::Sequential<nn::named<"0", nn::Conv2d<In, Out, K, S, (K - 1) / 2, 1, G, false>>,
                                  nn::named<"1", nn::BatchNorm2d<Out>>, nn::named<"2", nn::ReLU>>;

// An inverted-residual block's body: [expand 1x1 ConvBNReLU,] depthwise 3x3 ConvBNReLU (stride S),
// project 1x1 conv + BatchNorm (linear bottleneck: no ReLU).
template <index_t In, index_t Out, index_t S, index_t T>
struct body {
  static constexpr index_t H = In * T;
  using type = std::conditional_t<
      T == 1, nn::Sequential<ConvBNReLU<H, H, 3, S, H>, nn::Conv2d<H, Out, 1, 1, 0, 1, 1, false>, nn::BatchNorm2d<Out>>,
      nn::Sequential<ConvBNReLU<In, H, 1, 1>, ConvBNReLU<H, H, 3, S, H>, nn::Conv2d<H, Out, 1, 1, 0, 1, 1, false>,
                     nn::BatchNorm2d<Out>>>;
};

// (in channels, out channels, stride, expansion) of one block; x + body(x) when the shapes allow.
template <index_t In, index_t Out, index_t S, index_t T>
struct spec {
  static constexpr index_t in_channels = In, out_channels = Out;
  static constexpr bool residual = S == 1 && In == Out;
  static constexpr bool expands = T != 1;
  using type = std::conditional_t<residual, nn::Residual<typename body<In, Out, S, T>::type>,
                                  typename body<In, Out, S, T>::type>;
};

// The architecture: 28x28 -> stem (stride 2) 14x14 -> 7x7 -> 4x4, five blocks (expansion 4 after
// the first), three of them residual. Narrow on purpose: ctq's float depthwise convolution runs one
// small GEMM per image and channel, so the depthwise layers set the training time.
inline constexpr index_t stem_channels = 16, stem_stride = 2, head_channels = 128;
using Blocks = std::tuple<spec<16, 16, 1, 1>,                       // 14x14
                          spec<16, 24, 2, 4>, spec<24, 24, 1, 4>,   // 7x7
                          spec<24, 32, 2, 4>, spec<32, 32, 1, 4>>;  // 4x4
inline constexpr std::size_t block_count = std::tuple_size_v<Blocks>;
inline constexpr index_t last_channels = std::tuple_element_t<block_count - 1, Blocks>::out_channels;

template <class Seq>
struct features_of;
template <std::size_t... I>
struct features_of<std::index_sequence<I...>> {
  static_assert(std::tuple_element_t<0, Blocks>::in_channels == stem_channels);
  using type =
      nn::Sequential<ConvBNReLU<1, stem_channels, 3, stem_stride>, typename std::tuple_element_t<I, Blocks>::type...,
                     ConvBNReLU<last_channels, head_channels, 1, 1>>;
};
// "features.0" the stem, "features.1" .. "features.<block_count>" the blocks, then the head conv.
using Features = typename features_of<std::make_index_sequence<block_count>>::type;

// The float model; its state_dict names are torchvision's ("features.3.body.1.0.weight",
// "classifier.1.bias", ...; a residual block's layers are under "body").
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"features", Features>,
                           nn::named<"pool", nn::AdaptiveAvgPool2d<1, 1>>, nn::named<"flatten", nn::Flatten>,
                           nn::named<"classifier", nn::Sequential<nn::Dropout<0.2f>, nn::Linear<head_channels, 10>>>,
                           nn::named<"dequant", DeQuantStub>>;

// --- the fusion groups, built as dotted paths at compile time ----------------------------------
template <fixed_string A, fixed_string B>
constexpr auto cat = ctq::detail::join_path<A, B>();

template <fixed_string Unit>  // a ConvBNReLU at Unit: conv "0", bn "1", relu "2"
using fuse_cbr = fuse<cat<Unit, "0">, cat<Unit, "1">, cat<Unit, "2">>;

// the path of block B's body (features child B + 1; under "body" when it is a Residual)
template <std::size_t B>
constexpr auto body_path() {
  constexpr auto block = cat<"features", ctq::detail::index_name<B + 1>()>;
  if constexpr (std::tuple_element_t<B, Blocks>::residual)
    return cat<block, "body">;
  else
    return block;
}

// block B's groups: [expand ConvBNReLU,] depthwise ConvBNReLU, project conv + bn
template <std::size_t B>
auto block_groups() {
  using S = std::tuple_element_t<B, Blocks>;
  constexpr auto p = body_path<B>();
  constexpr std::size_t dw = S::expands ? 1 : 0;
  using project = fuse<cat<p, ctq::detail::index_name<dw + 1>()>, cat<p, ctq::detail::index_name<dw + 2>()>>;
  if constexpr (S::expands)
    return std::tuple<fuse_cbr<cat<p, "0">>, fuse_cbr<cat<p, ctq::detail::index_name<dw>()>>, project>{};
  else
    return std::tuple<fuse_cbr<cat<p, ctq::detail::index_name<dw>()>>, project>{};
}

template <class Seq>
struct all_groups;
template <std::size_t... B>
struct all_groups<std::index_sequence<B...>> {
  using type = decltype(std::tuple_cat(
      std::tuple<fuse_cbr<"features.0">, fuse_cbr<cat<"features", ctq::detail::index_name<block_count + 1>()>>>{},
      block_groups<B>()...));
};
using FuseGroups = typename all_groups<std::make_index_sequence<block_count>>::type;

template <class Groups>
struct fuse_all;
template <class... G>
struct fuse_all<std::tuple<G...>> {
  static auto run(const Net& net) { return fuse_modules<G...>(net); }
  static auto run_qat(const Net& net) { return fuse_modules_qat<G...>(net); }
};

/// The model with every conv+bn(+relu) fused (PyTorch's fuse_modules in evaluation mode: BatchNorm
/// folded into the conv with its running statistics). Call nn::eval(net) first.
inline auto fuse_model(const Net& net) { return fuse_all<FuseGroups>::run(net); }

/// The same groups fused for quantization-aware training (PyTorch's fuse_modules_qat): conv+bn
/// (+relu) kept unfolded for prepare_qat, which simulates the folding while training.
inline auto fuse_model_qat(const Net& net) { return fuse_all<FuseGroups>::run_qat(net); }

}  // namespace mobilenet_fashion_mnist
