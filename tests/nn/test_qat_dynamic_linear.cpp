// nn::qat::dynamic::Linear, prepare_qat_dynamic and its conversion by quantize_dynamic, against
// PyTorch 1.13 (tests/data/qat_dynamic_linear_reference.json, written by
// tools/reference/gen_qat_dynamic_linear.py): torch.ao.nn.qat.dynamic.Linear with
// default_dynamic_qat_qconfig (per-tensor weights) and with a per-channel weight fake-quantizer,
// two training steps (forward, backward; the second with weights beyond the moving-average range,
// so some are clipped and their gradient masked), then nnqd.Linear.from_float on both engines.
//
// Exact: the weight fake-quantizer's scale and zero point after each step, the fake-quantized
// weights, the clipping mask, the converted int8 weights and their scales, and the converted
// layer's outputs (ctq's dynamic Linear is bitwise PyTorch's). Within a bound: the float outputs
// and gradients, which are sums that PyTorch's GEMM and Eigen add in different orders. For a sum
// of n products computed in any order, each result is within gamma_n * sum |a_j b_j| of the exact
// value (gamma_n = n u / (1 - n u), u = 2^-24, Higham's bound); two such results differ by at most
// twice that, with n counting the bias as one more term.
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/nn.hpp>
#include <ctq/quantization.hpp>
#include <string>
#include <vector>

#include "../support/reference.hpp"

using namespace ctq;
using json = nlohmann::json;

