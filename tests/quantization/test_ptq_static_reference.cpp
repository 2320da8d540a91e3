// Post-training static quantization of a conv net against PyTorch 1.13 (tests/data/
// ptq_static_reference.json, written by tools/reference/gen_ptq_static.py): the float weights are
// loaded into ctq's model, which is fused, prepared, calibrated on the same 6 batches and
// converted for backend x86 (qconfig x86, PyTorch engine onednn), onednn and qnnpack. Checked:
//   - every layer's output scale (1 ulp allowed, count of non-exact reported) and zero point;
//     int8 weights, weight scales and zero points, and the BatchNorm-folded float bias;
//   - every layer's output codes, the layer given PyTorch's own input codes;
//   - the whole model's output codes on 2 test batches, within 1 LSB, with the fraction of
//     non-exact outputs reported.
// Tolerances: 1 ulp on a scale, because ctq's float model (Eigen) and PyTorch's (oneDNN) sum
// each convolution in a different order, so the calibration activations the histogram observers
// see can differ in their last bits; 1 LSB on codes, where PyTorch's onednn engine runs oneDNN's
// AMX kernel, which adds the zero-point compensation in float after the bias (docs/numerics.md
// (15)).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/reference.hpp"
#include "ptq_net.hpp"

using namespace ctq;
using ctq_test::PtqNet;

namespace {

// The scale tolerance: 1 ulp on x86, where Eigen's float GEMM and PyTorch's oneDNN differ only in
// the last bits of some activations; 4 ulp on other architectures, where Eigen's NEON kernels sum
// in yet another order (3 ulp seen on conv3 under qemu-aarch64; every code still equal).
#if defined(__x86_64__) || defined(_M_X64)
constexpr std::int64_t scale_ulps = 1;
#else
constexpr std::int64_t scale_ulps = 4;
#endif

const nlohmann::json& data() {
  static const nlohmann::json d = ctq_test::load_reference("ptq_static_reference.json");
  return d;
}

using ctq_test::float_tensor;

template <int R>
nn::quantized::QActivation<R> codes(const nlohmann::json& e) {
  return ctq_test::quint8_tensor<R>(e);
}

nn::StateDict float_state() {
  nn::StateDict d;
  for (const auto& [key, e] : data()["float_state"].items()) {
    nn::StateTensor t;
    for (const auto& v : e["shape"]) t.shape.push_back(v.get<index_t>());
    t.values = ctq_test::floats_b64(e["b64"].get<std::string>());
    d.emplace(key, std::move(t));
  }
  return d;
}

struct Counts {
  std::int64_t total = 0, off_by_one = 0, worse = 0;
};

// Codes of y against the reference codes; 1 LSB tolerated (see the file comment).
template <int R>
Counts compare_codes(const nn::quantized::QActivation<R>& y, const nlohmann::json& ref, const std::string& what) {
  const auto expected = codes<R>(ref);
  REQUIRE(y.shape() == expected.shape());
  CHECK_MESSAGE(ctq_test::ulp_distance(y.scale(), expected.scale()) <= scale_ulps, what << ": output scale");
  CHECK_MESSAGE(y.zero_point() == expected.zero_point(), what << ": output zero point");
  Counts c;
  for (index_t i = 0; i < y.size(); ++i) {
    const int d = std::abs(int{y.data()[i]} - int{expected.data()[i]});
    ++c.total;
    if (d == 1) ++c.off_by_one;
    if (d > 1 && ++c.worse <= 3) {
      MESSAGE(what << " [" << i << "]: PyTorch " << int{expected.data()[i]} << ", ctq " << int{y.data()[i]});
    }
  }
  CHECK_MESSAGE(c.worse == 0, what << ": " << c.worse << " of " << c.total << " codes differ by more than 1");
  return c;
}

// The layer's quantized parameters against PyTorch's.
template <class Q>
void compare_layer(const Q& q, const nlohmann::json& ref, const std::string& what, std::int64_t& total_ulps) {
  const float scale = ctq_test::to_float(ref["scale"]);
  const auto ulps = ctq_test::ulp_distance(q.output_qparams().scale, scale);
  CHECK_MESSAGE(ulps <= scale_ulps, what << ": scale " << q.output_qparams().scale << " vs PyTorch " << scale);
  total_ulps += ulps;
  if (ulps != 0) MESSAGE(what << ": output scale " << ulps << " ulp off PyTorch's");
  CHECK_MESSAGE(q.output_qparams().zero_point == ref["zero_point"].get<std::int32_t>(), what << ": zero point");
  if constexpr (requires { q.weight(); }) {
    const auto& w = q.weight();
    // the reference weight is OHWI (linear: [out][in]); ctq keeps PyTorch's [out][in/groups][k...]
    const auto ref_w = ctq_test::bytes_b64(ref["weight"].get<std::string>());
    const auto shape = ref["weight_shape"].get<std::vector<index_t>>();
    REQUIRE(ref_w.size() == w.values.size());
    const index_t out = shape.front(), in = shape.back();
    const index_t taps = static_cast<index_t>(ref_w.size()) / (out * in);
    int wrong = 0;
    for (index_t o = 0; o < out; ++o)
      for (index_t t = 0; t < taps; ++t)
        for (index_t c = 0; c < in; ++c) {
          const auto expected = static_cast<std::int8_t>(ref_w[static_cast<std::size_t>((o * taps + t) * in + c)]);
          wrong += expected != w.values[static_cast<std::size_t>((o * in + c) * taps + t)];
        }
    CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " int8 weights differ");
    const auto ref_scales = ctq_test::floats(ref["weight_scales"]);
    REQUIRE(ref_scales.size() == w.scales.size());
    for (std::size_t i = 0; i < w.scales.size(); ++i) {
      CHECK_MESSAGE(ctq_test::same_float(ref_scales[i], w.scales[i]), what << ": weight scale " << i);
    }
    CHECK(ctq_test::ints<std::int32_t>(ref["weight_zero_points"]) == w.zero_points);
    ctq_test::check_bits(ctq_test::floats_b64(ref["bias"].get<std::string>()), q.bias().data(), q.bias().size(),
                         what + ": bias");
  }
}

