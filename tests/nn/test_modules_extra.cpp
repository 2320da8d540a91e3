// ConvTranspose1d/2d/3d (float and quantized), the quantized ELU, LeakyReLU, Sigmoid, Tanh,
// Hardsigmoid, QFunctional's cat and nn::Concat against PyTorch 1.13 on the qnnpack and onednn
// engines (tests/data/qmodules_extra_reference.json, written by
// tools/reference/gen_qmodules_extra.py):
//   - the float ConvTranspose on PyTorch's input and weights (float tolerance below);
//   - every quantized module built through ctq's mapping (quantized_module<F>::convert) from the
//     float module and the output parameters PyTorch's observer chose, run on PyTorch's input
//     codes: int8 weights, weight scale and bias as PyTorch's, output codes exact;
//   - the eager-mode net (ConvTranspose2d, Concat of LeakyReLU and Sigmoid through
//     FloatFunctional.cat, grouped ConvTranspose2d) loaded from PyTorch's float state, prepared,
//     calibrated and converted in ctq: every layer's output parameters, each layer on PyTorch's
//     own input codes, and the model end to end.
// Codes: exact (no tolerance), except in the net where ctq's own calibration chose a scale 1 ulp
// off PyTorch's: ctq's float model sums each transposed convolution in another order than PyTorch's
// (max |difference| 1.2e-7 here), so the HistogramObservers see activations differing in the last
// bit. 1 ulp is allowed on a net layer's scale for that reason (as test_ptq_static_reference.cpp
// does), and then 1 LSB on that layer's codes, counted and reported. With this data on x86-64:
// deconv2's scale is 1 ulp off on both engines, and no code differs.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
#include <map>
#include <string>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

using namespace ctq;

