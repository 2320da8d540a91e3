// Normalization modules against PyTorch 1.13 (tests/data/qnorm_reference.json, written by
// tools/reference/gen_qnorm.py):
//   - quantized BatchNorm2d / 3d, BNReLU2d / 3d, LayerNorm, GroupNorm, InstanceNorm1d / 2d / 3d:
//     every output code equal to PyTorch's, for each engine the case lists (qnnpack and onednn
//     give the same codes); the kernels through the buffer-level functions for every case, and
//     through the typed modules for the cases whose shapes have a module instantiated below;
//   - float LayerNorm, GroupNorm, InstanceNorm (eval, with and without running statistics)
//     within a tolerance (see float_tolerance);
//   - the mapping: prepare / convert of QuantStub -> norm -> DeQuantStub with the default qconfig;
//   - runtime errors for inputs with the wrong channels or trailing dimensions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctq/ctq.hpp>
#include <ctq/nn/normalization.hpp>
#include <ctq/nn/quantized/normalization.hpp>
#include <ctq/quantization/mappings/normalization.hpp>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

using namespace ctq;
namespace nq = ctq::nn::quantized;

namespace {

const nlohmann::json& data() {
  static const nlohmann::json d = ctq_test::load_reference("qnorm_reference.json");
  return d;
}

std::vector<std::uint8_t> codes(const nlohmann::json& e) {
  const auto b = ctq_test::bytes_b64(e.get<std::string>());
  return {b.begin(), b.end()};
}

std::vector<float> floats_or_empty(const nlohmann::json& e) {
  return e.is_null() ? std::vector<float>{} : ctq_test::floats_b64(e.get<std::string>());
}

std::vector<index_t> shape_of(const nlohmann::json& c) { return c["shape"].get<std::vector<index_t>>(); }

index_t product(const std::vector<index_t>& s, std::size_t from = 0, std::size_t to = ~std::size_t{0}) {
  index_t p = 1;
  for (std::size_t i = from; i < std::min(to, s.size()); ++i) p *= s[i];
  return p;
}

nq::EngineConfig engine_config(const std::string& engine, const std::string& format) {
  nq::EngineConfig e;
  if (engine == "qnnpack") {
    e.style = kernels::requantize_style::qnnpack;
    e.torch.engine = kernels::qengine::qnnpack;
  } else {
    REQUIRE(engine == "onednn");
    e.style = kernels::requantize_style::onednn;
    e.torch.engine = kernels::qengine::onednn;
  }
  e.torch.format =
      format == "channels_last" ? kernels::memory_format::channels_last : kernels::memory_format::contiguous;
  return e;
}

PerTensorQParams input_qparams(const nlohmann::json& c) {
  return {ctq_test::to_float(c["x_scale"]), c["x_zero_point"].get<std::int32_t>()};
}
PerTensorQParams output_qparams(const nlohmann::json& o) {
  return {ctq_test::to_float(o["y_scale"]), o["y_zero_point"].get<std::int32_t>()};
}

struct Tally {
  long cases = 0, outputs = 0, codes = 0, wrong = 0, typed = 0;
};

void compare_codes(const std::uint8_t* got, const std::vector<std::uint8_t>& want, const std::string& what, Tally& t) {
  long wrong = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i] && ++wrong <= 3) {
      MESSAGE(what << " [" << i << "]: PyTorch " << int{want[i]} << ", ctq " << int{got[i]});
    }
  }
  CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " of " << want.size() << " codes differ");
  t.codes += static_cast<long>(want.size());
  t.wrong += wrong;
}

// Calls f(output, engine config) for every output of a case and every engine it lists.
template <class F>
void for_each_output(const nlohmann::json& c, F&& f) {
  const std::string format = c.contains("format") ? c["format"].get<std::string>() : "contiguous";
  for (const auto& o : c["outputs"]) {
    for (const auto& e : c["engines"]) f(o, engine_config(e.get<std::string>(), format), e.get<std::string>());
  }
}

std::string label(const nlohmann::json& c, const nlohmann::json& o, const std::string& engine) {
  std::string s = c["name"].get<std::string>() + " (" + engine;
  if (o.contains("probe")) s += ", probe " + o["probe"].get<std::string>();
  return s + ")";
}