template <class B>
void check_config(const nlohmann::json& cfg) {
  const std::string name = cfg["name"].get<std::string>();
  INFO("config " << name << " (PyTorch engine " << cfg["engine"].get<std::string>() << ")");
  PtqNet net;
  nn::load_state_dict(net, float_state());
  auto prepared = prepare<get_default_qconfig<B>>(ctq_test::fuse_ptq_net(net));
  std::vector<Tensor<float, 4>> batches;
  for (const auto& e : data()["calibration"]) batches.push_back(float_tensor<4>(e));
  calibrate(prepared, batches);
  auto q = convert<B>(prepared);

  // parameters, layer by layer
  const auto& layers = cfg["layers"];
  std::int64_t ulps = 0;
  compare_layer(nn::module_at<"conv1">(q), layers["conv1"], "conv1", ulps);
  compare_layer(nn::module_at<"block.body.conv_a">(q), layers["block.body.conv_a"], "block.body.conv_a", ulps);
  compare_layer(nn::module_at<"block.body.conv_b">(q), layers["block.body.conv_b"], "block.body.conv_b", ulps);
  compare_layer(nn::module_at<"block.skip_add">(q), layers["block.skip_add"], "block.skip_add", ulps);
  compare_layer(nn::module_at<"conv3">(q), layers["conv3"], "conv3", ulps);
  compare_layer(nn::module_at<"dw">(q), layers["dw"], "dw", ulps);
  compare_layer(nn::module_at<"fc1">(q), layers["fc1"], "fc1", ulps);
  compare_layer(nn::module_at<"fc2">(q), layers["fc2"], "fc2", ulps);
  {
    const auto& quant = nn::module_at<"quant">(q);
    const auto u = ctq_test::ulp_distance(quant.qparams.scale, ctq_test::to_float(layers["quant"]["scale"]));
    CHECK(u <= scale_ulps);
    ulps += u;
    CHECK(quant.qparams.zero_point == layers["quant"]["zero_point"].get<std::int32_t>());
  }
  MESSAGE(name << ": 9 layers' output scales, " << ulps << " ulp off in total");

  // each layer on PyTorch's own input codes (first test batch)
  const auto& outs = cfg["runs"][0]["layer_outputs"];
  Counts total;
  auto add = [&](const Counts& c) {
    total.total += c.total;
    total.off_by_one += c.off_by_one;
  };
  const auto x = float_tensor<4>(data()["test_inputs"][0]);
  add(compare_codes(nn::module_at<"quant">(q)(x), outs["quant"], "quant"));
  add(compare_codes(nn::module_at<"conv1">(q)(codes<4>(outs["quant"])), outs["conv1"], "conv1"));
  add(compare_codes(nn::module_at<"block.body.conv_a">(q)(codes<4>(outs["conv1"])), outs["block.body.conv_a"],
                    "block.body.conv_a"));
  add(compare_codes(nn::module_at<"block.body.conv_b">(q)(codes<4>(outs["block.body.conv_a"])),
                    outs["block.body.conv_b"], "block.body.conv_b"));
  add(compare_codes(
      nn::module_at<"block.skip_add">(q).add(codes<4>(outs["conv1"]), codes<4>(outs["block.body.conv_b"])),
      outs["block.skip_add"], "block.skip_add"));
  add(compare_codes(nn::module_at<"relu2">(q)(codes<4>(outs["block.skip_add"])), outs["relu2"], "relu2"));
  add(compare_codes(nn::module_at<"pool">(q)(codes<4>(outs["relu2"])), outs["pool"], "pool"));
  add(compare_codes(nn::module_at<"conv3">(q)(codes<4>(outs["pool"])), outs["conv3"], "conv3"));
  add(compare_codes(nn::module_at<"dw">(q)(codes<4>(outs["conv3"])), outs["dw"], "dw"));
  add(compare_codes(nn::module_at<"avgpool">(q)(codes<4>(outs["dw"])), outs["avgpool"], "avgpool"));
  add(compare_codes(nn::module_at<"flatten">(q)(codes<4>(outs["avgpool"])), outs["flatten"], "flatten"));
  add(compare_codes(nn::module_at<"fc1">(q)(codes<2>(outs["flatten"])), outs["fc1"], "fc1"));
  add(compare_codes(nn::module_at<"fc2">(q)(codes<2>(outs["fc1"])), outs["fc2"], "fc2"));
  MESSAGE(name << ": layer by layer, " << total.off_by_one << " of " << total.total << " codes 1 LSB off PyTorch");

  // the whole model, end to end
  Counts end;
  for (std::size_t r = 0; r < cfg["runs"].size(); ++r) {
    const auto input = float_tensor<4>(data()["test_inputs"][r]);
    Tensor<float, 2> y = q(input);
    const auto& ref = cfg["runs"][r]["layer_outputs"]["fc2"];
    const auto expected = codes<2>(ref);
    REQUIRE(y.shape() == expected.shape());
    for (index_t i = 0; i < y.size(); ++i) {
      // back to codes: y = (q - zp) * scale exactly, so q = y / scale + zp recovers it
      const long got = std::lrint(y[i] / expected.scale()) + expected.zero_point();
      const int d = static_cast<int>(std::labs(got - long{expected.data()[i]}));
      ++end.total;
      end.off_by_one += d == 1;
      end.worse += d > 1;
    }
  }
  CHECK_MESSAGE(end.worse == 0, name << ": " << end.worse << " final outputs differ by more than 1 LSB");
  MESSAGE(name << ": end to end, " << end.off_by_one << " of " << end.total
               << " outputs 1 LSB off PyTorch, the rest exact");
}

