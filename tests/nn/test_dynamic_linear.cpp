// nn::quantized::dynamic::Linear / LinearFp16 and nn::intrinsic::quantized::dynamic::LinearReLU
// against PyTorch 1.13 (tests/data/qdynamic_linear_reference.json, written by
// tools/reference/gen_qdynamic_linear.py):
//   - int8 weights (per tensor and per channel, symmetric from quantize_dynamic's qconfigs; affine
//     on qnnpack through the op), both engines, with and without ReLU, M = 1, 3, 16, rank-3 input,
//     reduce_range true and false, inputs at rounding ties, zero / constant / one-signed / tiny /
//     large inputs: every output bit for bit, and the input's scale and zero point;
//   - float16 weights: the float16 bits of the weights exactly; outputs within the float32
//     summation error bound (derived below), since PyTorch here cannot run its fp16 kernel and
//     no float GEMM fixes an order of summation;
//   - random shapes (rows 1..33, N around the kernel's panel width, deep K) against a scalar
//     model of the engines' formulas, bit for bit;
//   - no allocation in forward once a row count has been seen; runtime errors.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctq/nn/quantized/dynamic/linear.hpp>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

// Counts heap allocations while `counting` is set (the no-allocation check below).
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// Out of line, so that the compiler does not pair a visible free() with an operator new call.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace ctq;
using json = nlohmann::json;
using nn::quantized::EngineConfig;
using nn::quantized::QuantizedWeight;
namespace qd = nn::quantized::dynamic;

namespace {

const json& data() {
  static const json d = ctq_test::load_reference("qdynamic_linear_reference.json");
  return d;
}

EngineConfig engine_of(const std::string& name) {
  EngineConfig e;
  if (name == "qnnpack") {
    e.style = kernels::requantize_style::qnnpack;
    e.torch.engine = kernels::qengine::qnnpack;
  } else {
    e.style = kernels::requantize_style::onednn;
    e.torch.engine = kernels::qengine::onednn;
  }
  return e;
}

QuantizedWeight weight_of(const json& m) {
  QuantizedWeight w;
  const auto bytes = ctq_test::bytes_b64(m["w"].get<std::string>());
  w.values.assign(bytes.begin(), bytes.end());  // int8 bytes, two's complement
  for (auto& v : w.values) v = static_cast<std::int8_t>(static_cast<std::uint8_t>(v));
  w.scales = ctq_test::floats(m["w_scales"]);
  w.zero_points = ctq_test::ints<std::int32_t>(m["w_zero_points"]);
  w.per_channel = w.scales.size() > 1;
  return w;
}

std::vector<float> bias_of(const json& m) {
  return m["bias"].is_null() ? std::vector<float>{} : ctq_test::floats(m["bias"]);
}

std::vector<float> input_of(const json& c) {
  return ctq_test::floats_b64(data()["inputs"][c["input"].get<std::size_t>()]["x"].get<std::string>());
}

// Bit-for-bit equality, reporting the first mismatch.
void check_bitwise(const float* y, const std::vector<float>& e, const std::string& what) {
  INFO(what);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (!ctq_test::same_float(y[i], e[i])) {
      if (bad == 0) {
        char text[96];
        std::snprintf(text, sizeof text, "first mismatch at %zu: ctq %.9g, PyTorch %.9g", i, static_cast<double>(y[i]),
                      static_cast<double>(e[i]));
        INFO(text);
        CHECK(false);
      }
      ++bad;
    }
  }
  CHECK(bad == 0);
}

// --- a scalar model of the two engines (docs/numerics.md), for random shapes -------------------
float model_product(float a, float b) { return ctq::detail::no_contract(a * b); }