// --- the buffer-level kernels, for every case -----------------------------------------------------
std::vector<std::uint8_t> run_kernel(const nlohmann::json& c, const nlohmann::json& o, const nq::EngineConfig& e) {
  const std::string op = c["op"];
  const auto x = codes(c["x"]);
  const auto shape = shape_of(c);
  const auto xq = input_qparams(c), yq = output_qparams(o);
  const auto w = floats_or_empty(c["weight"]), b = floats_or_empty(c["bias"]);
  std::vector<std::uint8_t> y(x.size());
  if (op == "batch_norm") {
    const index_t ch = shape.back();
    const auto mean = floats_or_empty(c["running_mean"]), var = floats_or_empty(c["running_var"]);
    std::vector<float> alpha(static_cast<std::size_t>(ch)), beta(alpha.size());
    nq::detail::batch_norm_factors(ch, w.data(), b.data(), mean.data(), var.data(),
                                   static_cast<float>(c["eps"].get<double>()), xq.scale, yq.scale, alpha.data(),
                                   beta.data());
    nq::detail::batch_norm_codes(x.data(), product(shape) / ch, ch, xq.zero_point, alpha.data(), beta.data(),
                                 yq.zero_point, c["relu"].get<bool>(), y.data());
  } else if (op == "layer_norm") {
    const index_t n = product(c["normalized_shape"].get<std::vector<index_t>>());
    nq::detail::layer_norm_codes(x.data(), product(shape) / n, n, xq, w.empty() ? nullptr : w.data(),
                                 b.empty() ? nullptr : b.data(), c["eps"].get<double>(), yq, y.data());
  } else {
    const index_t ch = shape.back(), pixels = product(shape, 1, shape.size() - 1);
    std::vector<float> scratch(2 * static_cast<std::size_t>(ch));
    const bool nhwc = nq::detail::takes_nhwc_kernel(e.torch, static_cast<int>(shape.size()), ch, pixels);
    nq::detail::group_norm_codes(x.data(), shape[0], pixels, ch, c["groups"].get<index_t>(), xq,
                                 w.empty() ? nullptr : w.data(), b.empty() ? nullptr : b.data(), c["eps"].get<double>(),
                                 yq, nhwc, scratch.data(), y.data());
  }
  return y;
}

// --- the typed modules, for the shapes instantiated here ------------------------------------------
template <int R>
nq::QActivation<R> qinput(const nlohmann::json& c) {
  const auto s = shape_of(c);
  REQUIRE(static_cast<int>(s.size()) == R);
  Shape<R> shape{};
  std::copy(s.begin(), s.end(), shape.begin());
  const auto x = codes(c["x"]);
  return nq::QActivation<R>(shape, input_qparams(c), std::span<const std::uint8_t>(x.data(), x.size()));
}

// A module type, the cases it serves and how it is built from a case and one output.
struct TypedRunner {
  std::function<bool(const nlohmann::json&)> matches;
  std::function<std::vector<std::uint8_t>(const nlohmann::json&, const nlohmann::json&, const nq::EngineConfig&)> run;
};

template <int R, index_t C, bool Relu>
TypedRunner batch_norm_runner() {
  return {[](const nlohmann::json& c) {
            return c["op"] == "batch_norm" && c["dims"] == R && c["relu"] == Relu && shape_of(c).back() == C;
          },
          [](const nlohmann::json& c, const nlohmann::json& o, const nq::EngineConfig& e) {
            nq::BatchNormT<R, C, Relu> m(floats_or_empty(c["weight"]), floats_or_empty(c["bias"]),
                                         floats_or_empty(c["running_mean"]), floats_or_empty(c["running_var"]),
                                         static_cast<float>(c["eps"].get<double>()), output_qparams(o), e);
            auto y = m(qinput<R + 2>(c));
            CHECK(y.scale() == m.scale());
            CHECK(y.zero_point() == m.zero_point());
            return std::vector<std::uint8_t>(y.int_repr().begin(), y.int_repr().end());
          }};
}

template <int XR, index_t... D>
TypedRunner layer_norm_runner() {
  return {[](const nlohmann::json& c) {
            return c["op"] == "layer_norm" && c["shape"].size() == XR &&
                   c["normalized_shape"].get<std::vector<index_t>>() == std::vector<index_t>{D...};
          },
          [](const nlohmann::json& c, const nlohmann::json& o, const nq::EngineConfig& e) {
            const nq::LayerNorm<nn::dims<D...>> m(floats_or_empty(c["weight"]), floats_or_empty(c["bias"]),
                                                  c["eps"].get<double>(), output_qparams(o), e);
            auto y = m(qinput<XR>(c));
            return std::vector<std::uint8_t>(y.int_repr().begin(), y.int_repr().end());
          }};
}

