// Quant modules (tensor_quant/quant_modules.hpp) against tests/data/quant_modules_reference.json,
// written by tools/reference/gen_quant_modules.py (a transcription of NVIDIA pytorch_quantization's
// Quant modules on PyTorch 1.13), and the replace pass, the calibration helpers and the state.
//
// Tolerance of a Linear / conv output. The fake-quantized operands xq, wq and the amax values are
// compared bitwise (same formula, no sums). An output is the sum of n = K + 1 terms (K products
// and the bias), which ctq (Eigen) and PyTorch add in different orders; each is within
// gamma_n * S of the exact sum, S = sum |xq_i wq_i| + |b|, gamma_n = n u / (1 - n u), u = 2^-24
// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1; an FMA only lowers the error), so
// |ctq - torch| <= 2 gamma_n S. S is computed with the float module on |xq|, |wq|, |b| and
// raised by 0.1% (a sum of non-negative terms is within gamma_n relative of exact).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ctq/nn.hpp>
#include <ctq/tensor_quant.hpp>
#include <ctq/tensor_quant/quant_modules.hpp>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

using json = nlohmann::json;
using namespace ctq;
using quant_nn::QuantAdaptiveAvgPool2d;
using quant_nn::QuantConv2d;
using quant_nn::QuantLinear;
using quant_nn::QuantMaxPool2d;

// A user's module and its Quant counterpart, mapped through the quant_module trait.
namespace user {
struct Gain : ctq::detail::rejects_quantized {
  static constexpr std::string_view name = "Gain";
  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 2> operator()(const Tensor<float, 2>& x) const {
    Tensor<float, 2> y(x.shape());
    for (index_t i = 0; i < x.size(); ++i) y[i] = gain[0] * x[i];
    return y;
  }
  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"gain"}, gain);
  }
  Tensor<float, 1> gain{Shape<1>{1}, {2.0f}};
};
template <QuantDescriptor Input>
struct QuantGain : quant_nn::QuantInputMixin<QuantGain<Input>, Gain, Input> {
  static constexpr std::string_view name = "QuantGain";
};
}  // namespace user

template <>
struct ctq::quant_nn::quant_module<user::Gain> {
  template <QuantModulesConfig C>
  using type = user::QuantGain<C.input>;
};

namespace {

const json& cases() {
  static const json data = ctq_test::load_reference("quant_modules_reference.json");
  return data.at("cases");
}

const json& find_case(const std::string& name) {
  for (const auto& c : cases()) {
    if (c.at("name") == name) return c;
  }
  throw std::runtime_error("no reference case " + name);
}

template <int R>
Tensor<float, R> tensor_of(const json& j) {
  const auto& shape = j.at("shape");
  REQUIRE(static_cast<int>(shape.size()) == R);
  Shape<R> s{};
  for (int d = 0; d < R; ++d) s[static_cast<std::size_t>(d)] = shape[static_cast<std::size_t>(d)].get<index_t>();
  const auto v = ctq_test::floats_b64(j.at("data").get<std::string>());
  return Tensor<float, R>(s, std::span<const float>(v));
}

template <int R>
void check_bitwise(const Tensor<float, R>& got, const Tensor<float, R>& want, const std::string& what) {
  REQUIRE(got.shape() == want.shape());
  int wrong = 0;
  for (index_t i = 0; i < got.size(); ++i) wrong += ctq_test::same_float(got[i], want[i]) ? 0 : 1;
  CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " of " << got.size() << " values differ");
}

double gamma_n(index_t n) {
  const double nu = static_cast<double>(n) * std::ldexp(1.0, -24);
  return nu / (1.0 - nu);
}

template <class T>
T abs_of(T t) {
  for (auto& v : t.values()) v = std::fabs(v);
  return t;
}

// |got - want| <= 2 gamma_n * S elementwise (see the file comment); returns the largest
// |got - want| / bound seen.
template <int R>
double check_sum_bound(const Tensor<float, R>& got, const Tensor<float, R>& want, const Tensor<float, R>& abs_sum,
                       index_t n, const std::string& what) {
  REQUIRE(got.shape() == want.shape());
  REQUIRE(abs_sum.shape() == want.shape());
  double worst = 0.0;
  int outside = 0;
  for (index_t i = 0; i < got.size(); ++i) {
    const double bound = 2.0 * gamma_n(n) * 1.001 * static_cast<double>(abs_sum[i]);
    const double diff = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    if (diff > bound) ++outside;
    if (bound > 0.0) worst = std::max(worst, diff / bound);
  }
  CHECK_MESSAGE(outside == 0, what << ": " << outside << " outputs outside 2 gamma_" << n << " S");
  MESSAGE(what << ": largest |ctq - torch| / bound = " << worst);
  return worst;
}