std::vector<float> model_forward(const QuantizedWeight& w, const std::vector<float>& bias, const std::vector<float>& x,
                                 index_t rows, index_t in, index_t out, bool onednn, bool reduce, bool relu) {
  float lo = x[0], hi = x[0];
  for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v);
  const auto c = choose_qparams(lo, hi, 0, 255, false, false, reduce && onednn);
  std::vector<std::int32_t> q(x.size());
  const auto s = static_cast<float>(c.scale);
  const auto inv_d = static_cast<float>(1.0 / c.scale);
  for (std::size_t i = 0; i < x.size(); ++i) {
    float t = onednn ? model_product(x[i], inv_d) + static_cast<float>(c.zero_point)
                     : std::nearbyint(model_product(x[i], 1.0f / s)) + static_cast<float>(c.zero_point);
    t = std::nearbyint(std::min(std::max(t, 0.0f), 255.0f));
    q[i] = static_cast<std::int32_t>(t);
  }
  std::vector<float> y(static_cast<std::size_t>(rows * out));
  for (index_t r = 0; r < rows; ++r) {
    for (index_t o = 0; o < out; ++o) {
      const auto oc = static_cast<std::size_t>(o);
      const std::size_t wc = w.scales.size() == 1 ? 0 : oc;
      std::int64_t acc = 0;
      for (index_t k = 0; k < in; ++k) {
        acc += std::int64_t{q[static_cast<std::size_t>(r * in + k)] - c.zero_point} *
               (w.values[static_cast<std::size_t>(o * in + k)] - w.zero_points[wc]);
      }
      const float b = bias.empty() ? 0.0f : bias[oc];
      float v;
      if (onednn) {
        const float bs = model_product(inv_d, static_cast<float>(1.0 / static_cast<double>(w.scales[wc])));
        v = model_product(static_cast<float>(acc) + model_product(b, bs), 1.0f / bs);
      } else {
        v = model_product(static_cast<float>(acc), model_product(w.scales[wc], s)) + b;
      }
      y[static_cast<std::size_t>(r * out + o)] = relu ? (v > 0.0f ? v : 0.0f) : v;
    }
  }
  return y;
}

}  // namespace

TEST_CASE("dynamic Linear (int8): every output equals PyTorch's, both engines") {
  const json& d = data();
  REQUIRE(d["int8"].size() >= 150);
  std::size_t outputs = 0, qnnpack = 0, onednn = 0;
  for (const auto& c : d["int8"]) {
    const std::string name = c["name"].get<std::string>();
    const json& m = d["models"][c["model"].get<std::string>()];
    const auto in = m["in"].get<index_t>(), out = m["out"].get<index_t>();
    const auto engine = engine_of(c["engine"].get<std::string>());
    const bool relu = c["relu"].get<bool>(), reduce = c["reduce_range"].get<bool>();
    const auto x = input_of(c);
    const auto expected = ctq_test::floats_b64(c["y"].get<std::string>());
    const auto rows = static_cast<index_t>(x.size()) / in;
    REQUIRE(static_cast<index_t>(expected.size()) == rows * out);

    // The input's parameters: ctq's choose_qparams on the input's min / max, reduce_range as the
    // engine applies it (qnnpack ignores it).
    float lo = x[0], hi = x[0];
    for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v);
    const bool onednn_engine = engine.style == kernels::requantize_style::onednn;
    const auto chosen = choose_qparams(lo, hi, 0, 255, false, false, reduce && onednn_engine);
    CHECK_MESSAGE(chosen.scale == c["x_scale"].get<double>(), name);
    CHECK_MESSAGE(chosen.zero_point == c["x_zero_point"].get<std::int32_t>(), name);

    qd::detail::DynamicLinearCore core(weight_of(m), bias_of(m), in, out, engine, reduce, relu);
    std::vector<float> y(expected.size(), -12345.0f);
    core.forward(x.data(), rows, y.data());
    check_bitwise(y.data(), expected, name);
    // Again: the cached multipliers (same input scale) give the same bits.
    core.forward(x.data(), rows, y.data());
    check_bitwise(y.data(), expected, name + " (second call)");
    outputs += expected.size();
    (onednn_engine ? onednn : qnnpack) += 1;
  }
  MESSAGE(d["int8"].size() << " cases (" << qnnpack << " qnnpack, " << onednn << " onednn), " << outputs
                           << " outputs, all bitwise equal");
}