template <class M, int XR>
TypedRunner group_norm_runner(std::string op, index_t groups, index_t channels) {
  return {[=](const nlohmann::json& c) {
            return c["op"] == op && c["shape"].size() == XR && c["groups"] == groups && shape_of(c).back() == channels;
          },
          [](const nlohmann::json& c, const nlohmann::json& o, const nq::EngineConfig& e) {
            M m(floats_or_empty(c["weight"]), floats_or_empty(c["bias"]), c["eps"].get<double>(), output_qparams(o), e);
            auto y = m(qinput<XR>(c));
            return std::vector<std::uint8_t>(y.int_repr().begin(), y.int_repr().end());
          }};
}

std::vector<TypedRunner> typed_runners() {
  return {batch_norm_runner<2, 45, false>(),
          batch_norm_runner<2, 13, true>(),
          batch_norm_runner<2, 70, true>(),
          batch_norm_runner<3, 13, false>(),
          batch_norm_runner<3, 8, true>(),
          layer_norm_runner<2, 70>(),
          layer_norm_runner<3, 3, 40>(),
          layer_norm_runner<4, 4, 5, 6>(),
          group_norm_runner<nq::GroupNorm<2, 4>, 4>("group_norm", 2, 4),
          group_norm_runner<nq::GroupNorm<2, 80>, 4>("group_norm", 2, 80),
          group_norm_runner<nq::GroupNorm<2, 8>, 4>("group_norm", 2, 8),
          group_norm_runner<nq::GroupNorm<2, 64>, 4>("group_norm", 2, 64),
          group_norm_runner<nq::GroupNorm<3, 6>, 3>("group_norm", 3, 6),
          group_norm_runner<nq::InstanceNorm1d<3>, 3>("instance_norm", 3, 3),
          group_norm_runner<nq::InstanceNorm2d<4>, 4>("instance_norm", 4, 4),
          group_norm_runner<nq::InstanceNorm2d<1>, 4>("instance_norm", 1, 1),
          group_norm_runner<nq::InstanceNorm3d<3>, 5>("instance_norm", 3, 3)};
}

// --- float modules --------------------------------------------------------------------------------
// Tolerance for float outputs: |ctq - PyTorch| <= 8 * 2^-24 * max(1, |PyTorch|), 8 float ulp of
// the output (of 1 below 1). ctq accumulates each group's mean and variance in double and rounds
// the output once; PyTorch accumulates the moments in float (or, with running statistics, rounds
// BatchNorm's per-channel factors) and rounds each of the 3-4 steps of (x - mean) * rstd * w + b,
// so its outputs carry a few ulp of error. The worst seen is ~4 ulp (the test prints it); a wrong
// mean, variance or eps would move outputs by > 1e-4.
float float_tolerance(float ref) { return 8.0f * 0x1p-24f * std::max(1.0f, std::fabs(ref)); }

struct FloatTally {
  long cases = 0, values = 0, inexact = 0;
  float worst = 0.0f;
};

void compare_floats(const float* got, const std::vector<float>& want, const std::string& what, FloatTally& t) {
  long bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const float d = std::fabs(got[i] - want[i]);
    t.worst = std::max(t.worst, d / (std::max(1.0f, std::fabs(want[i]))));
    if (d != 0.0f) ++t.inexact;
    if (!(d <= float_tolerance(want[i])) && ++bad <= 3) {
      MESSAGE(what << " [" << i << "]: PyTorch " << want[i] << ", ctq " << got[i]);
    }
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << want.size() << " values beyond the tolerance");
  t.values += static_cast<long>(want.size());
}