// S for a Quant module m on input x: its float module on |xq| with |wq| and |b|.
template <class Q, int R>
auto abs_sum_of(Q& m, const Tensor<float, R>& x) {
  typename Q::float_module f = static_cast<const typename Q::float_module&>(m);
  f.weight = abs_of(m.weight_quantizer()(m.weight));
  f.bias = abs_of(f.bias);
  return f(abs_of(m.input_quantizer()(x)));
}

// One single-layer reference case: weights, calibration (if any), operands, output.
template <class Q, int XR, int WR>
void run_layer_case(const std::string& name, index_t terms) {
  const json& c = find_case(name);
  Q m;
  m.weight = tensor_of<WR>(c.at("weight"));
  if (!c.at("bias").is_null()) m.bias = tensor_of<1>(c.at("bias"));
  if (!c.at("calib").empty()) {
    enable_calibration(m);
    for (const auto& b : c.at("calib")) (void)m(tensor_of<XR>(b));
    load_calib_amax(m);
    disable_calibration(m);
    const auto in_amax = tensor_of<0>(c.at("input_amax"));
    const auto w_amax = tensor_of<WR>(c.at("weight_amax"));
    REQUIRE(m.input_quantizer().amax().values.size() == 1);
    CHECK(ctq_test::same_float(m.input_quantizer().amax().values[0], in_amax[0]));
    const AmaxData& wa = m.weight_quantizer().amax();
    CHECK(wa.shape == std::vector<index_t>(w_amax.shape().begin(), w_amax.shape().end()));
    CHECK(wa.values == std::vector<float>(w_amax.values().begin(), w_amax.values().end()));
  } else {
    CHECK(m.input_quantizer().amax().empty());  // dynamic: max |x| of each input
    CHECK(m.weight_quantizer().amax().empty());
  }
  const auto x = tensor_of<XR>(c.at("x"));
  check_bitwise(m.input_quantizer()(x), tensor_of<XR>(c.at("xq")), name + " input fake quant");
  check_bitwise(m.weight_quantizer()(m.weight), tensor_of<WR>(c.at("wq")), name + " weight fake quant");
  const auto y = m(x);
  check_sum_bound(y, tensor_of<XR>(c.at("y")), abs_sum_of(m, x), terms, name);
}

}  // namespace

TEST_CASE("QuantLinear matches NVIDIA's on dynamic and calibrated amax, rank 2 and 3, with and without bias") {
  run_layer_case<QuantLinear<7, 5>, 2, 2>("linear_dynamic", 7 + 1);
  run_layer_case<QuantLinear<7, 5>, 3, 2>("linear_calibrated_rank3", 7 + 1);
  run_layer_case<QuantLinear<9, 6, false>, 2, 2>("linear_no_bias", 9 + 1);
}

TEST_CASE("QuantConv2d and QuantConvTranspose2d match NVIDIA's (per-channel weight amax on axis 0)") {
  // n = In / G * k * k + 1
  run_layer_case<QuantConv2d<3, 4, 3, 1, 1>, 4, 4>("conv2d_dynamic", 3 * 9 + 1);
  run_layer_case<QuantConv2d<4, 6, 3, 2, 1, 1, 2, false>, 4, 4>("conv2d_grouped_calibrated", 2 * 9 + 1);
  // each output of a transposed conv sums at most In * k * k products (fewer where taps miss)
  run_layer_case<quant_nn::QuantConvTranspose2d<4, 3, 3, 2, 1, 1>, 4, 4>("conv_transpose2d_dynamic", 4 * 9 + 1);
}

