// Training: Linear's and the activations' backward passes, Sequential and Residual composition,
// CrossEntropyLoss, SGD and CosineAnnealingLR, against central differences and against PyTorch
// 1.13 (tests/data/train_reference.json, written by tools/reference/gen_train.py).
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/nn.hpp>
#include <ctq/optim.hpp>
#include <ctq/quantization.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../support/close.hpp"
#include "../support/finite_differences.hpp"
#include "../support/reference.hpp"

using namespace ctq;
using ctq_test::check_close;
using ctq_test::floats;
using ctq_test::load_reference;

namespace {

template <int R>
Tensor<float, R> random_tensor(const Shape<R>& shape, std::mt19937& g, float scale = 1.0f) {
  Tensor<float, R> t(shape);
  std::normal_distribution<float> d(0.0f, scale);
  for (float& v : t.values()) v = d(g);
  return t;
}

float dot(std::span<const float> a, std::span<const float> b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

// Central differences of L(v) = sum(w .* model(x)) with respect to every value of `v` (the input
// or a parameter), compared with the analytic gradient. The step h = 1e-2 and float32 forward
// passes give a truncation error O(h^2 f''') and a rounding error about eps * |L| / h; for these
// smooth, small models both stay under 2e-3 relative to the gradient's largest value, which is
// the tolerance (a wrong formula is off by O(1)).
template <class Model, int R, int YR>
void check_finite_differences(Model& m, const Tensor<float, R>& x, const Tensor<float, YR>& w, std::span<float> v,
                              std::span<const float> analytic, const std::string& what) {
  ctq_test::check_central_differences(
      v, analytic, [&] { return static_cast<double>(dot(m(x).values(), w.values())); }, 1e-2f, 2e-3, what);
}

}  // namespace

TEST_CASE("Linear backward: gradients of the input, weight and bias by central differences") {
  std::mt19937 g(1);
  nn::Linear<6, 4> fc;
  fc.reset_parameters(g);
  nn::train(fc);
  SUBCASE("rank 2") {
    auto x = random_tensor<2>({3, 6}, g);
    auto w = random_tensor<2>({3, 4}, g);
    fc(x);
    nn::zero_grad(fc);
    const auto gx = fc.backward(nn::DynTensor(w));
    check_finite_differences(fc, x, w, x.values(), gx.values(), "dx");
    check_finite_differences(fc, x, w, fc.weight.values(), fc.weight_grad.values(), "dW");
    check_finite_differences(fc, x, w, fc.bias.values(), fc.bias_grad.values(), "db");
  }
  SUBCASE("rank 3 input: every leading row") {
    auto x = random_tensor<3>({2, 3, 6}, g);
    auto w = random_tensor<3>({2, 3, 4}, g);
    fc(x);
    nn::zero_grad(fc);
    const auto gx = fc.backward(nn::DynTensor(w));
    CHECK(gx.rank() == 3);
    check_finite_differences(fc, x, w, x.values(), gx.values(), "dx");
    check_finite_differences(fc, x, w, fc.weight.values(), fc.weight_grad.values(), "dW");
  }
  SUBCASE("gradients accumulate until zero_grad") {
    auto x = random_tensor<2>({3, 6}, g);
    auto w = random_tensor<2>({3, 4}, g);
    nn::zero_grad(fc);
    fc(x);
    fc.backward(nn::DynTensor(w));
    const auto once = fc.weight_grad;
    fc.backward(nn::DynTensor(w));
    for (index_t i = 0; i < once.size(); ++i) CHECK(fc.weight_grad[i] == doctest::Approx(2 * once[i]));
    nn::zero_grad(fc);
    for (float v : fc.weight_grad.values()) CHECK(v == 0.0f);
  }
}

TEST_CASE("backward needs a training-mode forward, and the gradient's shape") {
  std::mt19937 g(2);
  nn::Linear<4, 3> fc;
  fc.reset_parameters(g);
  auto x = random_tensor<2>({2, 4}, g);
  fc(x);  // evaluation mode: nothing kept
  CHECK_THROWS_WITH_AS(fc.backward(nn::DynTensor(Tensor<float, 2>({2, 3}))),
                       doctest::Contains("no forward pass in training mode"), ctq::error);
  nn::train(fc);
  fc(x);
  CHECK_THROWS_WITH_AS(fc.backward(nn::DynTensor(Tensor<float, 2>({2, 4}))),
                       doctest::Contains("gradient's shape differs"), ctq::error);
  nn::ReLU relu;
  CHECK_THROWS_AS(relu.backward(nn::DynTensor(Tensor<float, 1>({3}))), ctq::error);
}

TEST_CASE("train and eval switch every module of a nested model") {
  using Net = nn::Sequential<QuantStub, nn::Linear<4, 4>, nn::Residual<nn::Sequential<nn::Linear<4, 4>, nn::ReLU>>,
                             nn::Dropout<0.5f>, DeQuantStub>;
  Net net;
  int trainable = 0, in_training = 0;
  auto count = [&](const Net& n) {
    trainable = in_training = 0;
    nn::for_each_module(const_cast<Net&>(n), [&]<fixed_string>(auto& m) {
      if constexpr (requires { m.training; }) {
        ++trainable;
        in_training += m.training ? 1 : 0;
      }
    });
  };
  count(net);
  CHECK(trainable == 4);
  CHECK(in_training == 0);  // ctq's modules start in evaluation mode
  nn::train(net);
  count(net);
  CHECK(in_training == 4);
  nn::eval(net);
  count(net);
  CHECK(in_training == 0);
  CHECK(nn::parameter_count(net) == 2 * (16 + 4));
  std::vector<std::string> names;
  nn::for_each_parameter(net, [&](const std::string& key, auto&, auto&) { names.push_back(key); });
  CHECK(names == std::vector<std::string>{"1.weight", "1.bias", "2.body.0.weight", "2.body.0.bias"});
}

TEST_CASE("Dropout: identity in evaluation; in training a 1/(1-p)-scaled mask, and the same mask backward") {
  nn::Dropout<0.25f> drop;
  Tensor<float, 2> x({100, 40});
  x.array().setOnes();
  auto y = drop(x);
  CHECK(y == x);
  nn::train(drop);
  y = drop(x);
  index_t kept = 0;
  for (float v : y.values()) {
    CHECK((v == 0.0f || v == doctest::Approx(1.0f / 0.75f)));
    kept += v != 0.0f ? 1 : 0;
  }
  // 4,000 Bernoulli(0.75) draws: mean 3,000, standard deviation 27.4; 6 deviations either side.
  CHECK(std::abs(kept - 3000) < 165);
  Tensor<float, 2> g({100, 40});
  g.array().setConstant(2.0f);
  const auto gx = drop.backward(nn::DynTensor(g));
  for (index_t i = 0; i < y.size(); ++i) CHECK(gx.values()[static_cast<std::size_t>(i)] == 2.0f * y[i]);
}

TEST_CASE("activations' backward against PyTorch, kinks included") {
  const auto ref = load_reference("train_reference.json")["activations"];
  auto run = [&]<class Act>(Act act, const char* name, bool exact) {
    CAPTURE(name);
    const auto& e = ref[name];
    const auto xs = floats(e["x"]), gs = floats(e["g"]);
    const index_t n = static_cast<index_t>(xs.size());
    Tensor<float, 1> x({n}, xs), g({n}, gs);
    nn::train(act);
    const auto y = act(x);
    const auto gx = act.backward(nn::DynTensor(g));
    if (exact) {
      ctq_test::check_bits(floats(e["y"]), y.data(), xs.size(), std::string(name) + " y");
      ctq_test::check_bits(floats(e["gx"]), gx.data(), xs.size(), std::string(name) + " gx");
    } else {
      // exp/tanh differ from PyTorch's vectorized ones by a few ulp; the derivative multiplies
      // three such values: 1e-6 of the largest value covers it.
      check_close(y.values(), floats(e["y"]), 1e-6f, std::string(name) + " y");
      check_close(gx.values(), floats(e["gx"]), 1e-6f, std::string(name) + " gx");
    }
  };
  run(nn::ReLU{}, "ReLU", true);
  run(nn::ReLU6{}, "ReLU6", true);
  run(nn::Hardtanh<-1.0f, 1.0f>{}, "Hardtanh", true);
  run(nn::Hardswish{}, "Hardswish", true);
  run(nn::Hardsigmoid{}, "Hardsigmoid", true);
  run(nn::LeakyReLU<0.01f>{}, "LeakyReLU", true);
  run(nn::Sigmoid{}, "Sigmoid", false);
  run(nn::Tanh{}, "Tanh", false);
  run(nn::ELU<1.0f>{}, "ELU", false);
}

TEST_CASE("CrossEntropyLoss against PyTorch, with and without label smoothing") {
  const auto ref = load_reference("train_reference.json")["cross_entropy"];
  for (const char* s : {"0.0", "0.1"}) {
    CAPTURE(s);
    const auto& e = ref[s];
    const auto labels = ctq_test::ints(e["labels"]);
    const Tensor<float, 2> logits({static_cast<index_t>(labels.size()), 7}, floats(e["logits"]));
    nn::CrossEntropyLoss ce;
    ce.label_smoothing = std::stof(s);
    const auto r = ce(logits, labels);
    // log-sum-exp in float over 7 classes: a few ulp of the loss; 1e-6 relative covers it.
    CHECK(r.value == doctest::Approx(e["loss"].get<double>()).epsilon(1e-6));
    check_close(r.grad.values(), floats(e["grad"]), 1e-6f, "grad");
  }
  nn::CrossEntropyLoss ce;
  const Tensor<float, 2> logits({2, 3});
  const std::vector<std::int64_t> bad{0, 3};
  CHECK_THROWS_WITH_AS(ce(logits, bad), doctest::Contains("label 3 outside [0, 3)"), ctq::error);
  const std::vector<std::int64_t> short_labels{0};
  CHECK_THROWS_WITH_AS(ce(logits, short_labels), doctest::Contains("1 labels for a batch of 2"), ctq::error);
}

TEST_CASE("CosineAnnealingLR: PyTorch's rates step for step, past T_max") {
  const auto e = load_reference("train_reference.json")["cosine"];
  optim::SGD opt({.lr = e["base_lr"].get<double>()});
  optim::CosineAnnealingLR sched(opt, e["t_max"].get<int>(), e["eta_min"].get<double>());
  for (const auto& want : e["lrs"]) {
    sched.step();
    // the same double operations as Python's, in the same order: equal up to libm's cos (1 ulp).
    CHECK(opt.lr == doctest::Approx(want.get<double>()).epsilon(1e-14));
  }
  CHECK_THROWS_AS(optim::CosineAnnealingLR<optim::SGD>(opt, 0), ctq::error);
  CHECK_THROWS_WITH_AS(optim::SGD({.lr = 0.1, .momentum = 0.0, .nesterov = true}), doctest::Contains("Nesterov"),
                       ctq::error);
}

TEST_CASE("three SGD steps of a residual MLP match PyTorch (loss, gradients, parameters, schedule)") {
  using Net = nn::Sequential<nn::Linear<12, 16>, nn::Hardswish,
                             nn::Residual<nn::Sequential<nn::Linear<16, 16>, nn::ReLU>>, nn::Linear<16, 5>>;
  const auto ref = load_reference("train_reference.json")["sgd"];
  for (const auto& [setting, e] : ref.items()) {
    CAPTURE(setting);
    Net net;
    nn::StateDict sd;
    for (const auto& [key, values] : e["params0"].items()) {
      nn::StateTensor t;
      t.values = floats(values);
      sd[key] = t;
    }
    nn::visit_state(net, [&](const std::string& key, auto& t) {
      const auto& v = sd.at(key).values;
      REQUIRE(static_cast<index_t>(v.size()) == t.size());
      std::copy(v.begin(), v.end(), t.values().begin());
    });
    const auto& o = e["options"];
    optim::SGD opt({.lr = o["lr"].get<double>(),
                    .momentum = o.value("momentum", 0.0),
                    .dampening = o.value("dampening", 0.0),
                    .weight_decay = o.value("weight_decay", 0.0),
                    .nesterov = o.value("nesterov", false)});
    optim::CosineAnnealingLR sched(opt, 2);
    const Tensor<float, 2> x({8, 12}, floats(e["x"]));
    const auto labels = ctq_test::ints(e["labels"]);
    nn::train(net);
    nn::CrossEntropyLoss ce;
    int step = 0;
    for (const auto& s : e["steps"]) {
      CAPTURE(step);
      CHECK(opt.lr == doctest::Approx(s["lr_used"].get<double>()).epsilon(1e-14));
      nn::zero_grad(net);
      const auto logits = net(x);
      const auto loss = ce(logits, labels);
      nn::backward(net, loss.grad);
      opt.step(net);
      sched.step();
      // Eigen and PyTorch add the GEMMs' products in different orders (k <= 16 terms: a few ulp per
      // value), and the differences carry through three steps: 2e-5 of each tensor's largest value.
      check_close(logits.values(), floats(s["logits"]), 2e-5f, "logits");
      CHECK(loss.value == doctest::Approx(s["loss"].get<double>()).epsilon(2e-5));
      nn::for_each_parameter(net, [&](const std::string& key, auto& p, auto& g) {
        check_close(g.values(), floats(s["grads"][key]), 2e-5f, key + ".grad");
        check_close(p.values(), floats(s["params"][key]), 2e-5f, key);
      });
      ++step;
    }
  }
}

TEST_CASE("Sequential and Residual backward by central differences") {
  using Net = nn::Sequential<nn::Linear<5, 6>, nn::Tanh, nn::Residual<nn::Sequential<nn::Linear<6, 6>, nn::Sigmoid>>,
                             nn::Linear<6, 3>>;
  std::mt19937 g(3);
  Net net;
  nn::for_each_parameter(net, [&](const std::string&, auto& p, auto&) {
    std::normal_distribution<float> d(0.0f, 0.5f);
    for (float& v : p.values()) v = d(g);
  });
  nn::train(net);
  auto x = random_tensor<2>({4, 5}, g);
  auto w = random_tensor<2>({4, 3}, g);
  net(x);
  nn::zero_grad(net);
  const auto gx = nn::backward(net, w);
  check_finite_differences(net, x, w, x.values(), gx.values(), "dx");
  nn::for_each_parameter(net, [&](const std::string& key, auto& p, auto& grad) {
    check_finite_differences(net, x, w, p.values(), grad.values(), key);
  });
}
