// FakeQuantize, FusedMovingAvgObsFakeQuantize and LearnableFakeQuantize against PyTorch 1.13
// (tests/data/fake_quantize_reference.json, from tools/reference/gen_fake_quantize.py, generated
// with ATEN_CPU_CAPABILITY=default: PyTorch's AVX2 kernels fuse two products of the learnable
// backward and of float-zero-point fake quantization into FMAs, its portable kernels and ctq do not).
// Outputs, input gradients, parameters and observer state: bitwise equal. Parameter gradients of
// the learnable fake-quantizer: sums in PyTorch's order, bitwise equal.
#include <doctest/doctest.h>

#include <ctq/ctq.hpp>
#include <functional>
#include <map>
#include <string>

#include "../support/reference.hpp"

using json = nlohmann::json;
using namespace ctq;

namespace {

const json& cases() {
  static const json data = ctq_test::load_reference("fake_quantize_reference.json");
  return data.at("cases");
}

template <int R>
Tensor<float, R> tensor(const json& step, const char* key) {
  return ctq_test::make_tensor<R>(step.at("shape"), ctq_test::floats_b64(step.at(key)));
}

using ctq_test::with_rank;

using ctq_test::check_bits;

template <class QP>
void check_qparams(const json& step, const QP& qp) {
  std::vector<float> scales, zps;
  if constexpr (requires { qp.scales; }) {
    scales = qp.scales;
    for (auto z : qp.zero_points) zps.push_back(static_cast<float>(z));
  } else {
    scales = {qp.scale};
    zps = {static_cast<float>(qp.zero_point)};
  }
  check_bits(ctq_test::floats(step.at("scale")), scales.data(), scales.size(), "scale");
  check_bits(ctq_test::floats(step.at("zero_point")), zps.data(), zps.size(), "zero_point");
}

template <class M>
void check_observer_state(const json& step, const M& m) {
  if (!step.contains("min_val")) return;
  const auto& obs = m.activation_post_process;
  if constexpr (requires { obs.min_val().size(); }) {
    CHECK(ctq_test::floats(step.at("min_val")) == obs.min_val());
    CHECK(ctq_test::floats(step.at("max_val")) == obs.max_val());
  } else {
    CHECK(ctq_test::same_float(ctq_test::to_float(step.at("min_val")), obs.min_val()));
    CHECK(ctq_test::same_float(ctq_test::to_float(step.at("max_val")), obs.max_val()));
  }
}

// Runs the steps of a FakeQuantize / FusedMovingAvgObsFakeQuantize case on module type M.
template <class M>
void run_module(const json& c) {
  M m;
  for (const auto& step : c.at("steps")) {
    const std::string op = step.at("op");
    if (op == "disable_observer")
      m.disable_observer();
    else if (op == "enable_observer")
      m.enable_observer();
    else if (op == "disable_fake_quant")
      m.disable_fake_quant();
    else if (op == "enable_fake_quant")
      m.enable_fake_quant();
    else if (op == "forward") {
      with_rank(step.at("shape").size(), [&]<int R>() {
        const auto x = tensor<R>(step, "x");
        const auto y = m(x);
        check_bits(ctq_test::floats_b64(step.at("y")), y.data(), static_cast<std::size_t>(y.size()), "output");
        const auto g = m.backward(tensor<R>(step, "grad_output"));
        check_bits(ctq_test::floats_b64(step.at("grad_input")), g.data(), static_cast<std::size_t>(g.size()),
                   "grad_input");
        check_qparams(step, m.qparams());
        check_observer_state(step, m);
      });
    } else {
      FAIL("unknown step " << op);
    }
  }
}

template <class Obs, LearnableFakeQuantizeArgs A>
void run_learnable(const json& c) {
  const auto& args = c.at("args");
  LearnableFakeQuantize<Obs, A> m(args.at("scale").get<float>(), args.at("zero_point").get<float>(),
                                  args.at("channel_len").get<int>());
  for (const auto& step : c.at("steps")) {
    const std::string op = step.at("op");
    if (op == "enable_param_learning")
      m.enable_param_learning();
    else if (op == "enable_static_estimate")
      m.enable_static_estimate();
    else if (op == "enable_static_observation")
      m.enable_static_observation();
    else if (op == "disable_observer")
      m.disable_observer();
    else if (op == "enable_observer")
      m.enable_observer();
    else if (op == "disable_fake_quant")
      m.disable_fake_quant();
    else if (op == "enable_fake_quant")
      m.enable_fake_quant();
    else if (op == "set_qparams") {
      m.scale() = ctq_test::floats(step.at("scale"));
      m.zero_point() = ctq_test::floats(step.at("zero_point"));
    } else if (op == "forward") {
      with_rank(step.at("shape").size(), [&]<int R>() {
        const auto y = m(tensor<R>(step, "x"));
        check_bits(ctq_test::floats_b64(step.at("y")), y.data(), static_cast<std::size_t>(y.size()), "output");
        const auto g = m.backward(tensor<R>(step, "grad_output"));
        check_bits(ctq_test::floats_b64(step.at("grad_input")), g.grad_input.data(),
                   static_cast<std::size_t>(g.grad_input.size()), "grad_input");
        check_bits(ctq_test::floats(step.at("scale")), m.scale().data(), m.scale().size(), "scale");
        check_bits(ctq_test::floats(step.at("zero_point")), m.zero_point().data(), m.zero_point().size(), "zero_point");
        check_bits(ctq_test::floats(step.at("grad_scale")), g.grad_scale.data(), g.grad_scale.size(), "grad_scale");
        check_bits(ctq_test::floats(step.at("grad_zero_point")), g.grad_zero_point.data(), g.grad_zero_point.size(),
                   "grad_zero_point");
      });
    } else {
      FAIL("unknown step " << op);
    }
  }
}

std::string learnable_key(const json& a) {
  return std::string(a.at("observer")) + "/" + std::string(a.at("dtype")) + "/" + std::string(a.at("qscheme")) + "/" +
         std::to_string(a.at("quant_min").get<int>()) + "/" + std::to_string(a.at("quant_max").get<int>()) + "/" +
         (a.at("use_grad_scaling").get<bool>() ? "gs" : "nogs");
}

}  // namespace