namespace {

const nlohmann::json& data() {
  static const nlohmann::json d = ctq_test::load_reference("qmodules_extra_reference.json");
  return d;
}

using ctq_test::float_tensor;

template <int R>
nn::quantized::QActivation<R> codes(const nlohmann::json& e) {
  return ctq_test::quint8_tensor<R>(e);
}

PerTensorQParams qparams_of(const nlohmann::json& e) {
  return {ctq_test::to_float(e["scale"]), e["zero_point"].get<std::int32_t>()};
}

struct Tally {
  std::int64_t cases = 0, outputs = 0, differ = 0;
};

// y's parameters and codes against PyTorch's: exact. With calibrated = true (a layer of the net,
// whose output parameters ctq's own calibration chose) a scale may be 1 ulp off PyTorch's, and
// then, in that layer only, a code 1 LSB off (see the file comment); both are counted.
template <int R>
void compare_codes(const nn::quantized::QActivation<R>& y, const nlohmann::json& ref, const std::string& what, Tally& t,
                   bool calibrated = false) {
  const auto want = codes<R>(ref);
  REQUIRE_MESSAGE(y.shape() == want.shape(), what << ": output shape");
  const auto ulps = ctq_test::ulp_distance(y.scale(), want.scale());
  CHECK_MESSAGE(ulps <= (calibrated ? 1 : 0), what << ": output scale " << y.scale() << " vs " << want.scale());
  CHECK_MESSAGE(y.zero_point() == want.zero_point(), what << ": output zero point");
  const int allowed = ulps == 0 ? 0 : 1;
  std::int64_t differ = 0, worse = 0;
  for (index_t i = 0; i < y.size(); ++i) {
    const int d = std::abs(int{y.data()[i]} - int{want.data()[i]});
    differ += d != 0;
    if (d > allowed && ++worse <= 3) {
      MESSAGE(what << " [" << i << "]: PyTorch " << int{want.data()[i]} << ", ctq " << int{y.data()[i]});
    }
  }
  CHECK_MESSAGE(worse == 0, what << ": " << worse << " of " << y.size() << " codes differ by more than " << allowed);
  ++t.cases;
  t.outputs += y.size();
  t.differ += differ;
}

template <class B>
nn::quantized::EngineConfig engine_of() {
  return engine_config<B>();
}

// Calls f.template operator()<B>() with the backend of a case's engine.
template <class F>
void with_engine(const std::string& engine, F&& f) {
  if (engine == "qnnpack") {
    f.template operator()<backend::qnnpack>();
  } else {
    REQUIRE(engine == "onednn");
    f.template operator()<backend::onednn>();
  }
}

// ------------------------------------------------------------------------------------------------
// ConvTranspose: the geometries of the generator, as ctq types.

template <class... T>
struct type_list {};

using TransposeTypes =
    type_list<nn::ConvTranspose1d<4, 6, 3, 2, 1, 1, 1, true, 1>, nn::ConvTranspose1d<6, 4, 4, 3, 2, 0, 2, false, 1>,
              nn::ConvTranspose1d<5, 3, 3, 1, 0, 0, 1, true, 2>, nn::ConvTranspose2d<3, 8, 4, 2, 1, 0, 1, true, 1>,
              nn::ConvTranspose2d<3, 8, 3, 2, 1, 1, 1, true, 1>, nn::ConvTranspose2d<8, 8, 3, 1, 2, 0, 8, true, 2>,
              nn::ConvTranspose2d<16, 12, 2, 2, 0, 0, 4, true, 1>, nn::ConvTranspose2d<5, 7, 3, 2, 0, 0, 1, false, 1>,
              nn::ConvTranspose3d<4, 6, 3, 2, 1, 0, 1, true, 1>, nn::ConvTranspose3d<6, 6, 2, 2, 0, 0, 3, true, 1>>;

// The generator's name of a geometry.
template <class F>
std::string transpose_name() {
  return "conv_transpose" + std::to_string(F::spatial_dims) + "d_" + std::to_string(F::in_channels) + "x" +
         std::to_string(F::out_channels) + "_k" + std::to_string(F::kernel_size) + "_s" + std::to_string(F::stride) +
         "_p" + std::to_string(F::padding) + "_op" + std::to_string(F::output_padding) + "_g" +
         std::to_string(F::groups) + "_d" + std::to_string(F::dilation) + (F::has_bias ? "" : "_nobias");
}

// Calls f.template operator()<F>() for the type whose name is `name`; false if none.
template <class F, class... T>
bool with_transpose(const std::string& name, F&& f, type_list<T...>) {
  bool found = false;
  ((!found && transpose_name<T>() == name ? (f.template operator()<T>(), found = true) : false), ...);
  return found;
}

template <class F>
F float_transpose(const nlohmann::json& c) {
  F m;
  const auto w = ctq_test::floats_b64(c["float_weight"]["b64"].get<std::string>());
  REQUIRE(static_cast<index_t>(w.size()) == m.weight.size());
  std::copy(w.begin(), w.end(), m.weight.values().begin());
  if constexpr (F::has_bias) {
    const auto b = ctq_test::floats_b64(c["float_bias"]["b64"].get<std::string>());
    REQUIRE(static_cast<index_t>(b.size()) == m.bias.size());
    std::copy(b.begin(), b.end(), m.bias.values().begin());
  }
  return m;
}

// The weight observer PyTorch's ConvTranspose gets (per-tensor: PyTorch rejects per-channel ones).
template <class B>
using TransposeQConfig = QConfig<typename get_default_qconfig<B>::activation, default_weight_observer>;

}  // namespace

TEST_CASE("nn::ConvTranspose1d/2d/3d: the float module computes PyTorch's float output") {
  const auto& floats = data()["conv_transpose_float"];
  int n = 0;
  for (const auto& fc : floats) {
    const std::string name = fc["name"];
    CAPTURE(name);
    const nlohmann::json* weights = nullptr;
    for (const auto& c : data()["modules"]) {
      if (c["module"] == "conv_transpose" && c["name"] == name) weights = &c;
    }
    REQUIRE(weights != nullptr);
    const bool found = with_transpose(
        name,
        [&]<class F>() {
          constexpr int R = F::spatial_dims + 2;
          const F m = float_transpose<F>(*weights);
          const auto x = float_tensor<R>(fc["x"]);
          const auto want = float_tensor<R>(fc["y"]);
          const Tensor<float, R> y = m(x);
          REQUIRE(y.shape() == want.shape());
          REQUIRE(F::output_shape(x.shape()) == want.shape());
          // float32 sums of at most in_channels / groups * taps = 108 products of |x| < 4 and |w| < 0.6
          // in another order than PyTorch's: 1e-5 absolute, 1e-5 relative
          float worst = 0.0f;
          for (index_t i = 0; i < y.size(); ++i) {
            const float d = std::abs(y[i] - want[i]);
            worst = std::max(worst, d);
            CHECK_MESSAGE(d <= 1e-5f + 1e-5f * std::abs(want[i]), "element " << i);
          }
          MESSAGE(name << ": max |ctq - PyTorch| = " << worst);
          ++n;
        },
        TransposeTypes{});
    CHECK(found);
  }
  CHECK(n == 10);
}