TEST_CASE("dynamic Linear: the typed modules, rank-3 input, LinearReLU alias") {
  const json& d = data();
  int checked = 0;
  for (const auto& c : d["int8"]) {
    const std::string model = c["model"].get<std::string>();
    if (model != "per_channel_symmetric inputs" && model != "per_tensor_symmetric inputs") continue;
    const json& m = d["models"][model];
    REQUIRE(m["in"] == 29);
    REQUIRE(m["out"] == 11);
    const auto engine = engine_of(c["engine"].get<std::string>());
    const auto x = input_of(c);
    const auto expected = ctq_test::floats_b64(c["y"].get<std::string>());
    const json& shape = d["inputs"][c["input"].get<std::size_t>()]["shape"];
    auto run = [&]<class M>(M layer) {
      if (shape.size() == 3) {
        Tensor<float, 3> xt({shape[0].get<index_t>(), shape[1].get<index_t>(), 29}, std::span<const float>(x));
        const auto y = layer(xt);
        CHECK(y.shape() == Shape<3>{shape[0].get<index_t>(), shape[1].get<index_t>(), 11});
        check_bitwise(y.data(), expected, c["name"].get<std::string>());
      } else {
        Tensor<float, 2> xt({shape[0].get<index_t>(), 29}, std::span<const float>(x));
        const auto y = layer(xt);
        CHECK(y.shape() == Shape<2>{shape[0].get<index_t>(), 11});
        check_bitwise(y.data(), expected, c["name"].get<std::string>());
      }
      CHECK(layer.parameter_bytes() == 29 * 11 + 4 * (2 * layer.weight().scales.size() + 11));
    };
    if (c["relu"].get<bool>()) {
      run(nn::intrinsic::quantized::dynamic::LinearReLU<29, 11>(weight_of(m), bias_of(m), engine, true));
    } else {
      run(qd::Linear<29, 11>(weight_of(m), bias_of(m), engine, true));
    }
    ++checked;
  }
  CHECK(checked == 64);  // 8 inputs x 2 engines x 2 (ReLU or not) x 2 weight schemes
  static_assert(std::is_same_v<nn::intrinsic::quantized::dynamic::LinearReLU<3, 2>, qd::LinearT<3, 2, true>>);
  static_assert(std::is_same_v<qd::Linear<3, 2>, qd::LinearT<3, 2, false>>);
  static_assert(std::is_same_v<qd::LinearFp16<3, 2>, qd::LinearFp16T<3, 2, false>>);
}

