// A network of MobileNetV2's depth as one static type: the stem, the 17 inverted-residual blocks
// of MobileNetV2 (expansion 6, channels 16 to 320, 10 of them residual), the 1x1 head conv and the
// classifier, written like torchvision's quantizable MobileNetV2 (ConvBNReLU units, residual adds
// through FloatFunctional). The test builds the float model, fuses all 52 conv+bn(+relu) groups
// by dotted path, prepares it, calibrates, converts it for this CPU's default backend and checks
// the int8 model against the float one. Its compile time is what the build-time target measures.
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/ctq.hpp>
#include <random>

using namespace ctq;

namespace {

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

auto fuse_mobilenet(MobileNetV2 net) {
  return fuse_all<typename all_groups<std::make_index_sequence<17>>::type>::run(std::move(net));
}

}  // namespace

TEST_CASE("MobileNetV2-depth network: fuse, prepare, calibrate, convert and run as static types") {
  MobileNetV2 net;
  nn::reset_parameters(net, 5);
  auto fused = fuse_mobilenet(net);
  // every conv+bn(+relu) folded: no BatchNorm state is left
  int bn_left = 0, convs = 0;
  nn::visit_state(fused, [&](const std::string& key, auto&) {
    bn_left += key.ends_with("running_mean");
    convs += key.ends_with("weight");
  });
  CHECK(bn_left == 0);
  CHECK(convs == 1 + 17 * 3 - 1 + 1 + 1);  // stem, 3 convs per block (2 in the first), head, classifier

  std::mt19937 g(1);
  std::normal_distribution<float> normal;
  Tensor<float, 4> x({2, 32, 32, 3});
  for (auto& v : x.values()) v = normal(g);
  const Tensor<float, 2> y_float = net(x);
  const Tensor<float, 2> y_fused = fused(x);
  float fold = 0.0f;
  for (index_t i = 0; i < y_float.size(); ++i) fold = std::max(fold, std::abs(y_float[i] - y_fused[i]));
  CHECK(fold < 1e-4f);  // BatchNorm folding changes only float rounding

  auto prepared = prepare<get_default_qconfig<default_backend>>(fused);
  for (int b = 0; b < 2; ++b) {
    Tensor<float, 4> c({2, 32, 32, 3});
    for (auto& v : c.values()) v = normal(g);
    prepared(c);
  }
  prepared(x);
  auto q = convert(prepared);
  const Tensor<float, 2> y = q(x);
  REQUIRE(y.shape() == y_float.shape());
  double err = 0.0, ref = 0.0;
  for (index_t i = 0; i < y.size(); ++i) {
    err += (y[i] - y_float[i]) * (y[i] - y_float[i]);
    ref += y_float[i] * y_float[i];
  }
  const double sqnr = 10.0 * std::log10(ref / std::max(err, 1e-30));
  MESSAGE("MobileNetV2-depth int8 vs float: SQNR " << sqnr << " dB over " << y.size() << " outputs");
  // 54 quantized layers calibrated on 3 random batches: a broken layer gives ~0 dB
  CHECK(sqnr > 15.0);
}