std::vector<float> run_float_kernel(const nlohmann::json& c) {
  const std::string op = c["op"];
  const auto x = ctq_test::floats_b64(c["x"].get<std::string>());
  const auto shape = shape_of(c);
  const auto w = floats_or_empty(c["weight"]), b = floats_or_empty(c["bias"]);
  const float eps = static_cast<float>(c["eps"].get<double>());
  std::vector<float> y(x.size());
  if (op == "float_layer_norm") {
    const index_t n = product(c["normalized_shape"].get<std::vector<index_t>>());
    nn::detail::layer_norm_forward(x.data(), product(shape) / n, n, w.empty() ? nullptr : w.data(),
                                   b.empty() ? nullptr : b.data(), eps, y.data());
  } else if (c["track_running_stats"].get<bool>()) {
    const index_t ch = shape.back();
    const auto mean = floats_or_empty(c["running_mean"]), var = floats_or_empty(c["running_var"]);
    const std::vector<float> ones(static_cast<std::size_t>(ch), 1.0f), zeros(ones.size(), 0.0f);
    nn::detail::batchnorm_forward(x.data(), product(shape) / ch, ch, w.empty() ? ones.data() : w.data(),
                                  b.empty() ? zeros.data() : b.data(), mean.data(), var.data(), eps, y.data());
  } else {
    const index_t ch = shape.back();
    nn::detail::group_norm_forward(x.data(), shape[0], product(shape, 1, shape.size() - 1), ch,
                                   c["groups"].get<index_t>(), w.empty() ? nullptr : w.data(),
                                   b.empty() ? nullptr : b.data(), eps, y.data());
  }
  return y;
}

const nlohmann::json& find_case(const std::string& name) {
  for (const auto& c : data()["cases"])
    if (c["name"] == name) return c;
  FAIL("no case " << name << " in qnorm_reference.json");
  return data();
}

template <class M, int R>
void check_float_module(M& m, const std::string& name, FloatTally& t) {
  const auto& c = find_case(name);
  nn::StateDict d;
  auto put = [&](const char* key, const std::vector<index_t>& s) {
    if (!c[key].is_null()) d[key] = nn::StateTensor{s, ctq_test::floats_b64(c[key].get<std::string>())};
  };
  const auto shape = shape_of(c);
  const std::vector<index_t> pshape = c.contains("normalized_shape") ? c["normalized_shape"].get<std::vector<index_t>>()
                                                                     : std::vector<index_t>{shape.back()};
  put("weight", pshape);
  put("bias", pshape);
  if (c.contains("running_mean")) {
    put("running_mean", pshape);
    put("running_var", pshape);
  }
  nn::load_state_dict(m, d);
  const auto x = ctq_test::make_tensor<R>(c["shape"], ctq_test::floats_b64(c["x"].get<std::string>()));
  const auto y = m(x);
  compare_floats(y.data(), ctq_test::floats_b64(c["y"].get<std::string>()), name + " (module)", t);
}

}  // namespace

TEST_CASE("quantized normalization: every code equals PyTorch 1.13's, both engines") {
  Tally kernel, typed;
  const auto runners = typed_runners();
  long probes = 0;
  for (const auto& c : data()["cases"]) {
    const std::string op = c["op"];
    if (op.rfind("float_", 0) == 0) continue;
    ++kernel.cases;
    const TypedRunner* runner = nullptr;
    for (const auto& r : runners)
      if (r.matches(c)) runner = &r;
    if (runner != nullptr) ++typed.cases;
    for_each_output(c, [&](const nlohmann::json& o, const nq::EngineConfig& e, const std::string& engine) {
      const auto want = codes(o["y"]);
      const auto what = label(c, o, engine);
      if (o.contains("probe")) ++probes;
      ++kernel.outputs;
      const auto y = run_kernel(c, o, e);
      REQUIRE(y.size() == want.size());
      compare_codes(y.data(), want, what, kernel);
      if (runner != nullptr) {
        ++typed.outputs;
        const auto ty = runner->run(c, o, e);
        REQUIRE(ty.size() == want.size());
        compare_codes(ty.data(), want, what + " typed module", typed);
      }
    });
  }
  MESSAGE("kernels: " << kernel.cases << " cases, " << kernel.outputs << " outputs (" << probes
                      << " with probe scales), " << kernel.codes << " codes, " << kernel.wrong << " differ");
  MESSAGE("typed modules: " << typed.cases << " cases, " << typed.outputs << " outputs, " << typed.codes << " codes, "
                            << typed.wrong << " differ");
  CHECK(kernel.cases >= 80);
  CHECK(probes >= 40);
  CHECK(typed.cases >= 30);
}