// Float16 weights. PyTorch's reference y is F.linear(x, w.half().float(), b) in float32 (its fp16
// kernel cannot run here), and ctq computes the same sum through Eigen, in another order. Both are
// float32 sums of K products and a bias: whatever the order, each differs from the exact value
// E = b + sum_k x_k w16_k (computed here in double, exact to ~2^-50 relative) by at most
// gamma_(K+2) * S, S = |b| + sum_k |x_k w16_k|, gamma_n = n u / (1 - n u), u = 2^-24 (Higham,
// Accuracy and Stability of Numerical Algorithms, (3.5): K product roundings and K additions,
// plus one for the FMA-free bias add). ReLU does not increase a difference. So each of ctq and
// PyTorch is checked against E within that bound, and against each other within twice it.
TEST_CASE("dynamic Linear (float16 weights): float16 bits exact, outputs within the float32 summation bound") {
  const json& d = data();
  std::size_t outputs = 0;
  double worst = 0.0;  // the largest |ctq - E| / bound seen
  for (const auto& c : d["fp16"]) {
    const std::string name = c["name"].get<std::string>();
    INFO(name);
    const json& m = d["fp16_models"][c["model"].get<std::string>()];
    const auto in = m["in"].get<index_t>(), out = m["out"].get<index_t>();
    const auto w = ctq_test::floats_b64(m["w"].get<std::string>());
    const auto w16_bytes = ctq_test::bytes_b64(m["w_fp16"].get<std::string>());
    REQUIRE(w16_bytes.size() == w.size() * 2);
    const auto bias = bias_of(m);
    const bool relu = c["relu"].get<bool>();
    const auto x = input_of(c);
    const auto expected = ctq_test::floats_b64(c["y"].get<std::string>());
    const auto rows = static_cast<index_t>(x.size()) / in;

    qd::detail::Fp16LinearCore core(w.data(), bias, in, out, relu);
    REQUIRE(core.weight_fp16().size() == w.size());
    std::vector<float> w16(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) {
      const auto bits = static_cast<std::uint16_t>(w16_bytes[2 * i] | (w16_bytes[2 * i + 1] << 8));
      CHECK(core.weight_fp16()[i].bits == bits);
      w16[i] = ctq::float16_t::from_bits(bits).to_float();
    }
    std::vector<float> y(expected.size());
    core.forward(x.data(), rows, y.data());

    const double u = std::ldexp(1.0, -24), n = static_cast<double>(in + 2);
    const double gamma = n * u / (1.0 - n * u);
    for (index_t r = 0; r < rows; ++r) {
      for (index_t o = 0; o < out; ++o) {
        const double b = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
        double e = b, s = std::fabs(b);
        for (index_t k = 0; k < in; ++k) {
          const double p =
              static_cast<double>(x[static_cast<std::size_t>(r * in + k)]) * w16[static_cast<std::size_t>(o * in + k)];
          e += p;
          s += std::fabs(p);
        }
        if (relu) e = e > 0.0 ? e : 0.0;
        const double bound = gamma * s;
        const auto i = static_cast<std::size_t>(r * out + o);
        CHECK(std::fabs(y[i] - e) <= bound);
        CHECK(std::fabs(expected[i] - e) <= bound);
        CHECK(std::fabs(static_cast<double>(y[i]) - expected[i]) <= 2 * bound);
        if (bound > 0) worst = std::max(worst, std::fabs(y[i] - e) / bound);
        if (relu) CHECK(y[i] >= 0.0f);
      }
    }
    outputs += expected.size();
  }
  MESSAGE(d["fp16"].size() << " cases, " << outputs << " outputs within the bound; worst |ctq - exact| / bound "
                           << worst);

  // The typed module: same values as the core.
  const json& c = d["fp16"][0];
  const json& m = d["fp16_models"][c["model"].get<std::string>()];
  REQUIRE(m["in"] == 16);
  REQUIRE(m["out"] == 8);
  const auto wv = ctq_test::floats_b64(m["w"].get<std::string>());
  Tensor<float, 2> wt({8, 16}, std::span<const float>(wv));
  qd::LinearFp16<16, 8> layer(wt, bias_of(m));
  const auto x = input_of(c);
  const auto y = layer(Tensor<float, 2>({1, 16}, std::span<const float>(x)));
  std::vector<float> yc(8);
  qd::detail::Fp16LinearCore(wv.data(), bias_of(m), 16, 8, false).forward(x.data(), 1, yc.data());
  check_bitwise(y.data(), yc, "LinearFp16 vs its core");
  CHECK(layer.parameter_bytes() == 2 * 16 * 8 + 4 * 8);
}

TEST_CASE("dynamic Linear: random shapes against the scalar model of both engines") {
  std::mt19937 g(20261202);
  std::uniform_int_distribution<int> code(-128, 127);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const index_t ins[] = {1, 3, 4, 5, 16, 17, 31, 64, 67, 300};
  const index_t outs[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 65};
  int cases = 0;
  for (int t = 0; t < 120; ++t) {
    const index_t in = ins[static_cast<std::size_t>(t) % 10], out = outs[static_cast<std::size_t>(t * 7) % 12];
    const index_t rows = 1 + static_cast<index_t>(g() % 33);
    const bool onednn = t % 2 == 1, per_channel = (t / 2) % 2 == 1, relu = (t / 4) % 2 == 1;
    const bool reduce = (t / 8) % 3 != 0, affine = !onednn && (t / 3) % 2 == 1;
    QuantizedWeight w;
    w.values.resize(static_cast<std::size_t>(in * out));
    for (auto& v : w.values) v = static_cast<std::int8_t>(code(g));
    const std::size_t nq = per_channel ? static_cast<std::size_t>(out) : 1;
    for (std::size_t i = 0; i < nq; ++i) {
      w.scales.push_back(0.001f + 0.01f * std::fabs(normal(g)));
      w.zero_points.push_back(affine ? code(g) / 8 : 0);
    }
    w.per_channel = per_channel;
    std::vector<float> bias;
    if (t % 5 != 0) {
      for (index_t o = 0; o < out; ++o) bias.push_back(normal(g));
    }
    const float scale = std::pow(10.0f, static_cast<float>(static_cast<int>(g() % 7) - 3));
    const float shift = normal(g) * scale;
    std::vector<float> x(static_cast<std::size_t>(rows * in));
    for (auto& v : x) v = normal(g) * scale + shift;

    EngineConfig e = engine_of(onednn ? "onednn" : "qnnpack");
    qd::detail::DynamicLinearCore core(w, bias, in, out, e, reduce, relu);
    std::vector<float> y(static_cast<std::size_t>(rows * out) + 3, -7.0f);  // sentinel past the end
    core.forward(x.data(), rows, y.data());
    const auto want = model_forward(w, bias, x, rows, in, out, onednn, reduce, relu);
    char what[128];
    std::snprintf(what, sizeof what, "rows %td in %td out %td %s%s%s reduce %d", rows, in, out,
                  onednn ? "onednn" : "qnnpack", per_channel ? " per-channel" : "", relu ? " relu" : "", reduce);
    check_bitwise(y.data(), want, what);
    CHECK(y[want.size()] == -7.0f);
    CHECK(y[want.size() + 2] == -7.0f);
    ++cases;
  }
  CHECK(cases == 120);
}