TEST_CASE("nn::quantized::ConvTranspose1d/2d/3d through the mapping against PyTorch (qnnpack, onednn)") {
  Tally tq, to;
  for (const auto& c : data()["modules"]) {
    if (c["module"] != "conv_transpose") continue;
    const std::string name = c["name"], engine = c["engine"];
    CAPTURE(name);
    CAPTURE(engine);
    Tally& t = engine == "qnnpack" ? tq : to;
    const bool found = with_transpose(
        name,
        [&]<class F>() {
          constexpr int R = F::spatial_dims + 2;
          const F m = float_transpose<F>(c);
          with_engine(engine, [&]<class B>() {
            const ConvertInfo info{qparams_of(c["y"]), engine_of<B>()};
            auto q = quantized_module<F>::template convert<TransposeQConfig<B>>(m, info);
            static_assert(std::is_same_v<decltype(q), typename quantized_module<F>::type>);
            // the weight as PyTorch's convert quantized it
            const auto w = ctq_test::bytes_b64(c["weight"].get<std::string>());
            REQUIRE(w.size() == q.weight().values.size());
            int wrong = 0;
            for (std::size_t i = 0; i < w.size(); ++i) wrong += static_cast<std::int8_t>(w[i]) != q.weight().values[i];
            CHECK_MESSAGE(wrong == 0, wrong << " int8 weights differ");
            REQUIRE(q.weight().scales.size() == 1);
            CHECK(ctq_test::same_float(q.weight().scales[0], ctq_test::to_float(c["weight_scale"])));
            CHECK(q.weight().zero_points[0] == c["weight_zero_point"].get<std::int32_t>());
            if (c["packed_bias"].is_null()) {
              CHECK(q.bias().empty());
            } else if (!F::has_bias) {
              // qnnpack's packed parameters hold zeros for a layer without bias; ctq holds none
              CHECK(q.bias().empty());
              for (float b : ctq_test::floats_b64(c["packed_bias"].get<std::string>())) CHECK(b == 0.0f);
            } else {
              ctq_test::check_bits(ctq_test::floats_b64(c["packed_bias"].get<std::string>()), q.bias().data(),
                                   q.bias().size(), "bias");
            }
            compare_codes(q(codes<R>(c["x"])), c["y"], name, t);
          });
        },
        TransposeTypes{});
    CHECK(found);
  }
  // qnnpack has no 3-d transposed convolution; onednn takes no output_padding (see the generator)
  CHECK(tq.cases == 8);
  CHECK(to.cases == 8);
  MESSAGE("ConvTranspose: qnnpack " << tq.cases << " cases, " << tq.outputs << " outputs, " << tq.differ
                                    << " differ; onednn " << to.cases << " cases, " << to.outputs << " outputs, "
                                    << to.differ << " differ");
}

namespace {

// The ctq float module of an activation case.
template <class F>
void with_activation(const nlohmann::json& c, F&& f) {
  const std::string kind = c["module"];
  if (kind == "elu") {
    const float a = ctq_test::to_float(c["alpha"]);
    if (a == 1.0f) return f.template operator()<nn::ELU<1.0f>>();
    REQUIRE(a == 0.5f);
    return f.template operator()<nn::ELU<0.5f>>();
  }
  if (kind == "leaky_relu") {
    const float s = ctq_test::to_float(c["negative_slope"]);
    if (s == 0.01f) return f.template operator()<nn::LeakyReLU<0.01f>>();
    REQUIRE(s == 0.2f);
    return f.template operator()<nn::LeakyReLU<0.2f>>();
  }
  if (kind == "sigmoid") return f.template operator()<nn::Sigmoid>();
  if (kind == "tanh") return f.template operator()<nn::Tanh>();
  REQUIRE(kind == "hardsigmoid");
  return f.template operator()<nn::Hardsigmoid>();
}

}  // namespace