TEST_CASE("float LayerNorm, GroupNorm, InstanceNorm against PyTorch 1.13") {
  FloatTally t;
  for (const auto& c : data()["cases"]) {
    const std::string op = c["op"];
    if (op.rfind("float_", 0) != 0) continue;
    ++t.cases;
    const auto y = run_float_kernel(c);
    compare_floats(y.data(), ctq_test::floats_b64(c["y"].get<std::string>()), c["name"].get<std::string>(), t);
  }
  // The typed modules, their state loaded by PyTorch's names.
  {
    nn::LayerNorm<nn::dims<3, 40>> m;
    check_float_module<decltype(m), 3>(m, "float_layer_norm_4", t);
  }
  {
    nn::LayerNorm<nn::dims<16>, 1e-5f, false> m;
    check_float_module<decltype(m), 3>(m, "float_layer_norm_1", t);
  }
  {
    nn::GroupNorm<2, 8> m;
    check_float_module<decltype(m), 4>(m, "float_group_norm_0", t);
  }
  {
    nn::GroupNorm<4, 12> m;
    check_float_module<decltype(m), 5>(m, "float_group_norm_5", t);
  }
  {
    nn::InstanceNorm1d<5, 1e-5f, true, false> m;
    check_float_module<decltype(m), 3>(m, "float_instance_norm_0", t);
  }
  {
    nn::InstanceNorm2d<5, 1e-5f, true, true> m;
    check_float_module<decltype(m), 4>(m, "float_instance_norm_5", t);
  }
  {
    nn::InstanceNorm3d<3, 1e-5f, false, true> m;
    check_float_module<decltype(m), 5>(m, "float_instance_norm_11", t);
  }
  {
    nn::InstanceNorm3d<3> m;
    check_float_module<decltype(m), 5>(m, "float_instance_norm_10", t);
  }
  MESSAGE(t.cases << " float cases, " << t.values << " values; " << t.inexact << " not bitwise PyTorch's; worst "
                  << t.worst << " (relative to max(1, |y|))");
}

TEST_CASE("eps as PyTorch holds it: the double of the Python literal") {
  CHECK(nq::detail::eps_as_double(1e-5f) == 1e-5);
  CHECK(nq::detail::eps_as_double(1e-3f) == 1e-3);
  CHECK(nq::detail::eps_as_double(0.1f) == 0.1);
  CHECK(static_cast<double>(1e-5f) != 1e-5);  // why it matters: float(1e-5) is another double
}