namespace {

using QNet = nn::Sequential<QuantConv2d<2, 4, 3, 1, 1>, nn::ReLU, QuantMaxPool2d<2>, QuantAdaptiveAvgPool2d<2>,
                            nn::Flatten, QuantLinear<16, 3>>;

nn::StateTensor state_of(const json& j) {
  nn::StateTensor s;
  for (const auto& d : j.at("shape")) s.shape.push_back(d.get<index_t>());
  s.values = ctq_test::floats_b64(j.at("data").get<std::string>());
  return s;
}

// The reference's weights, and its calibrated amax by NVIDIA's state names when with_amax.
nn::StateDict net_state(const json& c, bool with_amax) {
  nn::StateDict d;
  d["0.weight"] = state_of(c.at("conv_weight"));
  d["0.bias"] = state_of(c.at("conv_bias"));
  d["5.weight"] = state_of(c.at("fc_weight"));
  d["5.bias"] = state_of(c.at("fc_bias"));
  for (const auto& [key, value] : c.at("amax").items()) {
    d[key + "._amax"] = with_amax ? state_of(value) : nn::StateTensor{state_of(value).shape, {}};
  }
  if (!with_amax) {
    for (auto& [key, t] : d) {
      if (t.values.empty()) {
        std::size_t n = 1;
        for (auto s : t.shape) n *= static_cast<std::size_t>(s);
        t.values.assign(n, std::numeric_limits<float>::quiet_NaN());
      }
    }
  }
  return d;
}

}  // namespace

TEST_CASE("a QuantConv2d-ReLU-QuantMaxPool2d-QuantAdaptiveAvgPool2d-Flatten-QuantLinear net matches NVIDIA's") {
  const json& c = find_case("conv_relu_maxpool_avgpool_linear");
  // The generator chose data on which every activation quantized after a sum lies >= 2e-3 codes
  // from a rounding tie, far above the float error of those sums (< 2e-4 codes), so ctq's codes
  // are PyTorch's and only the last Linear's sum order differs.
  CHECK(c.at("min_margin").get<double>() >= 2e-3);

  SUBCASE("with NVIDIA's calibrated amax loaded by state name") {
    QNet net;
    nn::load_state_dict(net, net_state(c, true));
    auto& fc = nn::child<5>(net);
    for (const auto& t : c.at("tests")) {
      const auto x = tensor_of<4>(t.at("x"));
      // the Linear's input as ctq computes it, through the first five modules
      auto h = nn::child<4>(net)(nn::child<3>(net)(nn::child<2>(net)(nn::child<1>(net)(nn::child<0>(net)(x)))));
      check_bitwise(fc.input_quantizer()(h), tensor_of<2>(t.at("fc_input_q")), "the Linear's quantized input");
      check_sum_bound(net(x), tensor_of<2>(t.at("y")), abs_sum_of(fc, h), 16 + 1, "net output");
    }
  }

  SUBCASE("calibrated by ctq: every amax is NVIDIA's within the float error of the sums before it") {
    QNet net;
    nn::load_state_dict(net, net_state(c, false));
    enable_calibration(net);
    std::vector<Tensor<float, 4>> batches;
    for (const auto& b : c.at("calib")) batches.push_back(tensor_of<4>(b));
    for (const auto& b : batches) (void)net(b);
    load_calib_amax(net);
    disable_calibration(net);
    std::map<std::string, const AmaxData*> amax;
    for_each_quantizer(net, [&](const std::string& path, auto& q) { amax[path] = &q.amax(); });
    auto ref = [&](const std::string& path) {
      return ctq_test::floats_b64(c.at("amax").at(path).at("data").get<std::string>());
    };
    // max |x| and max |w| per channel: no arithmetic, bitwise
    for (const char* p : {"0._input_quantizer", "0._weight_quantizer", "5._weight_quantizer"}) {
      CHECK_MESSAGE(amax.at(p)->values == ref(p), p);
    }
    // "2": the max over the calibration batches of relu(conv), computed in float (quantization off
    // while calibrating): within 2 gamma_19 S_max of PyTorch's, S on the float operands
    nn::Conv2d<2, 4, 3, 1, 1> abs_conv = nn::child<0>(net);
    abs_conv.weight = abs_of(abs_conv.weight);
    abs_conv.bias = abs_of(abs_conv.bias);
    float s_max = 0.0f;
    for (const auto& b : batches) {
      const auto s = abs_conv(abs_of(b));
      for (float v : s.values()) s_max = std::max(s_max, v);
    }
    const double a2 = amax.at("2._input_quantizer")->values.at(0), r2 = ref("2._input_quantizer").at(0);
    CHECK(std::fabs(a2 - r2) <= 2.0 * gamma_n(19) * 1.001 * s_max);
    // "3" sees the max-pooled
    // relu(conv): its max is relu(conv)'s (2x2 windows tile the 8x8 map), so "2" exactly. "5" sees
    // means of 4 of those non-negative values: each input within 2 gamma_19 S_max of PyTorch's,
    // and each side's sum and division within (gamma_4 + u) of the exact mean; max is 1-Lipschitz.
    const double u = std::ldexp(1.0, -24);
    const double a3 = amax.at("3._input_quantizer")->values.at(0), r3 = ref("3._input_quantizer").at(0);
    CHECK(a3 == a2);
    CHECK(r3 == r2);
    const double a5 = amax.at("5._input_quantizer")->values.at(0), r5 = ref("5._input_quantizer").at(0);
    CHECK(std::fabs(a5 - r5) <= 1.001 * (2.0 * gamma_n(19) * s_max + 2.0 * (gamma_n(4) + u) * r5));
    MESSAGE("amax deviation from NVIDIA's, relative: 2: " << std::fabs(a2 - r2) / r2
                                                          << ", 5: " << std::fabs(a5 - r5) / r5);
  }
}

