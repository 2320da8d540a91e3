// Quantization-aware training: fuse_modules_qat, prepare_qat, the QAT modules' forward and
// backward (weight fake-quant, the simulated BatchNorm folding, freeze_bn_stats), the model-wide
// switches, and convert after training. Checked
//   - against PyTorch 1.13 (tests/data/qat_reference.json, written by tools/reference/gen_qat.py):
//     two SGD steps of a ConvBnReLU / ConvBn / ConvReLU / Linear network prepared with the x86 QAT
//     qconfig (the second after disable_observer and freeze_bn_stats), then convert;
//   - by central differences of the folded conv+bn with fake quantization off (the BatchNorm in
//     training mode and frozen), which checks every gradient formula independently of PyTorch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ctq/nn.hpp>
#include <ctq/optim.hpp>
#include <ctq/quantization.hpp>
#include <random>
#include <string>
#include <vector>

#include "../support/close.hpp"
#include "../support/finite_differences.hpp"
#include "../support/reference.hpp"

using namespace ctq;
using ctq_test::check_close;
using ctq_test::floats;

namespace {

// The network of gen_qat.py, channels last.
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"conv1", nn::Conv2d<2, 4, 3, 1, 1, 1, 1, false>>,
                           nn::named<"bn1", nn::BatchNorm2d<4>>, nn::named<"relu1", nn::ReLU>,
                           nn::named<"conv2", nn::Conv2d<4, 4, 3, 2, 1, 1, 4>>, nn::named<"bn2", nn::BatchNorm2d<4>>,
                           nn::named<"conv3", nn::Conv2d<4, 6, 1>>, nn::named<"relu3", nn::ReLU>,
                           nn::named<"pool", nn::AdaptiveAvgPool2d<1, 1>>, nn::named<"flatten", nn::Flatten>,
                           nn::named<"fc", nn::Linear<6, 3>>, nn::named<"dequant", DeQuantStub>>;
using QC = get_default_qat_qconfig<backend::x86>;

auto prepared_net() {
  return prepare_qat<QC>(
      fuse_modules_qat<fuse<"conv1", "bn1", "relu1">, fuse<"conv2", "bn2">, fuse<"conv3", "relu3">>(Net{}));
}

template <class M>
void load(M& m, const nlohmann::json& values) {
  std::size_t n = 0;
  nn::visit_state(m, [&](const std::string& key, auto& t) {
    INFO(key);
    REQUIRE(values.contains(key));
    const auto v = floats(values[key]);
    REQUIRE(static_cast<index_t>(v.size()) == t.size());
    std::copy(v.begin(), v.end(), t.values().begin());
    ++n;
  });
  CHECK(n == values.size());  // the prepared model's state names are PyTorch's, all of them
}

}  // namespace

TEST_CASE("prepare_qat: PyTorch's module types, names and fake-quantizers") {
  auto qat = prepared_net();
  using Q = decltype(qat);
  static_assert(std::is_same_v<
                nn::module_at_t<Q, "conv1">,
                Observed<nn::intrinsic::qat::ConvBnReLU<nn::Conv2d<2, 4, 3, 1, 1, 1, 1, false>, nn::BatchNorm2d<4>, QC>,
                         QC>>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "conv2">::module_type,
                               nn::intrinsic::qat::ConvBn<nn::Conv2d<4, 4, 3, 2, 1, 1, 4>, nn::BatchNorm2d<4>, QC>>);
  static_assert(
      std::is_same_v<nn::module_at_t<Q, "conv3">::module_type, nn::intrinsic::qat::ConvReLU<nn::Conv2d<4, 6, 1>, QC>>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "fc">::module_type, nn::qat::Linear<nn::Linear<6, 3>, QC>>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "bn1">, nn::Identity>);
  std::vector<std::string> fake_quantizers;
  visit_modules(qat, [&](std::string_view path, auto& m) {
    if constexpr (FakeQuantizer<std::remove_cvref_t<decltype(m)>>) fake_quantizers.emplace_back(path);
  });
  // PyTorch's named_modules() of the prepared model lists the same fake-quantizers
  const std::vector<std::string> expected = {
      "quant.activation_post_process", "conv1.weight_fake_quant",       "conv1.activation_post_process",
      "conv2.weight_fake_quant",       "conv2.activation_post_process", "conv3.weight_fake_quant",
      "conv3.activation_post_process", "fc.weight_fake_quant",          "fc.activation_post_process"};
  CHECK(fake_quantizers == expected);

  disable_observer(qat);
  int enabled = 0;
  visit_modules(qat, [&](std::string_view, auto& m) {
    if constexpr (FakeQuantizer<std::remove_cvref_t<decltype(m)>>) enabled += m.observer_enabled() ? 1 : 0;
  });
  CHECK(enabled == 0);
  nn::intrinsic::qat::freeze_bn_stats(qat);
  CHECK(nn::module_at<"conv1">(qat).module.freeze_bn);
  CHECK(nn::module_at<"conv2">(qat).module.freeze_bn);
  nn::intrinsic::qat::update_bn_stats(qat);
  CHECK_FALSE(nn::module_at<"conv1">(qat).module.freeze_bn);
}