namespace {

constexpr index_t In = 24, Out = 10, Rows = 5;
using Float = nn::Sequential<nn::named<"fc", nn::Linear<In, Out>>>;
using PerChannelQC = QConfig<default_dynamic_fake_quant, default_per_channel_weight_fake_quant>;

const json& data() {
  static const json d = ctq_test::load_reference("qat_dynamic_linear_reference.json");
  return d;
}

template <int R>
Tensor<float, R> tensor(const json& values, Shape<R> shape) {
  Tensor<float, R> t(shape);
  const auto v = ctq_test::floats(values);
  REQUIRE(static_cast<index_t>(v.size()) == t.size());
  for (index_t i = 0; i < t.size(); ++i) t[i] = v[static_cast<std::size_t>(i)];
  return t;
}

// Twice Higham's gamma_n, for two summation orders of n terms.
double two_gamma(int n) {
  const double u = std::ldexp(1.0, -24);
  return 2.0 * n * u / (1.0 - n * u);
}

// got[i] vs want[i] with |got - want| <= two_gamma(n) * magnitude[i].
void check_close(const Tensor<float, 2>& got, const json& want_json, const std::vector<double>& magnitude, int n,
                 const char* what) {
  const auto want = ctq_test::floats(want_json);
  REQUIRE(static_cast<index_t>(want.size()) == got.size());
  for (index_t i = 0; i < got.size(); ++i) {
    const double bound = two_gamma(n) * magnitude[static_cast<std::size_t>(i)];
    const double diff = std::abs(static_cast<double>(got[i]) - want[static_cast<std::size_t>(i)]);
    INFO(what << "[" << i << "]: ctq " << got[i] << ", PyTorch " << want[static_cast<std::size_t>(i)] << ", bound "
              << bound);
    CHECK(diff <= bound);
  }
}

template <class QC>
void run_case(const std::string& name) {
  const json& c = data()["cases"][name];
  Float net;
  nn::module_at<"fc">(net).weight = tensor<2>(c["w0"], {Out, In});
  nn::module_at<"fc">(net).bias = tensor<1>(c["b"], {Out});
  auto qat = prepare_qat_dynamic<QC>(std::move(net));
  using Qat = nn::qat::dynamic::Linear<In, Out, true, QC>;
  static_assert(std::is_same_v<nn::module_at_t<decltype(qat), "fc">, Qat>);
  auto& fc = nn::module_at<"fc">(qat);

  for (int step = 1; step <= 2; ++step) {
    const std::string s = std::to_string(step);
    CAPTURE(name);
    CAPTURE(step);
    if (step == 2) fc.weight = tensor<2>(c["w2"], {Out, In});
    const auto x = tensor<2>(c["x" + s], {Rows, In});
    const auto y = qat(x);

    // The weight fake-quantizer's parameters and the fake-quantized weight: exact.
    const auto qp = fc.weight_fake_quant.qparams();
    const auto scales = ctq_test::floats(c["scale" + s]);
    const auto zps = ctq_test::ints(c["zero_point" + s]);
    if constexpr (std::remove_cvref_t<decltype(fc.weight_fake_quant)>::is_per_channel) {
      REQUIRE(qp.scales.size() == scales.size());
      for (std::size_t o = 0; o < scales.size(); ++o) {
        CHECK(ctq_test::same_float(qp.scales[o], scales[o]));
        CHECK(qp.zero_points[o] == zps[o]);
      }
    } else {
      CHECK(ctq_test::same_float(qp.scale, scales[0]));
      CHECK(qp.zero_point == zps[0]);
    }
    const auto wq = ctq_test::floats(c["wq" + s]);
    const auto& wq_ctq = fc.fake_quantized_weight();
    REQUIRE(wq_ctq.size() == static_cast<index_t>(wq.size()));
    for (index_t k = 0; k < wq_ctq.size(); ++k) CHECK(ctq_test::same_float(wq_ctq[k], wq[static_cast<std::size_t>(k)]));

    // y[r][o] = sum_i x[r][i] wq[o][i] + b[o]: In + 1 terms.
    std::vector<double> mag_y(static_cast<std::size_t>(Rows * Out));
    for (index_t r = 0; r < Rows; ++r) {
      for (index_t o = 0; o < Out; ++o) {
        double m = std::abs(fc.bias[o]);
        for (index_t i = 0; i < In; ++i) m += std::abs(x(r, i) * wq[static_cast<std::size_t>(o * In + i)]);
        mag_y[static_cast<std::size_t>(r * Out + o)] = m;
      }
    }
    check_close(y, c["y" + s], mag_y, In + 1, "y");

    // Backward: gx = gy wq (Out terms), gw = mask * gy^T x (Rows terms), gb = sum_r gy (Rows terms).
    const auto gy = tensor<2>(c["g" + s], {Rows, Out});
    const auto g = fc.backward(x, gy);
    std::vector<double> mag_gx(static_cast<std::size_t>(Rows * In)), mag_gw(static_cast<std::size_t>(Out * In));
    for (index_t r = 0; r < Rows; ++r) {
      for (index_t i = 0; i < In; ++i) {
        double m = 0.0;
        for (index_t o = 0; o < Out; ++o) m += std::abs(gy(r, o) * wq[static_cast<std::size_t>(o * In + i)]);
        mag_gx[static_cast<std::size_t>(r * In + i)] = m;
      }
    }
    for (index_t o = 0; o < Out; ++o) {
      for (index_t i = 0; i < In; ++i) {
        double m = 0.0;
        for (index_t r = 0; r < Rows; ++r) m += std::abs(gy(r, o) * x(r, i));
        mag_gw[static_cast<std::size_t>(o * In + i)] = m;
      }
    }
    check_close(g.input, c["gx" + s], mag_gx, Out, "grad input");
    check_close(g.weight, c["gw" + s], mag_gw, Rows, "grad weight");
    // The clipping mask is exact: a weight's gradient is zero here exactly where PyTorch's is.
    const auto gw_ref = ctq_test::floats(c["gw" + s]);
    int masked = 0;
    for (index_t k = 0; k < Out * In; ++k) {
      CHECK((g.weight[k] == 0.0f) == (gw_ref[static_cast<std::size_t>(k)] == 0.0f));
      masked += g.weight[k] == 0.0f ? 1 : 0;
    }
    if (step == 2) CHECK(masked == c["masked2"].get<int>());
    Tensor<float, 2> gb2({1, Out});
    std::vector<double> mag_gb(static_cast<std::size_t>(Out));
    for (index_t o = 0; o < Out; ++o) {
      gb2[o] = g.bias[o];
      for (index_t r = 0; r < Rows; ++r) mag_gb[static_cast<std::size_t>(o)] += std::abs(gy(r, o));
    }
    check_close(gb2, c["gb" + s], mag_gb, Rows, "grad bias");
  }

  // Conversion: the trained weight observed afresh, quantized to qint8; outputs bit for bit.
  const auto x3 = tensor<2>(c["x3"], {3, In});
  auto check_convert = [&](auto q, const char* engine) {
    CAPTURE(engine);
    static_assert(std::is_same_v<nn::module_at_t<decltype(q), "fc">, nn::quantized::dynamic::Linear<In, Out>>);
    const json& e = c["convert"][engine];
    const auto& w = nn::module_at<"fc">(q).weight();
    const auto w_int = ctq_test::ints(e["w_int"]);
    REQUIRE(w.values.size() == w_int.size());
    for (std::size_t k = 0; k < w_int.size(); ++k) CHECK(w.values[k] == w_int[k]);
    const auto scales = ctq_test::floats(e["w_scales"]);
    REQUIRE(w.scales.size() == scales.size());
    for (std::size_t k = 0; k < scales.size(); ++k) CHECK(ctq_test::same_float(w.scales[k], scales[k]));
    const auto y3 = q(x3);
    const auto want = ctq_test::floats(e["y3"]);
    for (index_t k = 0; k < y3.size(); ++k) CHECK(ctq_test::same_float(y3[k], want[static_cast<std::size_t>(k)]));
  };
  check_convert(quantize_dynamic<default_dynamic_kinds, dtype::qint8, backend::qnnpack>(qat), "qnnpack");
  check_convert(quantize_dynamic<default_dynamic_kinds, dtype::qint8, backend::onednn>(qat), "onednn");
}

}  // namespace