TEST_CASE("quantized ELU, LeakyReLU, Sigmoid, Tanh, Hardsigmoid through the mapping against PyTorch") {
  // PyTorch's eager prepare observes ELU and LeakyReLU only (in eval mode); ctq's traits say the same
  static_assert(observes_output<nn::ELU<1.0f>>::value && observes_output<nn::LeakyReLU<0.2f>>::value);
  static_assert(!observes_output<nn::Sigmoid>::value && !observes_output<nn::Tanh>::value &&
                !observes_output<nn::Hardsigmoid>::value);
  static_assert(!quantized_module<nn::Sigmoid>::needs_qconfig && quantized_module<nn::ELU<0.5f>>::needs_qconfig);
  std::map<std::string, Tally> tallies;
  for (const auto& c : data()["modules"]) {
    const std::string kind = c["module"];
    if (kind == "conv_transpose" || kind == "cat") continue;
    const std::string name = c["name"], engine = c["engine"];
    CAPTURE(name);
    CAPTURE(engine);
    if (c.contains("prepared_observer")) {
      CHECK(c["prepared_observer"] == false);
      CHECK(c["converted_type"] != "");
    }
    with_activation(c, [&]<class F>() {
      with_engine(engine, [&]<class B>() {
        const ConvertInfo info{qparams_of(c["y"]), engine_of<B>()};
        using QC = get_default_qconfig<B>;
        auto q = quantized_module<F>::template convert<QC>(F{}, info);
        compare_codes(q(codes<4>(c["x"])), c["y"], name, tallies[kind + " " + engine]);
      });
    });
  }
  std::int64_t cases = 0;
  for (const auto& [k, t] : tallies) {
    MESSAGE(k << ": " << t.cases << " cases, " << t.outputs << " outputs, " << t.differ << " differ");
    cases += t.cases;
  }
  CHECK(cases == 42);
}

TEST_CASE("quantized Sigmoid, Tanh, Hardsigmoid take float tensors as the float modules do") {
  Tensor<float, 2> x({2, 3}, {-4.0f, -1.0f, -0.25f, 0.0f, 0.5f, 3.5f});
  nn::quantized::Sigmoid s;
  nn::quantized::Tanh t;
  nn::quantized::Hardsigmoid h;
  const Tensor<float, 2> ys = s(x), yt = t(x), yh = h(x);
  const Tensor<float, 2> es = nn::Sigmoid{}(x), et = nn::Tanh{}(x), eh = nn::Hardsigmoid{}(x);
  for (index_t i = 0; i < x.size(); ++i) {
    CHECK(ctq_test::same_float(ys[i], es[i]));
    CHECK(ctq_test::same_float(yt[i], et[i]));
    CHECK(ctq_test::same_float(yh[i], eh[i]));
  }
}

TEST_CASE("QFunctional cat (nn::quantized::cat) against PyTorch, channels-last and contiguous inputs") {
  Tally t;
  for (const auto& c : data()["modules"]) {
    if (c["module"] != "cat") continue;
    const std::string name = c["name"], engine = c["engine"], format = c["memory_format"];
    CAPTURE(name);
    CAPTURE(engine);
    with_engine(engine, [&]<class B>() {
      auto e = engine_of<B>();
      e.torch.format =
          format == "channels_last" ? kernels::memory_format::channels_last : kernels::memory_format::contiguous;
      const auto& ins = c["inputs"];
      const auto out = qparams_of(c["y"]);
      if (ins.size() == 3) {
        const auto a = codes<4>(ins[0]), b = codes<4>(ins[1]), d = codes<4>(ins[2]);
        const std::array<const nn::quantized::QActivation<4>*, 3> xs{&a, &b, &d};
        compare_codes(nn::quantized::cat(xs, out, e), c["y"], name, t);
        if (format == "channels_last") {
          compare_codes(nn::quantized::cat(nn::quantized::QFunctional(out, e), xs), c["y"], name + " (QFunctional)", t);
        }
      } else {
        REQUIRE(ins.size() == 2);
        const auto a = codes<4>(ins[0]), b = codes<4>(ins[1]);
        const std::array<const nn::quantized::QActivation<4>*, 2> xs{&a, &b};
        compare_codes(nn::quantized::cat(xs, out, e), c["y"], name, t);
      }
    });
  }
  CHECK(t.cases == 12 + 4);
  MESSAGE("cat: " << t.cases << " runs, " << t.outputs << " outputs, " << t.differ << " differ");
}