namespace {

using FloatNet = nn::Sequential<nn::named<"conv", nn::Conv2d<2, 4, 3, 1, 1>>, nn::named<"relu", nn::ReLU>,
                                nn::named<"pool", nn::MaxPool2d<2>>, nn::named<"avg", nn::AdaptiveAvgPool2d<2>>,
                                nn::named<"flatten", nn::Flatten>, nn::named<"fc", nn::Linear<16, 3>>,
                                nn::named<"gain", user::Gain>>;

FloatNet make_float_net() {
  FloatNet net;
  std::mt19937 g(5);
  nn::child<0>(net).reset_parameters(g);
  nn::child<5>(net).reset_parameters(g);
  return net;
}

Tensor<float, 4> random_input(unsigned seed, float scale) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n(0.0f, scale);
  Tensor<float, 4> x({2, 8, 8, 2});
  for (auto& v : x.values()) v = n(g);
  return x;
}

}  // namespace

TEST_CASE("replace_with_quant_modules: the types NVIDIA's initialize() swaps in, weights moved") {
  FloatNet float_net = make_float_net();
  const FloatNet original = float_net;
  auto qnet = replace_with_quant_modules(std::move(float_net));
  using Expected = nn::Sequential<nn::named<"conv", QuantConv2d<2, 4, 3, 1, 1>>, nn::named<"relu", nn::ReLU>,
                                  nn::named<"pool", nn::MaxPool2d<2>>,  // not in NVIDIA's default map
                                  nn::named<"avg", QuantAdaptiveAvgPool2d<2>>, nn::named<"flatten", nn::Flatten>,
                                  nn::named<"fc", QuantLinear<16, 3>>,
                                  nn::named<"gain", user::QuantGain<QUANT_DESC_8BIT_PER_TENSOR>>>;
  static_assert(std::is_same_v<decltype(qnet), Expected>);
  CHECK(nn::child<0>(qnet).weight == nn::child<0>(original).weight);
  CHECK(nn::child<0>(qnet).bias == nn::child<0>(original).bias);
  CHECK(nn::child<5>(qnet).weight == nn::child<5>(original).weight);

  // the same numbers as Quant modules built by hand from the float modules
  auto conv = QuantConv2d<2, 4, 3, 1, 1>::from_float(nn::Conv2d<2, 4, 3, 1, 1>(nn::child<0>(original)));
  QuantAdaptiveAvgPool2d<2> avg;
  auto fc = QuantLinear<16, 3>::from_float(nn::Linear<16, 3>(nn::child<5>(original)));
  user::QuantGain<QUANT_DESC_8BIT_PER_TENSOR> gain;
  const auto x = random_input(1, 1.0f);
  const auto by_hand = gain(fc(nn::Flatten{}(avg(nn::MaxPool2d<2>{}(nn::ReLU{}(conv(x)))))));
  check_bitwise(qnet(x), by_hand, "replaced net vs hand-built Quant modules");

  // descriptors reach the modules; every float module of the mapping
  constexpr QuantDescriptor in6{.num_bits = 6};
  auto q6 = replace_with_quant_modules<in6, QUANT_DESC_8BIT_PER_TENSOR>(FloatNet{});
  static_assert(
      std::is_same_v<nn::module_at_t<decltype(q6), "fc">, QuantLinear<16, 3, true, in6, QUANT_DESC_8BIT_PER_TENSOR>>);
  static_assert(std::is_same_v<nn::module_at_t<decltype(q6), "conv">,
                               QuantConv2d<2, 4, 3, 1, 1, 1, 1, true, in6, QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL>>);
  static_assert(std::is_same_v<nn::module_at_t<decltype(q6), "avg">, QuantAdaptiveAvgPool2d<2, 2, in6>>);
  using quant_nn::quant_module_t;
  static_assert(std::is_same_v<quant_module_t<nn::Conv1d<2, 3, 3>>, quant_nn::QuantConv1d<2, 3, 3>>);
  static_assert(std::is_same_v<quant_module_t<nn::Conv3d<2, 3, 3, 2>>, quant_nn::QuantConv3d<2, 3, 3, 2>>);
  static_assert(std::is_same_v<quant_module_t<nn::ConvTranspose1d<2, 3, 3, 2, 1, 1>>,
                               quant_nn::QuantConvTranspose1d<2, 3, 3, 2, 1, 1>>);
  static_assert(std::is_same_v<quant_module_t<nn::ConvTranspose3d<2, 3, 3>>, quant_nn::QuantConvTranspose3d<2, 3, 3>>);
  static_assert(std::is_same_v<quant_module_t<nn::AvgPool1d<3, 2>>, quant_nn::QuantAvgPool1d<3, 2>>);
  static_assert(std::is_same_v<quant_module_t<nn::AvgPool2d<2>>, quant_nn::QuantAvgPool2d<2>>);
  static_assert(std::is_same_v<quant_module_t<nn::AdaptiveAvgPool1d<4>>, quant_nn::QuantAdaptiveAvgPool1d<4>>);
  static_assert(std::is_same_v<quant_module_t<nn::MaxPool1d<2>>, nn::MaxPool1d<2>>);
  static_assert(std::is_same_v<quant_module_t<nn::ReLU>, nn::ReLU>);
  // a Quant model is left as it is
  static_assert(std::is_same_v<decltype(replace_with_quant_modules(std::move(qnet))), Expected>);
}