TEST_CASE("mapping: prepare and convert swap the normalization modules, observed outputs") {
  using QC = get_default_qconfig<backend::x86>;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.5f, 1.5f);
  auto fill = [&](auto& t) {
    for (auto& v : t.values()) v = normal(rng);
  };
  Tensor<float, 4> x({2, 5, 6, 8});
  fill(x);

  SUBCASE("QuantStub -> BatchNorm2d -> DeQuantStub, and bn + relu fused to BNReLU2d") {
    using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"bn", nn::BatchNorm2d<8>>,
                               nn::named<"dequant", DeQuantStub>>;
    using NetRelu = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"bn", nn::BatchNorm2d<8>>,
                                   nn::named<"relu", nn::ReLU>, nn::named<"dequant", DeQuantStub>>;
    Net net;
    auto& fbn = nn::module_at<"bn">(net);
    fill(fbn.weight);
    fill(fbn.bias);
    fill(fbn.running_mean);
    fbn.running_var.array() = fbn.running_var.array().abs() + 0.5f;
    NetRelu net_relu;
    nn::load_state_dict(net_relu, nn::state_dict(net));

    auto prepared = prepare<QC>(net);
    prepared(x);
    auto q = convert<backend::x86>(prepared);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(nn::module_at<"bn">(q))>, nq::BatchNorm2d<8>>);
    auto fused = fuse_modules<fuse<"bn", "relu">>(net_relu);
    auto prepared_relu = prepare<QC>(fused);
    prepared_relu(x);
    auto qr = convert<backend::x86>(prepared_relu);
    static_assert(
        std::is_same_v<std::remove_cvref_t<decltype(nn::module_at<"bn">(qr))>, nn::intrinsic::quantized::BNReLU2d<8>>);

    // The output parameters are the observer's; the float parameters are carried over.
    auto& qbn = nn::module_at<"bn">(q);
    CHECK(qbn.output_qparams() == nn::module_at<"bn">(prepared).activation_post_process.calculate_qparams());
    CHECK(nn::module_at<"bn">(qr).output_qparams() ==
          nn::module_at<"bn">(prepared_relu).activation_post_process.calculate_qparams());
    CHECK(std::equal(qbn.running_var().begin(), qbn.running_var().end(), fbn.running_var.values().begin()));
    CHECK(qbn.eps() == 1e-5f);
    CHECK(qbn.parameter_bytes() == 4 * 4 * 8);

    // The layer's codes are the kernel's on its quantized input.
    const auto xq = nn::module_at<"quant">(q)(x);
    const auto yq = qbn(xq);
    std::vector<float> alpha(8), beta(8);
    nq::detail::batch_norm_factors(8, fbn.weight.data(), fbn.bias.data(), fbn.running_mean.data(),
                                   fbn.running_var.data(), 1e-5f, xq.scale(), qbn.scale(), alpha.data(), beta.data());
    std::vector<std::uint8_t> want(static_cast<std::size_t>(xq.size()));
    nq::detail::batch_norm_codes(xq.data(), xq.size() / 8, 8, xq.zero_point(), alpha.data(), beta.data(),
                                 qbn.zero_point(), false, want.data());
    CHECK(std::equal(want.begin(), want.end(), yq.int_repr().begin()));

    // The model's output is the float model's up to the two quantizations: half an output step,
    // and half an input step times the largest gain w / sqrt(var + eps) (x was calibrated, so it
    // is inside the input range), plus float rounding.
    float gain = 0.0f;
    for (index_t c = 0; c < 8; ++c)
      gain = std::max(gain, std::fabs(fbn.weight[c]) / std::sqrt(fbn.running_var[c] + 1e-5f));
    const auto y = q(x), yr = qr(x), yf = net(x);
    const float bound = 0.5f * qbn.scale() + gain * 0.5f * xq.scale() + 1e-5f;
    const float bound_relu = 0.5f * nn::module_at<"bn">(qr).scale() + gain * 0.5f * xq.scale() + 1e-5f;
    float worst = 0.0f, worst_relu = 0.0f;
    for (index_t i = 0; i < y.size(); ++i) {
      worst = std::max(worst, std::fabs(y[i] - yf[i]));
      worst_relu = std::max(worst_relu, std::fabs(yr[i] - std::max(yf[i], 0.0f)));
    }
    CHECK(worst <= bound);
    CHECK(worst_relu <= bound_relu);
  }

  SUBCASE("GroupNorm, InstanceNorm2d, LayerNorm") {
    using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"gn", nn::GroupNorm<2, 8>>,
                               nn::named<"in", nn::InstanceNorm2d<8, 1e-5f, true, true>>,
                               nn::named<"ln", nn::LayerNorm<nn::dims<6, 8>>>, nn::named<"dequant", DeQuantStub>>;
    Net net;
    fill(nn::module_at<"gn">(net).weight);
    fill(nn::module_at<"in">(net).bias);
    fill(nn::module_at<"ln">(net).bias);
    auto prepared = prepare<QC>(net);
    prepared(x);
    auto q = convert<backend::x86>(prepared);
    auto& gn = nn::module_at<"gn">(q);
    auto& in = nn::module_at<"in">(q);
    auto& ln = nn::module_at<"ln">(q);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(gn)>, nq::GroupNorm<2, 8>>);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(in)>, nq::InstanceNorm2d<8>>);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(ln)>, nq::LayerNorm<nn::dims<6, 8>>>);
    CHECK(gn.output_qparams() == nn::module_at<"gn">(prepared).activation_post_process.calculate_qparams());
    CHECK(in.output_qparams() == nn::module_at<"in">(prepared).activation_post_process.calculate_qparams());
    CHECK(ln.output_qparams() == nn::module_at<"ln">(prepared).activation_post_process.calculate_qparams());
    CHECK(ln.eps() == 1e-5);  // the double PyTorch would hold, not float(1e-5)
    CHECK(gn.engine().torch.format == kernels::memory_format::channels_last);
    CHECK(gn.affine());
    CHECK(in.affine());  // running statistics dropped, as PyTorch's from_float does
    CHECK(in.parameter_bytes() == 2 * 4 * 8);

    // Each layer's codes are the kernels' on its quantized input.
    const auto xq = nn::module_at<"quant">(q)(x);
    const auto y1 = gn(xq);
    const auto y2 = in(y1);
    const auto y3 = ln(y2);
    std::vector<std::uint8_t> want(static_cast<std::size_t>(x.size()));
    std::vector<float> scratch(16);
    const auto& fgn = nn::module_at<"gn">(net);
    nq::detail::group_norm_codes(xq.data(), 2, 30, 8, 2, {xq.scale(), xq.zero_point()}, fgn.weight.data(),
                                 fgn.bias.data(), 1e-5, gn.output_qparams(), true, scratch.data(), want.data());
    CHECK(std::equal(want.begin(), want.end(), y1.int_repr().begin()));
    const auto& fin = nn::module_at<"in">(net);
    nq::detail::group_norm_codes(y1.data(), 2, 30, 8, 8, {y1.scale(), y1.zero_point()}, fin.weight.data(),
                                 fin.bias.data(), 1e-5, in.output_qparams(), true, scratch.data(), want.data());
    CHECK(std::equal(want.begin(), want.end(), y2.int_repr().begin()));
    const auto& fln = nn::module_at<"ln">(net);
    nq::detail::layer_norm_codes(y2.data(), 10, 48, {y2.scale(), y2.zero_point()}, fln.weight.data(), fln.bias.data(),
                                 1e-5, ln.output_qparams(), want.data());
    CHECK(std::equal(want.begin(), want.end(), y3.int_repr().begin()));
    const auto y = q(x);
    CHECK(y.shape() == x.shape());
  }
}

