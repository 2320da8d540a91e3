// The eager workflow's mechanics on small models: qconfig mappings, quantize(), calibration
// progress, QuantWrapper, a user's own container class template, a custom module mapping,
// state names after fusion, and the runtime errors (empty calibration, shapes).
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/ctq.hpp>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

using namespace ctq;

namespace {

std::vector<Tensor<float, 2>> rows(int batches, index_t n, index_t f, std::uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> normal;
  std::vector<Tensor<float, 2>> out;
  for (int b = 0; b < batches; ++b) {
    Tensor<float, 2> x({n, f});
    for (auto& v : x.values()) v = normal(g);
    out.push_back(std::move(x));
  }
  return out;
}

using MLP =
    nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc1", nn::Linear<8, 16>>, nn::named<"relu", nn::ReLU>,
                   nn::named<"fc2", nn::Linear<16, 4>>, nn::named<"dequant", DeQuantStub>>;

using QC = get_default_qconfig<backend::qnnpack>;

}  // namespace

TEST_CASE("prepare observes what PyTorch observes and convert swaps it; the rest is moved across") {
  MLP net;
  nn::reset_parameters(net, 1);
  auto prepared = prepare<QC>(net);
  using P = decltype(prepared);
  static_assert(std::is_same_v<nn::module_at_t<P, "fc1">, Observed<nn::Linear<8, 16>, QC>>);
  static_assert(std::is_same_v<nn::module_at_t<P, "relu">, nn::ReLU>);  // not observed in PyTorch either
  static_assert(!Observed<DeQuantStub, QC>::observing);                 // marked, not observed
  static_assert(std::is_same_v<nn::module_at_t<P, "dequant">, Observed<DeQuantStub, QC>>);
  calibrate(prepared, rows(2, 4, 8, 1));
  auto q = convert<backend::qnnpack>(prepared);
  using Q = decltype(q);
  static_assert(std::is_same_v<nn::module_at_t<Q, "quant">, nn::quantized::Quantize>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "fc1">, nn::quantized::Linear<8, 16>>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "relu">, nn::quantized::ReLU>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "dequant">, nn::quantized::DeQuantize>);
  static_assert(fully_quantized<Q>);
  static_assert(!fully_quantized<P> && !fully_quantized<MLP>);
  // the float model is untouched (prepare took a copy)
  CHECK(nn::state_dict(net).size() == 4);
}

TEST_CASE("convert raises when an observer saw no data") {
  MLP net;
  auto prepared = prepare<QC>(net);
  CHECK_THROWS_WITH_AS(
      convert<backend::qnnpack>(prepared),
      "ctq: convert: the observer of 'quant' saw no data: run the prepared model on calibration batches first",
      ctq::error);
}

TEST_CASE("QConfigMapping: a layer left in float by name, between a DeQuantStub and a QuantStub") {
  using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc1", nn::Linear<8, 16>>,
                             nn::named<"dequant", DeQuantStub>, nn::named<"fc2", nn::Linear<16, 4>>>;
  using Mapping = QConfigMapping<QC, for_name<"fc2", no_qconfig>>;
  Net net;
  nn::reset_parameters(net, 2);
  const auto data = rows(4, 6, 8, 3);
  auto q = quantize<Mapping, backend::qnnpack>(net, [&](auto& prepared) { calibrate(prepared, data); });
  static_assert(std::is_same_v<nn::module_at_t<decltype(q), "fc2">, nn::Linear<16, 4>>);
  static_assert(!fully_quantized<decltype(q)>);  // fc2 computes in float
  static_assert(std::is_same_v<nn::module_at_t<decltype(q), "fc1">, nn::quantized::Linear<8, 16>>);
  const Tensor<float, 2> y = q(data[0]), y_float = net(data[0]);
  float worst = 0.0f;
  for (index_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_float[i]));
  // one int8 layer: the error is a few quantization steps of fc1's output, far below 0.1
  CHECK(worst < 0.1f);
}