TEST_CASE("get_observer_dict walks a prepared model's containers (PTQ and QAT)") {
  // PyTorch's names: the output observers of prepare (an unfused BatchNorm2d is quantized on its
  // own, so observed), and the observers inside prepare_qat's
  // fake-quantizers ("<module>.weight_fake_quant.activation_post_process")
  std::vector<std::string> ptq, qat;
  auto prepared = prepare<default_qconfig>(fuse_modules<fuse<"conv1", "bn1", "relu1">>(Net{}));
  get_observer_dict(prepared, [&](std::string_view path, auto&) { ptq.emplace_back(path); });
  CHECK(ptq == std::vector<std::string>{"quant.activation_post_process", "conv1.activation_post_process",
                                        "conv2.activation_post_process", "bn2.activation_post_process",
                                        "conv3.activation_post_process", "fc.activation_post_process"});
  auto q = prepared_net();
  get_observer_dict(q, [&](std::string_view path, auto&) { qat.emplace_back(path); });
  REQUIRE(qat.size() == 9);
  CHECK(qat[1] == "conv1.weight_fake_quant.activation_post_process");
  CHECK(qat[8] == "fc.activation_post_process.activation_post_process");
}

TEST_CASE("two QAT steps and convert match PyTorch 1.13 (x86 QAT qconfig, disable_observer, freeze_bn_stats)") {
  const auto ref = ctq_test::load_reference("qat_reference.json");
  auto qat = prepared_net();
  load(qat, ref["params0"]);
  const Tensor<float, 4> x({4, 6, 6, 2}, floats(ref["x"]));
  const auto labels = ctq_test::ints(ref["labels"]);
  optim::SGD opt({.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  nn::CrossEntropyLoss ce;
  nn::train(qat);
  int step = 0;
  for (const auto& s : ref["steps"]) {
    CAPTURE(step);
    if (step == 1) {
      disable_observer(qat);
      nn::intrinsic::qat::freeze_bn_stats(qat);
    }
    nn::zero_grad(qat);
    const auto logits = qat(x);
    const auto loss = ce(logits, labels);
    nn::backward(qat, loss.grad);
    opt.step(qat);
    // The float sums (convolutions as GEMMs, BatchNorm statistics, the gradient reductions) add
    // in a different order from PyTorch's: a few ulp per value (k <= 36 terms). The fake-quantizers
    // turn such differences into whole quantization steps only where a value sits within an ulp of
    // a rounding boundary, which these inputs do not (the comparison would then be off by one
    // step, far outside the tolerance). 1e-5 of each tensor's largest value holds the ulp-level
    // differences after two steps; a wrong formula is off by far more.
    check_close(logits.values(), floats(s["output"]), 1e-5f, "logits");
    CHECK(loss.value == doctest::Approx(s["loss"].get<double>()).epsilon(1e-5));
    nn::for_each_parameter(qat, [&](const std::string& key, auto&, auto& g) {
      // conv2.bias feeds a BatchNorm on batch statistics: its exact gradient is 0 and both sides
      // hold rounding residue (up to 1e-8), so its scale is floored at 1e-2 (the other gradients
      // here are 0.01-1).
      check_close(g.values(), floats(s["grads"][key]), 1e-5f, key + ".grad", 1e-2f);
    });
    nn::visit_state(qat, [&](const std::string& key, auto& t) {
      check_close(t.values(), floats(s["state"][key]), 1e-5f, key + " after the step");
    });
    ++step;
  }

  nn::eval(qat);
  auto q = convert<backend::x86>(std::move(qat));
  const auto out = q(x);
  const auto& qref = ref["quantized"];
  // The int8 network's output is quantized: scale from the output fake-quantizer's observer,
  // which saw the same batches, so both grids agree to float rounding; the values may differ by
  // one step where the requantization of an intermediate rounds the other way.
  const float scale = qref["scale"].get<float>();
  const auto want = floats(qref["output"]);
  REQUIRE(out.size() == static_cast<index_t>(want.size()));
  for (index_t i = 0; i < out.size(); ++i) {
    INFO(i);
    CHECK(std::abs(out[i] - want[static_cast<std::size_t>(i)]) <= 1.01f * scale);
  }
}

namespace {

// sum(w .* layer(x)), in double.
template <class Layer, int R, int YR>
double weighted_sum(Layer& layer, const Tensor<float, R>& x, const Tensor<float, YR>& w) {
  const auto y = layer(x);
  double s = 0.0;
  for (index_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * w[i];
  return s;
}

// Central differences of sum(w .* layer(x)) in every value of v against the analytic gradient.
// The BatchNorm in training mode updates its running statistics on every forward; the folding
// reads them, so they are restored around each evaluation. h = 1e-2 with float32 forwards: the
// truncation error O(h^2) and rounding error ~ eps |L| / h stay below 3e-3 of the largest
// gradient for these small layers (a wrong term is off by O(1)).
template <class Layer, int R, int YR>
void check_gradient(Layer& layer, const Tensor<float, R>& x, const Tensor<float, YR>& w, std::span<float> v,
                    std::span<const float> analytic, const std::string& what) {
  REQUIRE(v.size() == analytic.size());
  const auto mean = layer.bn.running_mean, var = layer.bn.running_var;
  auto eval = [&] {
    const double s = weighted_sum(layer, x, w);
    layer.bn.running_mean = mean;
    layer.bn.running_var = var;
    return s;
  };
  ctq_test::check_central_differences(v, analytic, eval, 1e-2f, 3e-3, what);
}

template <int R, class Layer>
void check_layer(Layer& layer, const Shape<R>& xs, bool frozen) {
  std::mt19937 g(frozen ? 11 : 7);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  for (auto& v : layer.layer.weight.values()) v = 0.4f * d(g);
  for (auto& v : layer.layer.bias.values()) v = 0.2f * d(g);
  for (auto& v : layer.bn.weight.values()) v = u(g);
  for (auto& v : layer.bn.bias.values()) v = 0.2f * d(g);
  for (auto& v : layer.bn.running_mean.values()) v = 0.3f * d(g);
  for (auto& v : layer.bn.running_var.values()) v = u(g);
  disable_fake_quant(layer);  // the folded float computation: smooth, so differentiable numerically
  if (frozen) layer.freeze_bn_stats();
  Tensor<float, R> x(xs);
  for (auto& v : x.values()) v = d(g);
  nn::train(layer);
  const auto y = layer(x);
  Tensor<float, R> w(y.shape());
  for (auto& v : w.values()) v = d(g);
  nn::zero_grad(layer);
  const auto mean = layer.bn.running_mean, var = layer.bn.running_var;
  layer(x);  // the forward backward goes back through (restoring the statistics first)
  layer.bn.running_mean = mean;
  layer.bn.running_var = var;
  const auto gx = layer.backward(nn::DynTensor(w));
  check_gradient(layer, x, w, x.values(), gx.values(), "x");
  nn::for_each_parameter(layer, [&](const std::string& key, auto& p, auto& grad) {
    check_gradient(layer, x, w, p.values(), grad.values(), key);
  });
}

}  // namespace

TEST_CASE("the simulated conv+bn folding: every gradient by central differences") {
  SUBCASE("ConvBn2d, BatchNorm on batch statistics") {
    nn::intrinsic::qat::ConvBn<nn::Conv2d<3, 4, 3, 1, 1>, nn::BatchNorm2d<4>, QC> layer;
    check_layer<4>(layer, Shape<4>{2, 5, 5, 3}, false);
  }
  SUBCASE("ConvBn2d grouped, frozen BatchNorm (running statistics)") {
    nn::intrinsic::qat::ConvBn<nn::Conv2d<4, 4, 3, 2, 1, 1, 2>, nn::BatchNorm2d<4>, QC> layer;
    check_layer<4>(layer, Shape<4>{2, 5, 5, 4}, true);
  }
  SUBCASE("ConvBn1d, both modes") {
    nn::intrinsic::qat::ConvBn<nn::Conv1d<2, 3, 3>, nn::BatchNorm1d<3>, QC> layer;
    check_layer<3>(layer, Shape<3>{3, 7, 2}, false);
    nn::intrinsic::qat::ConvBn<nn::Conv1d<2, 3, 3>, nn::BatchNorm1d<3>, QC> frozen;
    check_layer<3>(frozen, Shape<3>{3, 7, 2}, true);
  }
}

TEST_CASE("ConvBnReLU's backward is ConvBn's with the gradient masked where the output is 0") {
  // Central differences straddle the ReLU's kink wherever an output is within h of 0, so the
  // ReLU is checked against the checked ConvBn instead: same weights, same batch, gradients equal
  // bit for bit (the same operations run after the mask).
  for (const bool frozen : {false, true}) {
    CAPTURE(frozen);
    nn::intrinsic::qat::ConvBn<nn::Conv2d<3, 4, 3>, nn::BatchNorm2d<4>, QC> plain;
    std::mt19937 g(5);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (auto& v : plain.layer.weight.values()) v = 0.4f * d(g);
    for (auto& v : plain.layer.bias.values()) v = 0.2f * d(g);
    for (auto& v : plain.bn.bias.values()) v = 0.2f * d(g);
    nn::intrinsic::qat::ConvBnReLU<nn::Conv2d<3, 4, 3>, nn::BatchNorm2d<4>, QC> relu(plain.layer, plain.bn);
    if (frozen) {
      plain.freeze_bn_stats();
      relu.freeze_bn_stats();
    }
    Tensor<float, 4> x({2, 5, 5, 3});
    for (auto& v : x.values()) v = d(g);
    nn::train(plain);
    nn::train(relu);
    const auto y = plain(x);
    const auto yr = relu(x);
    Tensor<float, 4> w(y.shape()), masked(y.shape());
    int zeros = 0;
    for (index_t i = 0; i < w.size(); ++i) {
      w[i] = d(g);
      CHECK(yr[i] == std::max(y[i], 0.0f));
      masked[i] = yr[i] > 0.0f ? w[i] : 0.0f;
      zeros += yr[i] > 0.0f ? 0 : 1;
    }
    CHECK(zeros > 0);
    nn::zero_grad(plain);
    nn::zero_grad(relu);
    const auto gx = plain.backward(nn::DynTensor(masked));
    const auto gxr = relu.backward(nn::DynTensor(w));
    CHECK(std::ranges::equal(gx.values(), gxr.values()));
    CHECK(std::ranges::equal(plain.layer.weight_grad.values(), relu.layer.weight_grad.values()));
    CHECK(std::ranges::equal(plain.bn.weight_grad.values(), relu.bn.weight_grad.values()));
  }
}

TEST_CASE("the weight's straight-through estimator: clamped weights get no gradient") {
  // A per-tensor fake-quantizer whose observer is off, with scale 0.01 and zero point 0 set by
  // hand: weights beyond 127 * 0.01 clamp, so their gradient is 0; the others pass unchanged.
  using PerTensorQC = QConfig<default_fake_quant, default_weight_fake_quant>;
  nn::qat::Linear<nn::Linear<2, 1, false>, PerTensorQC> fc;
  fc.layer.weight[0] = 0.5f;
  fc.layer.weight[1] = 3.0f;  // beyond 1.27: clamped
  fc.weight_fake_quant.disable_observer();
  fc.weight_fake_quant.set_qparams({0.01f, 0});
  nn::train(fc);
  const Tensor<float, 2> x({1, 2}, std::vector<float>{2.0f, 5.0f});
  const auto y = fc(x);
  CHECK(y[0] == doctest::Approx(0.5f * 2.0f + 1.27f * 5.0f));
  nn::zero_grad(fc);
  const auto gx = fc.backward(nn::DynTensor(Tensor<float, 2>({1, 1}, std::vector<float>{1.0f})));
  CHECK(fc.layer.weight_grad[0] == 2.0f);         // dy/dw0 = x0
  CHECK(fc.layer.weight_grad[1] == 0.0f);         // clamped
  CHECK(gx.data()[1] == doctest::Approx(1.27f));  // dy/dx1 = the fake-quantized weight
}

TEST_CASE("quantize_qat: prepare_qat, the caller's training, convert") {
  int calls = 0;
  auto q = quantize_qat<QC, backend::x86>(
      fuse_modules_qat<fuse<"conv1", "bn1", "relu1">, fuse<"conv2", "bn2">, fuse<"conv3", "relu3">>(Net{}),
      [&](auto& prepared) {
        ++calls;
        CHECK(nn::module_at<"conv1">(prepared).module.training);  // quantize_qat trains in training mode
        Tensor<float, 4> x({2, 6, 6, 2});
        for (index_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * static_cast<float>(i));
        (void)prepared(x);
      });
  CHECK(calls == 1);
  static_assert(fully_quantized<decltype(q)>);
}