TEST_CASE("nn::quantized::cat of ranks other than 4 requantizes exactly, as PyTorch's contiguous kernel") {
  // PyTorch's channels-last cat kernel takes 4-d tensors only: a [N, F] cat dequantizes (q - z) s
  // exactly and quantizes with 1.0f / s_out, here checked against that formula element by element
  using QA = nn::quantized::QActivation<2>;
  const QA a({1, 9}, {0.05f, 3}, std::vector<std::uint8_t>{0, 1, 2, 3, 50, 100, 200, 254, 255});
  const QA b({1, 10}, {0.0123f, 200}, std::vector<std::uint8_t>{0, 7, 9, 100, 128, 129, 199, 200, 201, 255});
  const PerTensorQParams out{0.02f, 120};
  const std::array<const QA*, 2> xs{&a, &b};
  const QA y = nn::quantized::cat(xs, out, engine_config<backend::onednn>());
  REQUIRE(y.shape() == Shape<2>{1, 19});
  for (index_t i = 0; i < 19; ++i) {
    const QA& src = i < 9 ? a : b;
    const index_t j = i < 9 ? i : i - 9;
    const float v = static_cast<float>(int{src.data()[j]} - src.zero_point()) * src.scale();
    const float q = std::nearbyint(v * (1.0f / out.scale)) + static_cast<float>(out.zero_point);
    CHECK(int{y.data()[i]} == static_cast<int>(std::min(255.0f, std::max(0.0f, q))));
  }
}

TEST_CASE("bad input: clear errors from ConvTranspose and cat") {
  nn::ConvTranspose2d<4, 6, 3> f;
  CHECK_CTQ_ERROR(f(Tensor<float, 4>({1, 5, 5, 3})), "the input has 3 channels");
  nn::ConvTranspose2d<2, 2, 1, 1, 1> padded;  // (1 - 1) 1 - 2 + 0 + 0 + 1 < 1
  CHECK_CTQ_ERROR(padded(Tensor<float, 4>({1, 1, 1, 2})), "gives an output of size -1");
  using QA = nn::quantized::QActivation<4>;
  const QA a({1, 2, 2, 3}, {0.1f, 10}), b({1, 2, 3, 3}, {0.1f, 10});
  const std::array<const QA*, 2> xs{&a, &b};
  CHECK_CTQ_ERROR((nn::quantized::cat(xs, {0.1f, 0}, {})), "differs from tensor 0 in dimension 2");
  nn::quantized::QuantizedWeight w;
  w.values.assign(10, 0);
  w.scales = {1.0f};
  w.zero_points = {0};
  CHECK_CTQ_ERROR((nn::quantized::ConvTranspose2d<4, 6, 3>(w, {}, {0.1f, 0}, {})), "a layer that needs 216 weights");
  w.values.assign(4 * 6 * 9, 0);
  auto q = nn::quantized::ConvTranspose2d<4, 6, 3>(w, {}, {0.1f, 0}, {});
  CHECK_CTQ_ERROR(q(QA({1, 3, 3, 5}, {0.1f, 0})), "the input has 5 channels");
}

TEST_CASE("nn::ConvTranspose: PyTorch's initialisation bound 1 / sqrt(out / groups * taps)") {
  nn::ConvTranspose2d<6, 4, 3, 1, 0, 0, 2> m;
  nn::reset_parameters(m, 7);
  const float bound = 1.0f / std::sqrt(2.0f * 9.0f);
  float most = 0.0f;
  for (float v : m.weight.values()) most = std::max(most, std::abs(v));
  for (float v : m.bias.values()) most = std::max(most, std::abs(v));
  CHECK(most <= bound);
  CHECK(most > 0.5f * bound);
  CHECK(m.weight.shape() == Shape<4>{6, 2, 3, 3});
}

// ------------------------------------------------------------------------------------------------
// The net of the generator.