TEST_CASE("QConfigMapping: per type beats the global qconfig, per name beats per type, parents pass theirs down") {
  using Block = nn::Sequential<nn::named<"a", nn::Linear<4, 4>>, nn::named<"b", nn::Linear<4, 4>>>;
  using Net =
      nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"block", Block>, nn::named<"c", nn::Linear<4, 4>>>;
  using Other = default_qconfig;
  using Mapping =
      QConfigMapping<QC, for_type<nn::Linear<4, 4>, Other>, for_name<"block.b", QC>, for_name<"block", no_qconfig>>;
  using P = decltype(prepare<Mapping>(Net{}));
  // "block.a": no entry of its own; its type's entry beats the parent's no_qconfig (PyTorch
  // gives object-type entries to modules of that type wherever they are)
  static_assert(std::is_same_v<nn::module_at_t<P, "block.a">, Observed<nn::Linear<4, 4>, Other>>);
  static_assert(std::is_same_v<nn::module_at_t<P, "block.b">, Observed<nn::Linear<4, 4>, QC>>);
  static_assert(std::is_same_v<nn::module_at_t<P, "c">, Observed<nn::Linear<4, 4>, Other>>);
  static_assert(std::is_same_v<nn::module_at_t<P, "quant">, Observed<QuantStub, QC>>);
  using Mapping2 = QConfigMapping<QC, for_name<"block", no_qconfig>>;
  using P2 = decltype(prepare<Mapping2>(Net{}));
  static_assert(std::is_same_v<nn::module_at_t<P2, "block.a">, nn::Linear<4, 4>>);
  static_assert(std::is_same_v<nn::module_at_t<P2, "c">, Observed<nn::Linear<4, 4>, QC>>);
}

TEST_CASE("calibrate reports progress; QuantWrapper and add_quant_dequant put stubs around a model") {
  using Core = nn::Sequential<nn::Linear<8, 4>, nn::ReLU>;
  Core core;
  nn::reset_parameters(core, 4);
  auto wrapped = add_quant_dequant(core);
  static_assert(std::is_same_v<decltype(wrapped), QuantWrapper<Core>>);
  CHECK(nn::state_dict(wrapped).count("module.0.weight") == 1);
  auto prepared = prepare<QC>(wrapped);
  std::vector<std::pair<std::size_t, std::size_t>> seen;
  calibrate(prepared, rows(3, 2, 8, 5), [&](std::size_t done, std::size_t total) { seen.emplace_back(done, total); });
  CHECK(seen == std::vector<std::pair<std::size_t, std::size_t>>{{1, 3}, {2, 3}, {3, 3}});
  auto q = convert<backend::qnnpack>(prepared);
  const Tensor<float, 2> y = q(rows(1, 2, 8, 6)[0]);
  CHECK(y.dim(1) == 4);
}

namespace {
// A user's container: a class template whose template arguments are its children.
template <class Conv, class BN, class Act>
struct ConvBlock {
  using child_names = nn::names<"conv", "bn", "act">;
  auto children() { return std::tie(conv, bn, act); }
  template <class X>
  auto operator()(const X& x) {
    return act(bn(conv(x)));
  }
  Conv conv;
  BN bn;
  Act act;
};
}  // namespace

TEST_CASE("a user's class template is rebound by fuse_modules, prepare and convert like Sequential") {
  using Net = nn::Sequential<nn::named<"quant", QuantStub>,
                             nn::named<"block", ConvBlock<nn::Conv2d<2, 4, 3, 1, 1>, nn::BatchNorm2d<4>, nn::ReLU>>,
                             nn::named<"dequant", DeQuantStub>>;
  Net net;
  nn::reset_parameters(net, 7);
  auto fused = fuse_modules<fuse<"block.conv", "block.bn", "block.act">>(net);
  using F = decltype(fused);
  static_assert(std::is_same_v<nn::module_at_t<F, "block.conv">, nn::intrinsic::ConvReLU<nn::Conv2d<2, 4, 3, 1, 1>>>);
  static_assert(std::is_same_v<nn::module_at_t<F, "block.bn">, nn::Identity>);
  // PyTorch's state names for a fused module: child 0 is the conv
  const auto names = nn::state_dict(fused);
  CHECK(names.count("block.conv.0.weight") == 1);
  CHECK(names.count("block.conv.0.bias") == 1);
  CHECK(names.size() == 2);
  Tensor<float, 4> x({1, 5, 5, 2});
  for (index_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.3f * static_cast<float>(i));
  auto prepared = prepare<QC>(fused);
  prepared(x);
  auto q = convert<backend::qnnpack>(prepared);
  static_assert(
      std::is_same_v<nn::module_at_t<decltype(q), "block.conv">, nn::intrinsic::quantized::ConvReLU2d<2, 4, 3, 1, 1>>);
  const Tensor<float, 4> y = q(x), y_float = net(x);
  float worst = 0.0f;
  for (index_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_float[i]));
  CHECK(worst < 0.05f);  // a few output steps of one int8 conv
}