TEST_CASE("fake-quantize modules match PyTorch 1.13 step by step") {
  const std::map<std::string, std::function<void(const json&)>> modules = {
      {"default_fake_quant", run_module<default_fake_quant>},
      {"default_weight_fake_quant", run_module<default_weight_fake_quant>},
      {"default_per_channel_weight_fake_quant", run_module<default_per_channel_weight_fake_quant>},
      {"default_dynamic_fake_quant", run_module<default_dynamic_fake_quant>},
      {"default_embedding_fake_quant", run_module<default_embedding_fake_quant>},
      {"default_embedding_fake_quant_4bit", run_module<default_embedding_fake_quant_4bit>},
      {"default_fused_act_fake_quant", run_module<default_fused_act_fake_quant>},
      {"default_fused_wt_fake_quant", run_module<default_fused_wt_fake_quant>},
      {"default_fused_per_channel_wt_fake_quant", run_module<default_fused_per_channel_wt_fake_quant>},
  };
  // The learnable configurations the reference uses, as ctq types.
  using MA = MovingAverageMinMaxObserver<{.dtype = dtype::quint8, .quant_min = 0, .quant_max = 255}>;
  using MAs = MovingAverageMinMaxObserver<{
      .dtype = dtype::qint8, .qscheme = qscheme::per_tensor_symmetric, .quant_min = -128, .quant_max = 127}>;
  using MAa8 = MovingAverageMinMaxObserver<{.dtype = dtype::qint8, .quant_min = -128, .quant_max = 127}>;
  using MAsu = MovingAverageMinMaxObserver<{
      .dtype = dtype::quint8, .qscheme = qscheme::per_tensor_symmetric, .quant_min = 0, .quant_max = 255}>;
  using PC = MovingAveragePerChannelMinMaxObserver<{.ch_axis = 0,
                                                    .dtype = dtype::qint8,
                                                    .qscheme = qscheme::per_channel_symmetric,
                                                    .quant_min = -128,
                                                    .quant_max = 127}>;
  using PCa = MovingAveragePerChannelMinMaxObserver<{.ch_axis = 0,
                                                     .dtype = dtype::qint8,
                                                     .qscheme = qscheme::per_channel_affine,
                                                     .quant_min = -128,
                                                     .quant_max = 127}>;
  using PCu = MovingAveragePerChannelMinMaxObserver<{
      .ch_axis = 0, .dtype = dtype::quint8, .qscheme = qscheme::per_channel_affine, .quant_min = 0, .quant_max = 255}>;
  using PCus = MovingAveragePerChannelMinMaxObserver<{.ch_axis = 0,
                                                      .dtype = dtype::quint8,
                                                      .qscheme = qscheme::per_channel_symmetric,
                                                      .quant_min = 0,
                                                      .quant_max = 255}>;
  const std::map<std::string, std::function<void(const json&)>> learnable = {
      {"MovingAverageMinMaxObserver/quint8/per_tensor_affine/0/255/nogs", run_learnable<MA, {false}>},
      {"MovingAverageMinMaxObserver/quint8/per_tensor_affine/0/255/gs", run_learnable<MA, {true}>},
      {"MovingAverageMinMaxObserver/qint8/per_tensor_symmetric/-128/127/nogs", run_learnable<MAs, {false}>},
      {"MovingAverageMinMaxObserver/qint8/per_tensor_symmetric/-128/127/gs", run_learnable<MAs, {true}>},
      {"MovingAverageMinMaxObserver/qint8/per_tensor_affine/-128/127/nogs", run_learnable<MAa8, {false}>},
      {"MovingAverageMinMaxObserver/qint8/per_tensor_affine/-128/127/gs", run_learnable<MAa8, {true}>},
      {"MovingAverageMinMaxObserver/quint8/per_tensor_symmetric/0/255/nogs", run_learnable<MAsu, {false}>},
      {"MovingAverageMinMaxObserver/quint8/per_tensor_symmetric/0/255/gs", run_learnable<MAsu, {true}>},
      {"MovingAveragePerChannelMinMaxObserver/qint8/per_channel_symmetric/-128/127/nogs", run_learnable<PC, {false}>},
      {"MovingAveragePerChannelMinMaxObserver/qint8/per_channel_symmetric/-128/127/gs", run_learnable<PC, {true}>},
      {"MovingAveragePerChannelMinMaxObserver/qint8/per_channel_affine/-128/127/nogs", run_learnable<PCa, {false}>},
      {"MovingAveragePerChannelMinMaxObserver/qint8/per_channel_affine/-128/127/gs", run_learnable<PCa, {true}>},
      {"MovingAveragePerChannelMinMaxObserver/quint8/per_channel_affine/0/255/nogs", run_learnable<PCu, {false}>},
      {"MovingAveragePerChannelMinMaxObserver/quint8/per_channel_affine/0/255/gs", run_learnable<PCu, {true}>},
      {"MovingAveragePerChannelMinMaxObserver/quint8/per_channel_symmetric/0/255/nogs", run_learnable<PCus, {false}>},
      {"MovingAveragePerChannelMinMaxObserver/quint8/per_channel_symmetric/0/255/gs", run_learnable<PCus, {true}>},
  };
  std::map<std::string, int> counts;
  for (const auto& c : cases()) {
    const std::string module = c.at("module"), name = c.at("name");
    CAPTURE(name);
    if (module == "LearnableFakeQuantize") {
      const auto key = learnable_key(c.at("args"));
      REQUIRE_MESSAGE(learnable.count(key) == 1, "no ctq type for learnable configuration " << key);
      learnable.at(key)(c);
    } else {
      const std::string config = c.at("config");
      REQUIRE_MESSAGE(modules.count(config) == 1, "no ctq type for " << config);
      modules.at(config)(c);
    }
    ++counts[module];
  }
  for (const auto& [m, n] : counts) MESSAGE(m << ": " << n << " cases");
  CHECK(counts.size() == 3);
}