namespace {

using ExtraNet =
    nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"deconv1", nn::ConvTranspose2d<3, 8, 4, 2, 1>>,
                   nn::named<"concat", nn::Concat<nn::LeakyReLU<0.1f>, nn::Sigmoid>>,
                   nn::named<"deconv2", nn::ConvTranspose2d<16, 4, 2, 2, 0, 0, 2>>, nn::named<"dequant", DeQuantStub>>;

nn::StateDict net_state() {
  nn::StateDict d;
  for (const auto& [key, e] : data()["net_float_state"].items()) {
    nn::StateTensor t;
    for (const auto& v : e["shape"]) t.shape.push_back(v.get<index_t>());
    t.values = ctq_test::floats_b64(e["b64"].get<std::string>());
    d.emplace(key, std::move(t));
  }
  return d;
}

const nlohmann::json& net_config(const std::string& name) {
  for (const auto& c : data()["nets"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no net " + name);
}

// The quantized transposed convolution's parameters against PyTorch's.
template <class Q>
void compare_transpose(const Q& q, const nlohmann::json& ref, const std::string& what) {
  const auto w = ctq_test::bytes_b64(ref["weight"].get<std::string>());
  REQUIRE(w.size() == q.weight().values.size());
  int wrong = 0;
  for (std::size_t i = 0; i < w.size(); ++i) wrong += static_cast<std::int8_t>(w[i]) != q.weight().values[i];
  CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " int8 weights differ");
  CHECK(ctq_test::same_float(q.weight().scales[0], ctq_test::to_float(ref["weight_scale"])));
  CHECK(q.weight().zero_points[0] == ref["weight_zero_point"].get<std::int32_t>());
  ctq_test::check_bits(ctq_test::floats_b64(ref["bias"].get<std::string>()), q.bias().data(), q.bias().size(),
                       what + ": bias");
}

template <class B>
void check_net(const nlohmann::json& cfg) {
  const std::string name = cfg["name"];
  INFO("net " << name);
  ExtraNet net;
  nn::load_state_dict(net, net_state());
  using QC = get_default_qconfig<B>;
  using Mapping =
      QConfigMapping<QC, for_name<"deconv1", TransposeQConfig<B>>, for_name<"deconv2", TransposeQConfig<B>>>;
  auto prepared = prepare<Mapping>(std::move(net));
  // what prepare attached, as PyTorch's eager prepare (eager_prepare in the data)
  using P = decltype(prepared);
  static_assert(is_observed<nn::module_at_t<P, "deconv1">> && is_observed<nn::module_at_t<P, "concat.0">> &&
                is_observed<nn::module_at_t<P, "concat.cat">>);
  static_assert(std::is_same_v<nn::module_at_t<P, "concat.1">, nn::Sigmoid>);
  const auto& attached = data()["eager_prepare"][cfg["engine"].get<std::string>()];
  CHECK(attached["concat.1"].is_null());
  CHECK(attached["concat.0"] == "HistogramObserver");
  CHECK(attached["concat.cat"] == "HistogramObserver");

  std::vector<Tensor<float, 4>> batches;
  for (const auto& e : data()["net_calibration"]) batches.push_back(float_tensor<4>(e));
  calibrate(prepared, batches);
  auto q = convert<B>(std::move(prepared));
  using Q = decltype(q);
  static_assert(std::is_same_v<nn::module_at_t<Q, "concat.cat">, nn::quantized::QFunctional>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "concat.1">, nn::quantized::Sigmoid>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "deconv2">, nn::quantized::ConvTranspose2d<16, 4, 2, 2, 0, 0, 2>>);
  static_assert(fully_quantized<Q> && !fully_quantized<P>);

  // output parameters: exact, 1 ulp allowed on a scale (see the file comment)
  const auto& layers = cfg["layers"];
  std::int64_t ulps = 0;
  auto check_qparams = [&](PerTensorQParams got, const std::string& layer) {
    const auto u = ctq_test::ulp_distance(got.scale, ctq_test::to_float(layers[layer]["scale"]));
    CHECK_MESSAGE(u <= 1, layer << ": scale " << got.scale << " vs PyTorch " << layers[layer]["scale"]);
    ulps += u;
    CHECK_MESSAGE(got.zero_point == layers[layer]["zero_point"].get<std::int32_t>(), layer << ": zero point");
  };
  check_qparams(nn::module_at<"quant">(q).qparams, "quant");
  check_qparams(nn::module_at<"deconv1">(q).output_qparams(), "deconv1");
  check_qparams(nn::module_at<"concat.0">(q).output_qparams(), "concat.0");
  check_qparams(nn::module_at<"concat.cat">(q).output_qparams(), "concat.cat");
  check_qparams(nn::module_at<"deconv2">(q).output_qparams(), "deconv2");
  MESSAGE(name << ": 5 layers' output parameters, " << ulps << " ulp off PyTorch's scales in total");
  compare_transpose(nn::module_at<"deconv1">(q), layers["deconv1"], "deconv1");
  compare_transpose(nn::module_at<"deconv2">(q), layers["deconv2"], "deconv2");

  // each layer on PyTorch's input codes (first test batch)
  const auto& outs = cfg["runs"][0]["layer_outputs"];
  Tally t;
  const auto x = float_tensor<4>(data()["net_test_inputs"][0]);
  compare_codes(nn::module_at<"quant">(q)(x), outs["quant"], "quant", t, true);
  compare_codes(nn::module_at<"deconv1">(q)(codes<4>(outs["quant"])), outs["deconv1"], "deconv1", t, true);
  compare_codes(nn::module_at<"concat.0">(q)(codes<4>(outs["deconv1"])), outs["concat.0"], "concat.0", t, true);
  compare_codes(nn::module_at<"concat.1">(q)(codes<4>(outs["deconv1"])), outs["concat.1"], "concat.1", t, true);
  {
    const auto a = codes<4>(outs["concat.0"]), b = codes<4>(outs["concat.1"]);
    const std::array<const nn::quantized::QActivation<4>*, 2> xs{&a, &b};
    compare_codes(nn::detail::concat_through(nn::module_at<"concat.cat">(q), xs), outs["concat.cat"], "concat.cat", t,
                  true);
  }
  compare_codes(nn::module_at<"concat">(q)(codes<4>(outs["deconv1"])), outs["concat.cat"], "concat", t, true);
  compare_codes(nn::module_at<"deconv2">(q)(codes<4>(outs["concat.cat"])), outs["deconv2"], "deconv2", t, true);
  MESSAGE(name << ": layer by layer, " << t.differ << " of " << t.outputs << " codes differ");

  // end to end: the output is deconv2's codes dequantized, y = (q - zp) * scale exactly, so
  // q = y / scale + zp recovers ctq's codes; compared as layer by layer
  const auto out_qp = nn::module_at<"deconv2">(q).output_qparams();
  const int allowed = ctq_test::ulp_distance(out_qp.scale, ctq_test::to_float(layers["deconv2"]["scale"])) == 0 ? 0 : 1;
  std::int64_t total = 0, differ = 0, worse = 0;
  for (std::size_t r = 0; r < cfg["runs"].size(); ++r) {
    const Tensor<float, 4> y = q(float_tensor<4>(data()["net_test_inputs"][r]));
    const auto want = codes<4>(cfg["runs"][r]["layer_outputs"]["deconv2"]);
    REQUIRE(y.shape() == want.shape());
    for (index_t i = 0; i < y.size(); ++i) {
      const long got = std::lrint(y[i] / out_qp.scale) + out_qp.zero_point;
      const long d = std::labs(got - long{want.data()[i]});
      ++total;
      differ += d != 0;
      worse += d > allowed;
    }
  }
  CHECK_MESSAGE(worse == 0, name << ": " << worse << " final outputs differ by more than " << allowed);
  MESSAGE(name << ": end to end, " << differ << " of " << total << " output codes differ from PyTorch's");
}

}  // namespace

TEST_CASE("nn::Concat: children '0', '1', 'cat'; the float net computes PyTorch's float output") {
  using C = nn::Concat<nn::LeakyReLU<0.1f>, nn::Sigmoid>;
  static_assert(nn::child_count<C> == 3);
  static_assert(nn::child_name<C, 0>.view() == "0" && nn::child_name<C, 1>.view() == "1" &&
                nn::child_name<C, 2>.view() == "cat");
  static_assert(std::is_same_v<nn::child_t<C, 2>, nn::FloatFunctional>);
  ExtraNet net;
  nn::load_state_dict(net, net_state());
  float worst = 0.0f;
  for (std::size_t r = 0; r < data()["net_test_inputs"].size(); ++r) {
    const Tensor<float, 4> y = net(float_tensor<4>(data()["net_test_inputs"][r]));
    const auto want = float_tensor<4>(data()["net_float_outputs"][r]);
    REQUIRE(y.shape() == want.shape());
    for (index_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - want[i]));
  }
  // two transposed convolutions of at most 48 products each, summed in another order than
  // PyTorch's, and Eigen's exp in the sigmoid against PyTorch's: 1e-5 absolute
  CHECK(worst < 1e-5f);
  MESSAGE("float net: max |ctq - PyTorch| = " << worst);
}

TEST_CASE("PTQ of a ConvTranspose2d / Concat(LeakyReLU, Sigmoid) net: qnnpack qconfig and engine, against PyTorch") {
  check_net<backend::qnnpack>(net_config("qnnpack"));
}
TEST_CASE("PTQ of a ConvTranspose2d / Concat(LeakyReLU, Sigmoid) net: onednn qconfig and engine, against PyTorch") {
  check_net<backend::onednn>(net_config("onednn"));
}