namespace {
// A custom module and its quantized counterpart (PyTorch's custom module API): the user
// specialises observes_output and quantized_module.
struct Scale2 : ctq::detail::rejects_quantized {
  using ctq::detail::rejects_quantized::operator();
  template <int R>
  Tensor<float, R> operator()(const Tensor<float, R>& x) const {
    Tensor<float, R> y(x.shape());
    y.array() = 2.0f * x.array();
    return y;
  }
};
struct QuantizedScale2 : ctq::detail::rejects_float {
  using ctq::detail::rejects_float::operator();
  PerTensorQParams out;
  template <int R>
  nn::quantized::QActivation<R> operator()(const nn::quantized::QActivation<R>& x) const {
    Tensor<float, R> f = dequantize(x);
    f.array() *= 2.0f;
    return quantize<dtype::quint8>(f, out);
  }
};
}  // namespace

template <>
struct ctq::observes_output<Scale2> : std::true_type {};
template <>
struct ctq::quantized_module<Scale2> {
  using type = QuantizedScale2;
  static constexpr bool needs_qconfig = true;
  template <class>
  static type convert(const Scale2&, const ConvertInfo& info) {
    return {{}, info.output};
  }
};

TEST_CASE("a custom module mapping: float -> observed -> quantized") {
  using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"s", Scale2>, nn::named<"dequant", DeQuantStub>>;
  auto prepared = prepare<QC>(Net{});
  static_assert(std::is_same_v<nn::module_at_t<decltype(prepared), "s">, Observed<Scale2, QC>>);
  Tensor<float, 2> x({1, 4}, {-1.0f, 0.0f, 0.5f, 1.0f});
  prepared(x);
  auto q = convert<backend::qnnpack>(prepared);
  static_assert(std::is_same_v<nn::module_at_t<decltype(q), "s">, QuantizedScale2>);
  const Tensor<float, 2> y = q(x);
  // the observer saw [-2, 2]: steps of 4/255; every output within half a step of 2x, plus the
  // input's own half step doubled
  for (index_t i = 0; i < 4; ++i) CHECK(std::abs(y[i] - 2.0f * x[i]) <= 4.0f / 255.0f * 1.5f);
}

TEST_CASE("a BatchNorm1d left unfused is caught: the converted model is not fully int8") {
  // (BatchNorm2d/3d have int8 modules, as in PyTorch; BatchNorm1d stays float there too)
  using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 4>>,
                             nn::named<"bn", nn::BatchNorm1d<4>>, nn::named<"dequant", DeQuantStub>>;
  using Unfused = decltype(convert<backend::qnnpack>(prepare<QC>(Net{})));
  static_assert(std::is_same_v<nn::module_at_t<Unfused, "bn">, nn::BatchNorm1d<4>>);
  static_assert(!fully_quantized<Unfused>);
  using Fused = decltype(convert<backend::qnnpack>(prepare<QC>(fuse_modules<fuse<"fc", "bn">>(Net{}))));
  static_assert(fully_quantized<Fused>);
}

TEST_CASE("NaN in calibration data is an error naming the observer") {
  MLP net;
  auto prepared = prepare<QC>(net);
  Tensor<float, 2> x({1, 8});
  x[3] = std::numeric_limits<float>::quiet_NaN();
  try {
    prepared(x);
    FAIL("no error for NaN calibration data");
  } catch (const ctq::error& e) {
    const std::string what = e.what();
    CHECK(what.find("HistogramObserver") != std::string::npos);
    CHECK(what.find("NaN") != std::string::npos);
  }
}

TEST_CASE("wrong shapes at run time are clear errors") {
  nn::Linear<8, 4> fc;
  CHECK_THROWS_WITH_AS(fc(Tensor<float, 2>({2, 7})),
                       "ctq: nn::Linear: the input's last dimension is 7, the layer has in_features 8", ctq::error);
  nn::Conv2d<3, 4, 3> conv;
  CHECK_THROWS_WITH_AS(conv(Tensor<float, 4>({1, 5, 5, 2})),
                       "ctq: nn::Conv2d: the input has 2 channels (last dimension), the layer has in_channels 3",
                       ctq::error);
  CHECK_THROWS_AS(conv(Tensor<float, 4>({1, 2, 2, 3})), ctq::error);  // smaller than the kernel
  nn::FloatFunctional f;
  CHECK_THROWS_WITH_AS(f.add(Tensor<float, 2>({1, 2}), Tensor<float, 2>({2, 1})),
                       "ctq: FloatFunctional::add: the operands' shapes differ (no broadcasting)", ctq::error);
}