TEST_CASE("Quant modules of every kind run; quant pooling is the float pooling of the fake-quantized input") {
  const auto x = random_input(2, 1.5f);
  Tensor<float, 3> x1({2, 9, 2});
  std::mt19937 g(3);
  std::normal_distribution<float> n;
  for (auto& v : x1.values()) v = n(g);
  TensorQuantizer<> q;
  const auto xq = q(x);
  const auto x1q = q(x1);
  check_bitwise(QuantMaxPool2d<2>{}(x), nn::MaxPool2d<2>{}(xq), "QuantMaxPool2d");
  check_bitwise(quant_nn::QuantAvgPool2d<3, 2, 1>{}(x), nn::AvgPool2d<3, 2, 1>{}(xq), "QuantAvgPool2d");
  check_bitwise(QuantAdaptiveAvgPool2d<3, 2>{}(x), nn::AdaptiveAvgPool2d<3, 2>{}(xq), "QuantAdaptiveAvgPool2d");
  check_bitwise(quant_nn::QuantMaxPool1d<2>{}(x1), nn::MaxPool1d<2>{}(x1q), "QuantMaxPool1d");
  check_bitwise(quant_nn::QuantAvgPool1d<3>{}(x1), nn::AvgPool1d<3>{}(x1q), "QuantAvgPool1d");
  check_bitwise(quant_nn::QuantAdaptiveAvgPool1d<4>{}(x1), nn::AdaptiveAvgPool1d<4>{}(x1q), "QuantAdaptiveAvgPool1d");

  // conv 1d / 3d and transposed 1d: the float module on the fake-quantized operands, bitwise
  auto same_as_float_on_operands = [](auto m, const auto& input) {
    std::mt19937 gen(4);
    m.reset_parameters(gen);
    typename decltype(m)::float_module f = m;
    f.weight = m.weight_quantizer()(m.weight);
    check_bitwise(m(input), f(m.input_quantizer()(input)), std::string(decltype(m)::name));
  };
  same_as_float_on_operands(quant_nn::QuantConv1d<2, 3, 3, 1, 1>{}, x1);
  same_as_float_on_operands(quant_nn::QuantConvTranspose1d<2, 3, 3, 2>{}, x1);
  Tensor<float, 5> x3({1, 3, 4, 4, 2});
  for (auto& v : x3.values()) v = n(g);
  same_as_float_on_operands(quant_nn::QuantConv3d<2, 3, 2>{}, x3);
}