TEST_CASE("normalization modules: runtime errors for wrong channels and shapes") {
  nq::EngineConfig e;
  const PerTensorQParams out{0.05f, 128};
  nq::QActivation<4> x7({1, 2, 2, 7}, PerTensorQParams{0.1f, 128});
  nq::QActivation<3> seq({2, 3, 5}, PerTensorQParams{0.1f, 128});
  Tensor<float, 4> f7({1, 2, 2, 7});

  nq::BatchNorm2d<8> qbn(std::vector<float>(8, 1.0f), std::vector<float>(8, 0.0f), std::vector<float>(8, 0.0f),
                         std::vector<float>(8, 1.0f), 1e-5f, out, e);
  CHECK_CTQ_ERROR(qbn(x7), "the input has 7 channels (last dimension), the layer has 8");
  nq::GroupNorm<2, 8> qgn({}, {}, 1e-5, out, e);
  CHECK_CTQ_ERROR(qgn(x7), "the input has 7 channels");
  nq::InstanceNorm2d<8> qin({}, {}, 1e-5, out, e);
  CHECK_CTQ_ERROR(qin(x7), "the input has 7 channels");
  const nq::LayerNorm<nn::dims<3, 4>> qln({}, {}, 1e-5, out, e);
  CHECK_CTQ_ERROR(qln(seq), "dimension 2 of the input is 5, normalized_shape expects 4");

  CHECK_CTQ_ERROR((nq::GroupNorm<2, 8>(std::vector<float>(7, 1.0f), std::vector<float>(7, 0.0f), 1e-5, out, e)),
                  "the weight has 7 values, expected 8");
  CHECK_CTQ_ERROR((nq::LayerNorm<nn::dims<4>>(std::vector<float>(4, 1.0f), {}, 1e-5, out, e)),
                  "the bias has 0 values, expected 4");
  CHECK_CTQ_ERROR((nq::InstanceNorm1d<4>({}, {}, 1e-5, PerTensorQParams{0.0f, 0}, e)), "output scale");
  CHECK_CTQ_ERROR((nq::BatchNorm3d<2>(std::vector<float>(2), std::vector<float>(2), std::vector<float>(2),
                                      std::vector<float>(2), 1e-5f, PerTensorQParams{0.1f, 300}, e)),
                  "output zero point 300");

  CHECK_CTQ_ERROR((nn::GroupNorm<2, 8>{}(f7)), "the input has 7 channels (last dimension), the layer has 8");
  CHECK_CTQ_ERROR(nn::InstanceNorm2d<8>{}(f7), "the input has 7 channels");
  CHECK_CTQ_ERROR((nn::LayerNorm<nn::dims<2, 8>>{}(f7)), "dimension 3 of the input is 7, normalized_shape expects 8");

  // An empty input: BatchNorm returns it with its own parameters, as PyTorch's clone.
  nq::QActivation<4> empty({0, 2, 2, 8}, PerTensorQParams{0.1f, 3});
  const auto y = qbn(empty);
  CHECK(y.size() == 0);
  CHECK(y.zero_point() == 3);
}
