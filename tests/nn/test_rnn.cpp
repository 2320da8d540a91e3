// nn::LSTM, GRU, RNNCell, LSTMCell, GRUCell (float) and nn::quantized::dynamic::LSTM, ... against
// PyTorch 1.13 (tests/data/qdynamic_rnn_reference.json, written by tools/reference/gen_qdynamic_rnn.py):
//   - the state_dict names and shapes of every model are PyTorch's;
//   - float modules (stacked, bidirectional, batch_first, no bias, with and without initial
//     state): within a tolerance derived below (float32 GEMMs sum in another order than PyTorch's);
//   - dynamic modules with qint8 weights, per tensor and per channel, on qnnpack and onednn, built
//     from PyTorch's quantized weights and through quantize_dynamic (whose weights must equal
//     PyTorch's): every output bit for bit;
//   - float16 weights: within the float tolerance (PyTorch here cannot run its fp16 kernel; the
//     reference is the float module with float16-rounded weights);
//   - nn::Sequential with TakeOutput / TakeHidden, reset_parameters, runtime errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctq/nn/linear.hpp>
#include <ctq/nn/quantized/dynamic/rnn.hpp>
#include <ctq/nn/rnn.hpp>
#include <ctq/nn/sequential.hpp>
#include <ctq/nn/size.hpp>
#include <ctq/nn/state.hpp>
#include <ctq/quantization/mappings/dynamic_linear.hpp>
#include <ctq/quantization/mappings/dynamic_rnn.hpp>
#include <ctq/quantization/quantize_dynamic.hpp>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

using namespace ctq;
using json = nlohmann::json;
using nn::quantized::EngineConfig;
using nn::quantized::QuantizedWeight;
namespace qd = nn::quantized::dynamic;