TEST_CASE("calibration helpers: enable, collect, load_calib_amax, disable (NVIDIA's loop)") {
  FloatNet float_net = make_float_net();
  auto qnet = replace_with_quant_modules(FloatNet(float_net));

  std::vector<std::string> paths;
  for_each_quantizer(qnet, [&](const std::string& p, auto&) { paths.push_back(p); });
  CHECK(paths == std::vector<std::string>{"conv._input_quantizer", "conv._weight_quantizer", "avg._input_quantizer",
                                          "fc._input_quantizer", "fc._weight_quantizer", "gain._input_quantizer"});

  CHECK_CTQ_ERROR(load_calib_amax(qnet), "quantizer 'conv._input_quantizer' saw no calibration data");

  enable_calibration(qnet);
  for_each_quantizer(qnet, [](const std::string& p, auto& q) {
    CHECK_MESSAGE((q.is_calibrating() && !q.is_quantizing() && q.is_enabled()), p);
  });
  float in_max = 0.0f, avg_in_max = 0.0f;
  for (unsigned s = 0; s < 3; ++s) {
    const auto x = random_input(10 + s, 0.5f + static_cast<float>(s));
    // while calibrating the model computes in float
    check_bitwise(qnet(x), float_net(x), "calibration forward vs float");
    for (float v : x.values()) in_max = std::max(in_max, std::fabs(v));
    const auto pooled = nn::child<2>(float_net)(nn::child<1>(float_net)(nn::child<0>(float_net)(x)));
    for (float v : pooled.values()) avg_in_max = std::max(avg_in_max, std::fabs(v));
  }
  load_calib_amax(qnet);
  disable_calibration(qnet);
  for_each_quantizer(qnet, [](const std::string& p, auto& q) {
    CHECK_MESSAGE((!q.is_calibrating() && q.is_quantizing() && !q.amax().empty()), p);
  });
  CHECK(nn::module_at<"conv">(qnet).input_quantizer().amax().values == std::vector<float>{in_max});
  CHECK(nn::module_at<"avg">(qnet).input_quantizer().amax().values == std::vector<float>{avg_in_max});
  // weights: max |w| per output row, the [Out, 1] keepdims shape
  const auto& fw = nn::child<5>(float_net).weight;
  std::vector<float> rows(3, 0.0f);
  for (index_t o = 0; o < 3; ++o)
    for (index_t i = 0; i < 16; ++i) rows[o] = std::max(rows[o], std::fabs(fw[o * 16 + i]));
  CHECK(nn::module_at<"fc">(qnet).weight_quantizer().amax().values == rows);
  CHECK(nn::module_at<"fc">(qnet).weight_quantizer().amax().shape == std::vector<index_t>{3, 1});

  // a disabled quantizer is skipped (it collected nothing)
  auto fresh = replace_with_quant_modules(FloatNet(float_net));
  nn::module_at<"gain">(fresh).input_quantizer().disable();
  enable_calibration(fresh);
  (void)fresh(random_input(20, 1.0f));
  load_calib_amax(fresh);
  CHECK(nn::module_at<"gain">(fresh).input_quantizer().amax().empty());
  CHECK_FALSE(nn::module_at<"fc">(fresh).input_quantizer().amax().empty());
}

TEST_CASE("load_calib_amax with histogram inputs: inputs by the method, weights by max") {
  constexpr QuantDescriptor hist{.calib_method = calib_method::histogram};
  FloatNet float_net = make_float_net();
  auto qnet = replace_with_quant_modules<hist>(FloatNet(float_net));
  enable_calibration(qnet);
  for (unsigned s = 0; s < 2; ++s) (void)qnet(random_input(30 + s, 1.0f));
  CHECK_CTQ_ERROR(load_calib_amax(qnet), "quantizer 'conv._input_quantizer' has a histogram calibrator");
  load_calib_amax(qnet, "percentile", 99.9);
  auto& conv = nn::module_at<"conv">(qnet);
  CHECK(conv.input_quantizer().amax().values ==
        std::vector<float>{conv.input_quantizer().calibrator().compute_amax_percentile(99.9)});
  CHECK(conv.weight_quantizer().amax() == conv.weight_quantizer().calibrator().compute_amax());
  CHECK(conv.weight_quantizer().amax().shape == std::vector<index_t>{4, 1, 1, 1});
}