const nlohmann::json& config(const std::string& name) {
  for (const auto& c : data()["configs"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no config " + name + " in ptq_static_reference.json");
}

}  // namespace

TEST_CASE("PTQ static: the float model, loaded from PyTorch's state dict, computes PyTorch's outputs") {
  PtqNet net;
  nn::load_state_dict(net, float_state());
  auto fused = ctq_test::fuse_ptq_net(net);
  for (std::size_t r = 0; r < data()["test_inputs"].size(); ++r) {
    const auto x = float_tensor<4>(data()["test_inputs"][r]);
    const auto expected = float_tensor<2>(data()["float_outputs"][r]);
    const Tensor<float, 2> y = net(x), yf = fused(x);
    REQUIRE(y.shape() == expected.shape());
    float worst = 0.0f, worst_fused = 0.0f;
    for (index_t i = 0; i < y.size(); ++i) {
      worst = std::max(worst, std::abs(y[i] - expected[i]));
      worst_fused = std::max(worst_fused, std::abs(yf[i] - expected[i]));
    }
    // float32 sums in another order (Eigen vs oneDNN), over 7 layers of |output| < 1: 1e-5 absolute
    CHECK(worst < 1e-5f);
    CHECK(worst_fused < 1e-5f);
    MESSAGE("float model, batch " << r << ": max |ctq - PyTorch| = " << worst << " (fused: " << worst_fused << ")");
  }
}

TEST_CASE("PTQ static: loading a state dict names the key that is missing, unexpected or misshapen") {
  PtqNet net;
  auto d = float_state();
  d.erase("fc2.bias");
  CHECK_THROWS_WITH_AS(nn::load_state_dict(net, d), "ctq: load_state_dict: missing key 'fc2.bias'", ctq::error);
  d = float_state();
  d["extra.weight"] = nn::StateTensor{{1}, {0.0f}};
  CHECK_THROWS_WITH_AS(nn::load_state_dict(net, d), "ctq: load_state_dict: unexpected key 'extra.weight'", ctq::error);
  nn::load_state_dict(net, d, /*strict=*/false);
  d = float_state();
  d["conv1.weight"].shape = {16, 3, 9};
  CHECK_THROWS_WITH_AS(nn::load_state_dict(net, d),
                       "ctq: load_state_dict: 'conv1.weight' has a different shape from the model's", ctq::error);
}

TEST_CASE("PTQ static: x86 qconfig, onednn numerics, against PyTorch") { check_config<backend::x86>(config("x86")); }
TEST_CASE("PTQ static: onednn qconfig and engine, against PyTorch") { check_config<backend::onednn>(config("onednn")); }
TEST_CASE("PTQ static: qnnpack qconfig and engine, against PyTorch") {
  check_config<backend::qnnpack>(config("qnnpack"));
}