namespace {

const json& data() {
  static const json d = ctq_test::load_reference("qdynamic_rnn_reference.json");
  return d;
}

// The ctq type of each reference model (gen_qdynamic_rnn.py's names).
template <class F>
void with_model(const std::string& name, F&& f) {
  using nn::rnn_nonlinearity;
  if (name == "lstm 4-17") return f(nn::LSTM<4, 17>{});
  if (name == "lstm 3-6 x2 bidirectional") return f(nn::LSTM<3, 6, 2, true, false, true>{});
  if (name == "lstm 3-6 x2 bidirectional batch_first") return f(nn::LSTM<3, 6, 2, true, true, true>{});
  if (name == "lstm 3-5 no bias") return f(nn::LSTM<3, 5, 1, false>{});
  if (name == "gru 4-17") return f(nn::GRU<4, 17>{});
  if (name == "gru 3-6 x2 bidirectional") return f(nn::GRU<3, 6, 2, true, false, true>{});
  if (name == "gru 3-6 x2 batch_first") return f(nn::GRU<3, 6, 2, true, true, false>{});
  if (name == "gru 3-5 no bias") return f(nn::GRU<3, 5, 1, false>{});
  if (name == "rnncell tanh 4-7") return f(nn::RNNCell<4, 7>{});
  if (name == "rnncell relu 4-7") return f(nn::RNNCell<4, 7, true, rnn_nonlinearity::relu>{});
  if (name == "rnncell tanh 4-5 no bias") return f(nn::RNNCell<4, 5, false>{});
  if (name == "lstmcell 4-17") return f(nn::LSTMCell<4, 17>{});
  if (name == "lstmcell 4-5 no bias") return f(nn::LSTMCell<4, 5, false>{});
  if (name == "grucell 4-17") return f(nn::GRUCell<4, 17>{});
  if (name == "grucell 4-5 no bias") return f(nn::GRUCell<4, 5, false>{});
  FAIL("no ctq type for reference model " << name);
}

// Loads the model's PyTorch state_dict into m; checks that m's names are exactly PyTorch's.
template <class M>
void load_state(M& m, const json& model) {
  const json& state = model["state"];
  std::set<std::string> seen;
  nn::visit_state(m, [&](const std::string& key, auto& t) {
    REQUIRE_MESSAGE(state.contains(key), "ctq state '" << key << "' is not in PyTorch's state_dict");
    const auto v = ctq_test::floats_b64(state[key].get<std::string>());
    REQUIRE_MESSAGE(static_cast<index_t>(v.size()) == t.size(), key);
    std::copy(v.begin(), v.end(), t.values().begin());
    seen.insert(key);
  });
  CHECK(seen.size() == state.size());
}

template <int R>
Tensor<float, R> tensor_of(const json& shape, const json& b64) {
  return ctq_test::make_tensor<R>(shape, ctq_test::floats_b64(b64.get<std::string>()));
}

// A module's result as PyTorch's generator stores it: output, h_n, c_n (a cell: h', h', c').
struct Result {
  Tensor<float, 3> output, h_n, c_n;  // cells: rank-2 values in rank-3 tensors [1, N, H]
  bool has_c = false;
};

template <int R>
Tensor<float, 3> as3(const Tensor<float, R>& t) {
  if constexpr (R == 3) {
    return t;
  } else {
    return Tensor<float, 3>({1, t.dim(0), t.dim(1)}, t.values());
  }
}

template <class M>
inline constexpr bool is_stacked = requires {
  M::num_layers;
};

template <class M>
Result run(M& m, const json& in) {
  Result r;
  const bool state = !in["h0"].is_null();
  if constexpr (is_stacked<M>) {
    const auto x = tensor_of<3>(in["x_shape"], in["x"]);
    using Out = decltype(m(x));
    if constexpr (std::is_same_v<Out, nn::LSTMOutput>) {
      const auto& xs = in["x_shape"];
      const index_t batch = M::batch_first ? xs[0].get<index_t>() : xs[1].get<index_t>();
      const json shape = {M::num_layers * (M::bidirectional ? 2 : 1), batch, M::hidden_size};
      nn::LSTMOutput o =
          state ? m(x, nn::LSTMState<3>{tensor_of<3>(shape, in["h0"]), tensor_of<3>(shape, in["c0"])}) : m(x);
      r.output = o.output;
      r.h_n = o.hidden.h;
      r.c_n = o.hidden.c;
      r.has_c = true;
    } else {
      const auto& xs = in["x_shape"];
      const index_t batch = M::batch_first ? xs[0].get<index_t>() : xs[1].get<index_t>();
      const json shape = {M::num_layers * (M::bidirectional ? 2 : 1), batch, M::hidden_size};
      nn::GRUOutput o = state ? m(x, tensor_of<3>(shape, in["h0"])) : m(x);
      r.output = o.output;
      r.h_n = o.h_n;
    }
  } else {
    const auto x = tensor_of<2>(in["x_shape"], in["x"]);
    const json shape = {x.dim(0), M::hidden_size};
    if constexpr (std::is_same_v<decltype(m(x)), nn::LSTMState<2>>) {
      nn::LSTMState<2> s =
          state ? m(x, nn::LSTMState<2>{tensor_of<2>(shape, in["h0"]), tensor_of<2>(shape, in["c0"])}) : m(x);
      r.output = as3(s.h);
      r.h_n = as3(s.h);
      r.c_n = as3(s.c);
      r.has_c = true;
    } else {
      Tensor<float, 2> h = state ? m(x, tensor_of<2>(shape, in["h0"])) : m(x);
      r.output = as3(h);
      r.h_n = as3(h);
    }
  }
  return r;
}

// The result's arrays next to the reference's: (name, ctq values, reference values).
struct Compared {
  std::string what;
  std::vector<float> got, want;
};

std::vector<Compared> compare_list(const Result& r, const json& c) {
  std::vector<Compared> out;
  auto add = [&](const char* what, const Tensor<float, 3>& t, const json& ref) {
    out.push_back({what, {t.values().begin(), t.values().end()}, ctq_test::floats_b64(ref.get<std::string>())});
  };
  add("output", r.output, c["output"]);
  add("h_n", r.h_n, c["h_n"]);
  REQUIRE(r.has_c == !c["c_n"].is_null());
  if (r.has_c) add("c_n", r.c_n, c["c_n"]);
  return out;
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

QuantizedWeight qweight_of(const json& set, const std::string& which) {
  QuantizedWeight w;
  const auto bytes = ctq_test::bytes_b64(set[which].get<std::string>());
  for (unsigned char b : bytes) w.values.push_back(static_cast<std::int8_t>(b));
  w.scales = ctq_test::floats(set[which + "_scales"]);
  w.zero_points = ctq_test::ints<std::int32_t>(set[which + "_zero_points"]);
  w.per_channel = w.scales.size() > 1;
  return w;
}

// The float biases of (layer, direction) k of a loaded float module.
template <class M>
std::vector<float> bias_vec(const M& m, bool ih, std::size_t k) {
  if constexpr (is_stacked<M>) {
    const auto& b = ih ? m.bias_ih[k] : m.bias_hh[k];
    return {b.values().begin(), b.values().end()};
  } else {
    const auto& b = ih ? m.bias_ih : m.bias_hh;
    return {b.values().begin(), b.values().end()};
  }
}

bool same_weight(const QuantizedWeight& a, const QuantizedWeight& b) {
  return a.values == b.values && a.scales == b.scales && a.zero_points == b.zero_points;
}

}  // namespace

TEST_CASE("recurrent modules: state_dict names and shapes are PyTorch's") {
  for (const auto& [name, model] : data()["models"].items()) {
    CAPTURE(name);
    with_model(name, [&](auto m) { load_state(m, model); });
  }
  nn::LSTM<3, 6, 2, true, false, true> lstm;
  std::vector<std::string> keys;
  nn::visit_state(lstm, [&](const std::string& k, auto&) { keys.push_back(k); });
  CHECK(keys.size() == 16);
  CHECK(keys[0] == "weight_ih_l0");
  CHECK(keys[5] == "weight_hh_l0_reverse");
  CHECK(keys[15] == "bias_hh_l1_reverse");
  CHECK(lstm.weight_ih[2].dim(1) == 12);  // layer 1 takes both directions' output
}

// Float tolerance. PyTorch (here: the reference BLAS, each dot product summed in order; Sleef's
// exp and tanh) and ctq (Eigen's blocked GEMM; the C library's exp and tanh in the float modules,
// Sleef's arithmetic in the float16 ones) evaluate the same float32 operations, differing only in
// the order of the GEMM sums and in the last bit of exp / tanh; neither is closer to the exact
// result by construction. The generator measures, per case, PyTorch's own worst deviation from the
// same equations in float64, E = exact_error (at most 1.6e-7 over these cases). ctq is held to
// |ctq - exact| <= 3E, a float32 evaluation no more than three times as far from exact as
// PyTorch's worst, so
//     |ctq - PyTorch| <= |ctq - exact| + |PyTorch - exact| <= 4E,   floored at 2^-22 (4 ulp of 1.0,
// for a case whose E happens to be tiny). Measured: at most half of that; the test also reports how
// many outputs are bitwise equal.
namespace {
float float_tolerance(const json& c) {
  return std::max(4.0f * static_cast<float>(c["exact_error"].get<double>()), std::ldexp(1.0f, -22));
}

void check_within(const std::vector<Compared>& list, float tol, std::size_t& outputs, std::size_t& exact,
                  float& worst_ratio) {
  for (const auto& cmp : list) {
    REQUIRE(cmp.got.size() == cmp.want.size());
    int wrong = 0;
    for (std::size_t i = 0; i < cmp.got.size(); ++i) {
      const float d = std::fabs(cmp.got[i] - cmp.want[i]);
      worst_ratio = std::max(worst_ratio, d / tol);
      exact += ctq_test::same_float(cmp.got[i], cmp.want[i]) ? 1 : 0;
      if (!(d <= tol) && ++wrong <= 3) {
        MESSAGE(cmp.what << "[" << i << "]: PyTorch " << cmp.want[i] << ", ctq " << cmp.got[i] << ", tolerance "
                         << tol);
      }
    }
    CHECK_MESSAGE(wrong == 0, cmp.what << ": " << wrong << " of " << cmp.got.size() << " outside the tolerance");
    outputs += cmp.got.size();
  }
}
}  // namespace

TEST_CASE("float LSTM, GRU and cells against PyTorch (within the float32 rounding tolerance)") {
  const json& d = data();
  std::size_t outputs = 0, exact = 0;
  float worst = 0.0f;
  for (const auto& c : d["float"]) {
    const std::string in_name = c["input"].get<std::string>();
    const json& in = d["inputs"][in_name];
    const std::string model = in["model"].get<std::string>();
    CAPTURE(in_name);
    with_model(model, [&](auto m) {
      load_state(m, d["models"][model]);
      const Result r = run(m, in);
      const auto list = compare_list(r, c);
      REQUIRE(r.output.shape()[0] * r.output.shape()[1] * r.output.shape()[2] ==
              static_cast<index_t>(list[0].want.size()));
      check_within(list, float_tolerance(c), outputs, exact, worst);
    });
  }
  MESSAGE(d["float"].size() << " float cases, " << outputs << " outputs, " << exact
                            << " bitwise equal; worst |ctq - PyTorch| / tolerance " << worst);
}

TEST_CASE("dynamic qint8 modules from PyTorch's quantized weights: every output bit for bit") {
  const json& d = data();
  std::size_t outputs = 0;
  for (const auto& c : d["dynamic"]) {
    const std::string in_name = c["input"].get<std::string>();
    const json& in = d["inputs"][in_name];
    const std::string model = in["model"].get<std::string>();
    const json& qw = d["qweights"][c["qweights"].get<std::string>()];
    const EngineConfig engine = engine_of(c["engine"].get<std::string>());
    CAPTURE(c["name"].get<std::string>());
    with_model(model, [&](auto m) {
      using F = decltype(m);
      if constexpr (F::has_bias) {  // (PyTorch's dynamic modules need biases: no case without)
        load_state(m, d["models"][model]);
        using Q = typename dynamic_quantized_module<F>::type;
        std::vector<qd::RecurrentWeights> sets;
        for (std::size_t k = 0; k < qw["sets"].size(); ++k) {
          const json& s = qw["sets"][k];
          sets.push_back({qweight_of(s, "w_ih"), qweight_of(s, "w_hh"), bias_vec(m, true, k), bias_vec(m, false, k)});
        }
        Q q = [&] {
          if constexpr (is_stacked<F>) {
            return Q(sets, engine);
          } else {
            REQUIRE(sets.size() == 1);
            return Q(sets[0], engine);
          }
        }();
        const Result r = run(q, in);
        for (const auto& cmp : compare_list(r, c)) {
          ctq_test::check_bits(cmp.want, cmp.got.data(), cmp.got.size(), c["name"].get<std::string>() + " " + cmp.what);
          outputs += cmp.got.size();
        }
      } else {
        FAIL("a dynamic case for a model without bias");
      }
    });
  }
  MESSAGE(d["dynamic"].size() << " dynamic int8 cases, " << outputs << " outputs compared bit for bit");
}

namespace {
// quantize_dynamic of a one-module model, then the recurrent module itself (it takes a state).
template <class QC, class B, class F>
auto quantize_one(const F& m) {
  nn::Sequential<nn::named<"rnn", F>> model;
  nn::module_at<"rnn">(model) = m;
  auto q = quantize_dynamic<QC, dtype::qint8, B>(model);
  return nn::module_at<"rnn">(q);
}
}  // namespace

TEST_CASE("quantize_dynamic of the float modules: PyTorch's quantized weights and outputs bit for bit") {
  const json& d = data();
  std::size_t cases = 0, outputs = 0;
  for (const auto& c : d["dynamic"]) {
    const std::string in_name = c["input"].get<std::string>();
    const json& in = d["inputs"][in_name];
    const std::string model = in["model"].get<std::string>();
    const json& qw = d["qweights"][c["qweights"].get<std::string>()];
    const bool per_channel = qw["qconfig"].get<std::string>() == "per_channel";
    const bool qnnpack = c["engine"].get<std::string>() == "qnnpack";
    CAPTURE(c["name"].get<std::string>());
    with_model(model, [&](auto m) {
      if constexpr (decltype(m)::has_bias) {
        load_state(m, d["models"][model]);
        auto check = [&](auto q) {
          using Q = decltype(q);
          static_assert(std::is_same_v<Q, typename dynamic_quantized_module<decltype(m)>::type>);
          for (std::size_t k = 0; k < qw["sets"].size(); ++k) {
            const json& s = qw["sets"][k];
            const auto [ih, hh] = [&] {
              if constexpr (is_stacked<Q>) {
                const auto layer = static_cast<index_t>(k) / (Q::bidirectional ? 2 : 1);
                const bool rev = Q::bidirectional && k % 2 == 1;
                return std::pair{q.projection_ih(layer, rev).weight(), q.projection_hh(layer, rev).weight()};
              } else {
                return std::pair{q.projection_ih().weight(), q.projection_hh().weight()};
              }
            }();
            CHECK_MESSAGE(same_weight(ih, qweight_of(s, "w_ih")), "weight_ih of set " << k);
            CHECK_MESSAGE(same_weight(hh, qweight_of(s, "w_hh")), "weight_hh of set " << k);
            CHECK(ih.per_channel == per_channel);
          }
          const Result r = run(q, in);
          for (const auto& cmp : compare_list(r, c)) {
            ctq_test::check_bits(cmp.want, cmp.got.data(), cmp.got.size(),
                                 c["name"].get<std::string>() + " " + cmp.what);
            outputs += cmp.got.size();
          }
        };
        if (per_channel) {
          qnnpack ? check(quantize_one<per_channel_dynamic_qconfig, backend::qnnpack>(m))
                  : check(quantize_one<per_channel_dynamic_qconfig, backend::onednn>(m));
        } else {
          qnnpack ? check(quantize_one<default_dynamic_qconfig, backend::qnnpack>(m))
                  : check(quantize_one<default_dynamic_qconfig, backend::onednn>(m));
        }
        ++cases;
      } else {
        FAIL("a dynamic case for a model without bias");
      }
    });
  }
  MESSAGE(cases << " cases through quantize_dynamic, " << outputs << " outputs bit for bit");
}

TEST_CASE("dynamic modules with float16 weights against the emulated reference (float tolerance)") {
  const json& d = data();
  std::size_t outputs = 0, exact = 0;
  float worst = 0.0f;
  for (const auto& c : d["fp16"]) {
    const std::string in_name = c["input"].get<std::string>();
    const json& in = d["inputs"][in_name];
    const std::string model = in["model"].get<std::string>();
    CAPTURE(in_name);
    with_model(model, [&](auto m) {
      using F = decltype(m);
      if constexpr (F::has_bias) {
        load_state(m, d["models"][model]);
        nn::Sequential<nn::named<"rnn", F>> net;
        nn::module_at<"rnn">(net) = m;
        auto q = quantize_dynamic<default_dynamic_kinds, dtype::float16>(net);
        auto& rnn = nn::module_at<"rnn">(q);
        using Q = std::remove_cvref_t<decltype(rnn)>;
        static_assert(Q::weight_dtype == dtype::float16);
        // The weights are float16 values, rounded to nearest even.
        const auto& w16 = [&]() -> const auto& {
          if constexpr (is_stacked<Q>) {
            return rnn.projection_hh(0).weight_fp16();
          } else {
            return rnn.projection_hh().weight_fp16();
          }
        }
        ();
        const auto& w = [&]() -> const auto& {
          if constexpr (is_stacked<F>) {
            return m.weight_hh[0];
          } else {
            return m.weight_hh;
          }
        }
        ();
        REQUIRE(static_cast<index_t>(w16.size()) == w.size());
        for (index_t i = 0; i < w.size(); ++i)
          CHECK(w16[static_cast<std::size_t>(i)].bits == ctq::float16_t::from_float(w[i]).bits);
        check_within(compare_list(run(rnn, in), c), float_tolerance(c), outputs, exact, worst);
      } else {
        FAIL("a float16 case for a model without bias");
      }
    });
  }
  MESSAGE(d["fp16"].size() << " float16 cases, " << outputs << " outputs, " << exact
                           << " bitwise equal; worst |ctq - reference| / tolerance " << worst);
}

TEST_CASE("recurrent modules in nn::Sequential: TakeOutput / TakeHidden, quantize_dynamic converts them") {
  using Net = nn::Sequential<nn::named<"lstm", nn::LSTM<4, 8, 2>>, nn::named<"take", nn::TakeOutput>,
                             nn::named<"fc", nn::Linear<8, 3>>>;
  Net net;
  nn::reset_parameters(net, 7);
  Tensor<float, 3> x({5, 2, 4});
  std::mt19937 g(3);
  std::normal_distribution<float> normal;
  for (auto& v : x.values()) v = normal(g);
  const Tensor<float, 3> y = net(x);
  CHECK(y.shape() == Shape<3>{5, 2, 3});
  // The same as running the children one by one.
  const auto seq = nn::module_at<"fc">(net)(nn::module_at<"lstm">(net)(x).output);
  CHECK(y == seq);

  auto q = quantize_dynamic(net);
  using Q = decltype(q);
  static_assert(std::is_same_v<nn::module_at_t<Q, "lstm">, qd::LSTM<4, 8, 2>>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "take">, nn::TakeOutput>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "fc">, qd::Linear<8, 3>>);
  const Tensor<float, 3> yq = q(x);
  CHECK(yq.shape() == y.shape());
  // Dynamic int8 stays close to float here (a loose sanity bound, not a numerics claim).
  for (index_t i = 0; i < y.size(); ++i) CHECK(std::fabs(yq[i] - y[i]) < 0.1f);

  using Cells = nn::Sequential<nn::named<"cell", nn::LSTMCell<4, 6>>, nn::named<"h", nn::TakeHidden>,
                               nn::named<"gru", nn::GRUCell<6, 5>>, nn::named<"rnn", nn::RNNCell<5, 3>>>;
  Cells cells;
  nn::reset_parameters(cells, 9);
  Tensor<float, 2> xc({3, 4});
  for (auto& v : xc.values()) v = normal(g);
  CHECK(cells(xc).shape() == Shape<2>{3, 3});
  auto qc = quantize_dynamic(cells);
  static_assert(std::is_same_v<nn::module_at_t<decltype(qc), "cell">, qd::LSTMCell<4, 6>>);
  static_assert(std::is_same_v<nn::module_at_t<decltype(qc), "gru">, qd::GRUCell<6, 5>>);
  static_assert(std::is_same_v<nn::module_at_t<decltype(qc), "rnn">, qd::RNNCell<5, 3>>);
  CHECK(qc(xc).shape() == Shape<2>{3, 3});
  CHECK(nn::parameter_bytes(qc) < nn::parameter_bytes(cells) / 2);
}

TEST_CASE("recurrent modules: reset_parameters draws U(-1/sqrt(H), 1/sqrt(H)); a state passes on") {
  nn::GRU<3, 16, 2, true, false, true> gru;
  nn::reset_parameters(gru, 5);
  float lo = 1.0f, hi = -1.0f;
  nn::visit_state(gru, [&](const std::string&, auto& t) {
    for (float v : t.values()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  });
  CHECK(lo >= -0.25f);
  CHECK(hi <= 0.25f);
  CHECK(hi - lo > 0.4f);

  // Two calls chained through the state equal one call over the whole sequence.
  nn::LSTM<3, 5> lstm;
  nn::reset_parameters(lstm, 11);
  Tensor<float, 3> x({6, 2, 3});
  std::mt19937 g(1);
  std::normal_distribution<float> normal;
  for (auto& v : x.values()) v = normal(g);
  const auto whole = lstm(x);
  Tensor<float, 3> a({3, 2, 3}, std::span<const float>(x.data(), 18));
  Tensor<float, 3> b({3, 2, 3}, std::span<const float>(x.data() + 18, 18));
  const auto first = lstm(a);
  const auto second = lstm(b, first.hidden);
  CHECK(second.hidden.h == whole.hidden.h);
  CHECK(second.hidden.c == whole.hidden.c);
}

TEST_CASE("recurrent modules: runtime errors") {
  nn::LSTM<3, 4, 2> lstm;
  CHECK_CTQ_ERROR(lstm(Tensor<float, 3>({5, 2, 4})), "input's last dimension is 4");
  CHECK_CTQ_ERROR(lstm(Tensor<float, 3>({0, 2, 3})), "sequence is empty");
  const nn::LSTMState<3> bad{Tensor<float, 3>({2, 3, 4}), Tensor<float, 3>({2, 2, 4})};
  CHECK_CTQ_ERROR(lstm(Tensor<float, 3>({5, 2, 3}), bad), "h_0 has shape [2, 3, 4], expected [2, 2, 4]");
  nn::GRUCell<3, 4> cell;
  CHECK_CTQ_ERROR(cell(Tensor<float, 2>({2, 3}), Tensor<float, 2>({3, 4})), "hx has shape [3, 4], expected [2, 4]");
  nn::LSTMCell<3, 4> lcell;
  CHECK_CTQ_ERROR(lcell(Tensor<float, 2>({2, 5})), "input's last dimension is 5");

  qd::LSTM<3, 4> empty;
  CHECK_CTQ_ERROR(empty(Tensor<float, 3>({5, 2, 3})), "no weights");
  CHECK_CTQ_ERROR((qd::GRU<3, 4>(std::vector<qd::RecurrentWeights>(2), EngineConfig{})), "2 weight sets given");
  qd::RecurrentWeights w;
  w.weight_ih.values.assign(16 * 3, 0);
  w.weight_ih.scales = {1.0f};
  w.weight_ih.zero_points = {0};
  w.weight_hh = w.weight_ih;  // 16 x 3 where 16 x 4 is needed
  CHECK_CTQ_ERROR((qd::LSTMCell<3, 4>(w, EngineConfig{})), "weight_hh has 48 values, expected 16 x 4");
  w.weight_hh.values.assign(16 * 4, 0);
  w.bias_ih.assign(5, 0.0f);
  CHECK_CTQ_ERROR((qd::LSTMCell<3, 4>(w, EngineConfig{})), "bias_ih has 5 values, expected 16");
}