TEST_CASE("state_dict carries NVIDIA's _amax names; round trip, NaN for no amax, bad amax rejected") {
  FloatNet float_net = make_float_net();
  auto qnet = replace_with_quant_modules(FloatNet(float_net));
  const auto x = random_input(40, 1.0f);

  // before calibration every _amax reads NaN (no amax) and loads back to no amax
  auto before = nn::state_dict(qnet);
  REQUIRE(before.count("conv._input_quantizer._amax") == 1);
  CHECK(before.at("conv._input_quantizer._amax").shape.empty());  // a 0-dim tensor, as NVIDIA's
  CHECK(before.at("conv._weight_quantizer._amax").shape == std::vector<index_t>{4, 1, 1, 1});
  CHECK(before.at("fc._weight_quantizer._amax").shape == std::vector<index_t>{3, 1});
  CHECK(std::isnan(before.at("fc._weight_quantizer._amax").values[0]));
  CHECK(before.count("gain.gain") == 1);
  CHECK(before.count("avg._input_quantizer._amax") == 1);
  CHECK(nn::module_at<"conv">(qnet).input_quantizer().amax().empty());  // reading changed nothing

  enable_calibration(qnet);
  (void)qnet(x);
  load_calib_amax(qnet);
  disable_calibration(qnet);
  const auto y = qnet(x);
  const auto saved = nn::state_dict(qnet);
  CHECK(saved.at("conv._input_quantizer._amax").values == nn::module_at<"conv">(qnet).input_quantizer().amax().values);

  auto loaded = replace_with_quant_modules(FloatNet{});
  nn::load_state_dict(loaded, saved);
  for_each_quantizer(loaded, [](const std::string& p, auto& q) { CHECK_MESSAGE(!q.amax().empty(), p); });
  CHECK(nn::module_at<"fc">(loaded).weight_quantizer().amax() == nn::module_at<"fc">(qnet).weight_quantizer().amax());
  check_bitwise(loaded(x), y, "output after load_state_dict");

  // loading the uncalibrated state (NaN) goes back to amax from each tensor
  nn::load_state_dict(loaded, before);
  for_each_quantizer(loaded, [](const std::string& p, auto& q) { CHECK_MESSAGE(q.amax().empty(), p); });

  auto bad = saved;
  bad.at("fc._input_quantizer._amax").values[0] = -1.0f;
  CHECK_CTQ_ERROR(nn::load_state_dict(loaded, bad), "QuantLinear: _input_quantizer._amax must be finite and >= 0");
  bad = saved;
  bad.at("conv._weight_quantizer._amax").values[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_CTQ_ERROR(nn::load_state_dict(loaded, bad), "QuantConv2d: _weight_quantizer._amax must be finite");
}

TEST_CASE("disabled quantizers give the float output exactly") {
  FloatNet float_net = make_float_net();
  auto qnet = replace_with_quant_modules(FloatNet(float_net));
  for_each_quantizer(qnet, [](const std::string&, auto& q) { q.disable(); });
  for (unsigned s = 0; s < 2; ++s) {
    const auto x = random_input(50 + s, 2.0f);
    check_bitwise(qnet(x), float_net(x), "all quantizers disabled");
  }
  QuantLinear<16, 3> fc = QuantLinear<16, 3>::from_float(nn::Linear<16, 3>(nn::child<5>(float_net)));
  fc.input_quantizer().disable_quant();  // quant off, not calibrating: passes through too
  fc.weight_quantizer().disable();
  Tensor<float, 2> h({2, 16}, std::vector<float>(32, 0.37f));
  check_bitwise(fc(h), nn::child<5>(float_net)(h), "QuantLinear with quantization off");
}

TEST_CASE("a failing forward leaves the float weight in place") {
  auto conv = QuantConv2d<2, 4, 3, 1, 1>::from_float(nn::Conv2d<2, 4, 3, 1, 1>(nn::child<0>(make_float_net())));
  const auto w = conv.weight;
  Tensor<float, 4> wrong_channels({1, 5, 5, 3});
  CHECK_CTQ_ERROR(conv(wrong_channels), "the input has 3 channels");
  CHECK(conv.weight == w);
}
