// Float pooling modules against PyTorch 1.13 (tests/data/pooling_reference.json, written by
// tools/reference/gen_pooling.py), and the quantized 1-d pooling modules convert maps them to.
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/ctq.hpp>
#include <string>
#include <tuple>

#include "../support/reference.hpp"

using namespace ctq;

namespace {

// The module of each reference case, in the generator's order.
using Cases =
    std::tuple<nn::MaxPool2d<2, 2, 0, 1, false>, nn::MaxPool2d<3, 2, 1, 1, false>, nn::MaxPool2d<3, 2, 1, 1, true>,
               nn::MaxPool2d<2, 1, 0, 2, false>, nn::AvgPool2d<2, 2, 0, false, true>,
               nn::AvgPool2d<3, 2, 1, false, true>, nn::AvgPool2d<3, 2, 1, true, false>,
               nn::AvgPool2d<3, 1, 1, false, false>, nn::AdaptiveAvgPool2d<1, 1>, nn::AdaptiveAvgPool2d<3, 2>,
               nn::MaxPool1d<3, 2, 1, 1, false>, nn::MaxPool1d<2, 1, 0, 2, true>, nn::AvgPool1d<3, 2, 1, true, true>,
               nn::AvgPool1d<2, 2, 1, false, false>, nn::AdaptiveAvgPool1d<3>>;

// The case's parameters must be the module's: a mismatch would test the wrong thing.
template <class M>
void check_params(const nlohmann::json& p) {
  if constexpr (requires { M::output_h; }) {
    CHECK(p["oh"].get<index_t>() == M::output_h);
    CHECK(p["ow"].get<index_t>() == M::output_w);
  } else if constexpr (requires { M::output_size; }) {
    CHECK(p["o"].get<index_t>() == M::output_size);
  } else {
    CHECK(p["k"].get<index_t>() == M::kernel_size);
    CHECK(p["s"].get<index_t>() == M::stride);
    CHECK(p["p"].get<index_t>() == M::padding);
    CHECK(p["ceil"].get<bool>() == M::ceil_mode);
    if constexpr (requires { M::dilation; }) CHECK(p["d"].get<index_t>() == M::dilation);
    if constexpr (requires { M::count_include_pad; }) CHECK(p["cip"].get<bool>() == M::count_include_pad);
  }
}

template <class M, int R>
void run_case(const nlohmann::json& c) {
  check_params<M>(c["params"]);
  const auto x = ctq_test::make_tensor<R>(c["x"]["shape"], ctq_test::floats_b64(c["x"]["b64"].get<std::string>()));
  const auto expected = ctq_test::floats_b64(c["y"]["b64"].get<std::string>());
  const Tensor<float, R> y = M{}(x);
  for (int d = 0; d < R; ++d) CHECK(y.dim(d) == c["y"]["shape"][static_cast<std::size_t>(d)].get<index_t>());
  // max pooling selects values: bitwise; averages: PyTorch sums the window in another order and
  // may divide differently (1/n multiplications), so 2 ulp of the largest |value| (~4) is allowed
  const bool exact = c["op"] == "max";
  float worst = 0.0f;
  REQUIRE(static_cast<std::size_t>(y.size()) == expected.size());
  for (index_t i = 0; i < y.size(); ++i)
    worst = std::max(worst, std::abs(y[i] - expected[static_cast<std::size_t>(i)]));
  if (exact) {
    ctq_test::check_bits(expected, y.data(), expected.size(), std::string(M::name));
  } else {
    CHECK_MESSAGE(worst <= 4.0f * 0x1p-22f, M::name << ": max |ctq - PyTorch| = " << worst);
  }
}

}  // namespace

TEST_CASE("float pooling, 1-d and 2-d, against PyTorch") {
  const auto ref = ctq_test::load_reference("pooling_reference.json");
  const auto& cases = ref["cases"];
  REQUIRE(cases.size() == std::tuple_size_v<Cases>);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using M = std::tuple_element_t<I, Cases>;
          const auto& c = cases[I];
          INFO("case " << I << " (" << M::name << ")");
          if constexpr (requires(M m, const Tensor<float, 4>& t) { m(t); }) {
            CHECK(c["dims"] == 2);
            run_case<M, 4>(c);
          } else {
            CHECK(c["dims"] == 1);
            run_case<M, 3>(c);
          }
        }(),
        ...);
  }
  (std::make_index_sequence<std::tuple_size_v<Cases>>{});
}

TEST_CASE("quantized 1-d pooling: max pooling selects codes; convert maps the float modules") {
  using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"max", nn::MaxPool1d<3, 2, 1>>,
                             nn::named<"avg", nn::AvgPool1d<2>>, nn::named<"ada", nn::AdaptiveAvgPool1d<2>>,
                             nn::named<"dequant", DeQuantStub>>;
  Tensor<float, 3> x({2, 9, 3});
  for (index_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * static_cast<float>(i)) * 2.0f;
  // min/max calibration (the histogram observer would clip this input's crowded extremes)
  auto prepared = prepare<QConfig<MinMaxObserver<>, default_weight_observer>>(Net{});
  prepared(x);
  auto q = convert<backend::qnnpack>(prepared);
  static_assert(std::is_same_v<nn::module_at_t<decltype(q), "max">, nn::quantized::MaxPool1d<3, 2, 1>>);
  static_assert(fully_quantized<decltype(q)>);
  const auto qx = nn::module_at<"quant">(q)(x);
  const auto qy = nn::module_at<"max">(q)(qx);
  // quantization is monotonic with the same parameters in and out: the max of the codes is the
  // code of the max, so dequantize(max_pool(q)) == max_pool(dequantize(q)) exactly
  const Tensor<float, 3> a = dequantize(qy), b = nn::MaxPool1d<3, 2, 1>{}(Tensor<float, 3>(dequantize(qx)));
  CHECK(a == b);
  const Tensor<float, 3> y = q(x), y_float = Net{}(x);
  REQUIRE(y.shape() == y_float.shape());
  float worst = 0.0f;
  for (index_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_float[i]));
  // the input's quantization (step 4/255: range [-2, 2]) and the rounding of each average: 2 steps
  CHECK(worst <= 2.0f * 4.0f / 255.0f);
}