TEST_CASE("dynamic Linear: forward allocates nothing once a row count has been seen") {
  QuantizedWeight w;
  w.values.assign(64 * 40, 3);
  w.scales = {0.01f};
  w.zero_points = {0};
  for (const char* engine : {"qnnpack", "onednn"}) {
    qd::detail::DynamicLinearCore core(w, {}, 64, 40, engine_of(engine), true, false);
    std::vector<float> x(16 * 64), y(16 * 40);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
    core.forward(x.data(), 16, y.data());
    allocations = 0;
    counting = true;
    core.forward(x.data(), 16, y.data());
    core.forward(x.data(), 3, y.data());  // fewer rows
    for (auto& v : x) v *= 2.0f;          // another input scale
    core.forward(x.data(), 1, y.data());
    counting = false;
    CHECK_MESSAGE(allocations.load() == 0, engine);
  }
}

TEST_CASE("dynamic Linear: runtime errors") {
  QuantizedWeight w;
  w.values.assign(6, 1);
  w.scales = {0.1f};
  w.zero_points = {0};
  const EngineConfig e = engine_of("onednn");
  qd::Linear<3, 2> layer(w, {}, e, true);
  CHECK_CTQ_ERROR(layer(Tensor<float, 2>({2, 4})), "last dimension is 4");
  Tensor<float, 2> x({1, 3});
  x[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_CTQ_ERROR(layer(x), "NaN");
  x[1] = std::numeric_limits<float>::infinity();
  CHECK_CTQ_ERROR(layer(x), "infinity");
  CHECK(layer(Tensor<float, 2>({0, 3})).size() == 0);  // no rows: nothing to do, as PyTorch

  QuantizedWeight short_w = w;
  short_w.values.resize(5);
  CHECK_CTQ_ERROR((qd::Linear<3, 2>(short_w, {}, e, true)), "needs out x in = 2 x 3");
  QuantizedWeight bad_scales = w;
  bad_scales.scales = {0.1f, 0.2f, 0.3f};
  CHECK_CTQ_ERROR((qd::Linear<3, 2>(bad_scales, {}, e, true)), "3 weight scales");
  QuantizedWeight zero_scale = w;
  zero_scale.scales = {0.0f};
  CHECK_CTQ_ERROR((qd::Linear<3, 2>(zero_scale, {}, e, true)), "finite and positive");
  CHECK_CTQ_ERROR((qd::Linear<3, 2>(w, {1.0f, 2.0f, 3.0f}, e, true)), "the bias has 3 values");
  qd::detail::DynamicLinearCore empty;
  float y[2];
  CHECK_CTQ_ERROR(empty.forward(x.data(), 1, y), "default-constructed");

  Tensor<float, 2> wf({2, 4});
  CHECK_CTQ_ERROR((qd::LinearFp16<3, 2>(wf, {})), "the weight is 2 x 4");
  CHECK_CTQ_ERROR((qd::LinearFp16<4, 2>(wf, {1.0f})), "the bias has 1 values");
  qd::LinearFp16<4, 2> h(wf, {});
  CHECK_CTQ_ERROR(h(Tensor<float, 1>({3})), "last dimension is 3");
}