TEST_CASE("qat::dynamic::Linear with default_dynamic_qat_qconfig matches PyTorch through training and convert") {
  run_case<default_dynamic_qat_qconfig>("per_tensor");
}

TEST_CASE("qat::dynamic::Linear with a per-channel weight fake-quantizer matches PyTorch") {
  run_case<PerChannelQC>("per_channel");
}

TEST_CASE("prepare_qat_dynamic follows a QConfigMapping; fake quant off gives the float layer") {
  using Net = nn::Sequential<nn::named<"fc1", nn::Linear<8, 6>>, nn::named<"relu", nn::ReLU>,
                             nn::named<"fc2", nn::Linear<6, 3, false>>>;
  Net net;
  nn::reset_parameters(net, 5);
  Net original = net;
  auto qat = prepare_qat_dynamic<QConfigMapping<default_dynamic_qat_qconfig, for_name<"fc2", no_qconfig>>>(net);
  static_assert(std::is_same_v<nn::module_at_t<decltype(qat), "fc1">,
                               nn::qat::dynamic::Linear<8, 6, true, default_dynamic_qat_qconfig>>);
  static_assert(std::is_same_v<nn::module_at_t<decltype(qat), "fc2">, nn::Linear<6, 3, false>>);
  static_assert(activation_is_memoryless<default_dynamic_qat_qconfig>);
  static_assert(!activation_is_memoryless<default_dynamic_qconfig>);  // a PlaceholderObserver

  Tensor<float, 2> x({4, 8});
  for (index_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  auto& fc1 = nn::module_at<"fc1">(qat);
  fc1.weight_fake_quant.disable_fake_quant();
  const auto y_float = original(x), y_off = qat(x);
  for (index_t k = 0; k < y_float.size(); ++k) CHECK(ctq_test::same_float(y_off[k], y_float[k]));
  fc1.weight_fake_quant.enable_fake_quant();
  const auto y_on = qat(x);
  bool differs = false;
  for (index_t k = 0; k < y_on.size(); ++k) differs = differs || y_on[k] != y_float[k];
  CHECK(differs);  // 8-bit weights move at least one output

  // The state is the float Linear's: a float checkpoint loads into the prepared model.
  const auto state = nn::state_dict(original);
  nn::load_state_dict(qat, state);
  CHECK(ctq_test::same_float(fc1.weight[3], nn::module_at<"fc1">(original).weight[3]));

  // Backward before any forward on a fresh layer, and shape errors, are reported.
  nn::qat::dynamic::Linear<8, 6, true, default_dynamic_qat_qconfig> fresh;
  CHECK_THROWS_WITH_AS(fresh.backward(Tensor<float, 2>({1, 8}), Tensor<float, 2>({1, 6})),
                       "ctq: nn::qat::dynamic::Linear: backward before forward", ctq::error);
  CHECK_THROWS_AS(fresh(Tensor<float, 2>({1, 7})), ctq::error);
}
