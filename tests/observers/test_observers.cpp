// Observer types: the compile-time wrappers, merge semantics, state save/restore, warnings and
// errors, the Observer concept, FakeQuantize switches over a model, get_observer_dict.
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/ctq.hpp>
#include <random>
#include <string>
#include <vector>

#include "../support/check_error.hpp"

using namespace ctq;

namespace {

Tensor<float, 2> random_tensor(index_t rows, index_t cols, float scale, float shift, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Tensor<float, 2> t({rows, cols});
  for (auto& v : t.values()) v = n(gen) * scale + shift;
  return t;
}

int warnings = 0;
void count_warning(const char*) { ++warnings; }

}  // namespace

static_assert(Observer<MinMaxObserver<>> && Observer<MovingAverageMinMaxObserver<>> &&
              Observer<PerChannelMinMaxObserver<>> && Observer<MovingAveragePerChannelMinMaxObserver<>> &&
              Observer<HistogramObserver<>> && Observer<PlaceholderObserver<>> && Observer<NoopObserver<>> &&
              Observer<RecordingObserver<>> && Observer<default_fixed_qparams_range_0to1_observer>);
static_assert(!Observer<int> && !Observer<Tensor<float, 2>>);
static_assert(FakeQuantizer<default_fake_quant> && FakeQuantizer<default_fused_act_fake_quant> &&
              !FakeQuantizer<MinMaxObserver<>>);

TEST_CASE("the compile-time arguments reach the numerics") {
  // default_weight_observer: qint8, symmetric. Data in [-4, 6]: scale = 6 / 127.5, zero point 0.
  default_weight_observer o;
  Tensor<float, 1> x({3}, {-4.0f, 1.0f, 6.0f});
  CHECK(&o(x) == &x);  // passes its input through
  const auto qp = o.calculate_qparams();
  CHECK(qp.scale == 6.0f / 127.5f);
  CHECK(qp.zero_point == 0);
  // default_observer: quint8 with quant range [0, 127]: scale = 10 / 127, zp = 0 - round(-4 / scale) = 51
  default_observer a;
  a(x);
  CHECK(a.calculate_qparams().scale == 10.0f / 127.0f);
  CHECK(a.calculate_qparams().zero_point == 51);
  static_assert(default_observer::quant_min == 0 && default_observer::quant_max == 127);
  static_assert(default_fake_quant::quant_max == 127);  // reduce_range halves the custom [0, 255]
  // per channel along the last axis, negative axis kept in the parameters
  PerChannelMinMaxObserver<{.ch_axis = -1, .dtype = dtype::qint8, .qscheme = qscheme::per_channel_symmetric}> pc;
  pc(Tensor<float, 2>({2, 3}, {1, -2, 3, -4, 5, 0.5f}));
  const auto pq = pc.calculate_qparams();
  CHECK(pq.axis == -1);
  REQUIRE(pq.scales.size() == 3);
  CHECK(pq.scales[0] == 4.0f / 127.5f);
  CHECK(pq.scales[1] == 5.0f / 127.5f);
  CHECK(pq.scales[2] == 3.0f / 127.5f);
}

TEST_CASE("merge of min/max observers equals observing the union") {
  const auto a = random_tensor(7, 9, 2.0f, 1.0f, 1), b = random_tensor(5, 9, 0.5f, -3.0f, 2);
  MinMaxObserver<> x, y, both;
  x(a);
  y(b);
  both(a);
  both(b);
  x.merge(y);
  CHECK(x.state() == both.state());
  CHECK(x.calculate_qparams() == both.calculate_qparams());
  // merging an empty observer changes nothing; merging into an empty one copies
  MinMaxObserver<> empty, copy;
  x.merge(empty);
  CHECK(x.state() == both.state());
  copy.merge(x);
  CHECK(copy.state() == both.state());

  PerChannelMinMaxObserver<{.ch_axis = 1}> p, q, pq;
  p(a);
  q(b);
  pq(a);
  pq(b);
  p.merge(q);
  CHECK(p.state() == pq.state());
  PerChannelMinMaxObserver<{.ch_axis = 1}> other_channels;
  other_channels(random_tensor(3, 4, 1.0f, 0.0f, 3));
  CHECK_CTQ_ERROR(p.merge(other_channels), "4 channels where earlier data had 9");
}

TEST_CASE("merge of moving averages composes: this observer's batches, then the other's") {
  std::vector<Tensor<float, 2>> batches;
  for (std::uint32_t i = 0; i < 9; ++i)
    batches.push_back(random_tensor(4, 8, 1.0f + static_cast<float>(i), 0.3f * static_cast<float>(i), 10 + i));
  using MA = MovingAverageMinMaxObserver<{.averaging_constant = 0.1f}>;
  MA seq, a, b, c;
  for (std::size_t i = 0; i < 9; ++i) seq(batches[i]);
  for (std::size_t i = 0; i < 3; ++i) a(batches[i]);
  for (std::size_t i = 3; i < 6; ++i) b(batches[i]);
  for (std::size_t i = 6; i < 9; ++i) c(batches[i]);
  MA ab_c = a, a_bc = a, bc = b;
  ab_c.merge(b);
  ab_c.merge(c);
  bc.merge(c);
  a_bc.merge(bc);
  // Exact in real arithmetic; float rounding of the sequential path bounds the difference.
  const float tol = 1e-5f * (std::fabs(seq.max_val()) + std::fabs(seq.min_val()));
  CHECK(std::fabs(ab_c.min_val() - seq.min_val()) <= tol);
  CHECK(std::fabs(ab_c.max_val() - seq.max_val()) <= tol);
  CHECK(std::fabs(a_bc.min_val() - ab_c.min_val()) <= tol);  // associative
  CHECK(std::fabs(a_bc.max_val() - ab_c.max_val()) <= tol);
  CHECK(ab_c.state().count == 9);

  using MAP = MovingAveragePerChannelMinMaxObserver<{.averaging_constant = 0.25f, .ch_axis = 0}>;
  MAP ps, pa, pb;
  for (std::size_t i = 0; i < 6; ++i) ps(batches[i]);
  for (std::size_t i = 0; i < 2; ++i) pa(batches[i]);
  for (std::size_t i = 2; i < 6; ++i) pb(batches[i]);
  pa.merge(pb);
  for (std::size_t ch = 0; ch < 4; ++ch) {
    CHECK(pa.min_val()[ch] == doctest::Approx(ps.min_val()[ch]).epsilon(1e-5));
    CHECK(pa.max_val()[ch] == doctest::Approx(ps.max_val()[ch]).epsilon(1e-5));
  }
}

TEST_CASE("histogram merge keeps every count; same-range merge is a bin-wise sum") {
  using H = HistogramObserver<{.bins = 256, .upsample_rate = 16}>;
  const auto a = random_tensor(20, 50, 2.0f, 0.0f, 5), b = random_tensor(20, 50, 6.0f, 3.0f, 6);
  H x, y;
  x(a);
  y(b);
  auto total = [](const H& h) {
    double t = 0;
    for (float v : h.histogram()) t += v;
    return t;
  };
  const double before = total(x) + total(y);
  H merged = x;
  merged.merge(y);
  CHECK(total(merged) == doctest::Approx(before).epsilon(1e-6));
  CHECK(merged.min_val() == std::min(x.min_val(), y.min_val()));
  CHECK(merged.max_val() == std::max(x.max_val(), y.max_val()));
  H twice = x;
  twice.merge(x);
  for (std::size_t i = 0; i < x.histogram().size(); ++i) CHECK(twice.histogram()[i] == 2.0f * x.histogram()[i]);
  CHECK(twice.calculate_qparams().scale > 0.0f);
}

TEST_CASE("state can be saved and restored; a bad state is an error") {
  HistogramObserver<> h;
  h(random_tensor(10, 30, 3.0f, 0.5f, 7));
  const auto saved = h.state();
  HistogramObserver<> restored;
  restored.set_state(saved);
  CHECK(restored.calculate_qparams() == h.calculate_qparams());
  auto wrong = saved;
  wrong.histogram.resize(10);
  CHECK_CTQ_ERROR(restored.set_state(wrong), "state has 10 bins, the observer 2048");
  MinMaxObserver<> m;
  CHECK_CTQ_ERROR(m.set_state({3.0f, 1.0f}), "not a finite range");
  PerChannelMinMaxObserver<> p;
  CHECK_CTQ_ERROR(p.set_state({{1.0f, 2.0f}, {3.0f}}), "2 minima and 1 maxima");
}

TEST_CASE("before any data: PyTorch's default parameters and a warning") {
  auto previous = set_warning_handler(&count_warning);
  warnings = 0;
  CHECK(MinMaxObserver<>{}.calculate_qparams() == PerTensorQParams{1.0f, 0});
  CHECK(HistogramObserver<>{}.calculate_qparams() == PerTensorQParams{1.0f, 0});
  const auto pc = PerChannelMinMaxObserver<>{}.calculate_qparams();
  CHECK(pc.scales == std::vector<float>{1.0f});
  CHECK(warnings == 3);
  set_warning_handler(previous);
}

TEST_CASE("bad data: NaN and Inf are errors; empty tensors are ignored") {
  MinMaxObserver<> m;
  CHECK_CTQ_ERROR(m(Tensor<float, 1>({2}, {1.0f, NAN})), "MinMaxObserver: the observed data contains NaN or Inf");
  HistogramObserver<> h;
  CHECK_CTQ_ERROR(h(Tensor<float, 1>({2}, {1.0f, INFINITY})), "HistogramObserver: the observed data contains");
  m(Tensor<float, 2>({0, 3}));
  CHECK_FALSE(m.state().observed());
  CHECK_CTQ_ERROR(PlaceholderObserver<>{}.calculate_qparams(), "PlaceholderObserver: calculate_qparams should not");
  RecordingObserver<> r;
  r(Tensor<float, 1>({2}, {1.0f, 2.0f}));
  RecordingObserver<> r2 = r;
  r.merge(r2);
  CHECK(r.get_tensor_value().size() == 2);
}

namespace {
// A hand-written model with two fake-quantized layers, declaring its children like ctq's modules.
struct TinyModel {
  default_fake_quant act;
  default_per_channel_weight_fake_quant weight;
  MinMaxObserver<> probe;
  template <class F>
  void for_each_child(F&& f) {
    f(std::string_view("act"), act);
    f(std::string_view("weight"), weight);
    f(std::string_view("probe"), probe);
  }
};
}  // namespace

TEST_CASE("model-wide switches and get_observer_dict") {
  TinyModel m;
  disable_fake_quant(m);
  CHECK_FALSE(m.act.fake_quant_enabled());
  CHECK_FALSE(m.weight.fake_quant_enabled());
  disable_observer(m);
  CHECK_FALSE(m.act.observer_enabled());
  enable_fake_quant(m);
  enable_observer(m);
  CHECK(m.act.fake_quant_enabled());
  CHECK(m.weight.observer_enabled());
  std::vector<std::string> names;
  get_observer_dict(m, [&](std::string_view name, auto&) { names.emplace_back(name); });
  CHECK(names == std::vector<std::string>{"act.activation_post_process", "weight.activation_post_process", "probe"});
}

TEST_CASE("FakeQuantize: observer off keeps the parameters; fake quant off passes data and gradient") {
  default_fake_quant fq;
  const auto x = random_tensor(4, 5, 1.0f, 0.0f, 9);
  const auto y = fq(x);
  const auto qp = fq.qparams();
  CHECK_FALSE(y == x);
  fq.disable_observer();
  fq(random_tensor(4, 5, 100.0f, 0.0f, 10));
  CHECK(fq.qparams() == qp);
  fq.disable_fake_quant();
  CHECK(fq(x) == x);
  const auto g = random_tensor(4, 5, 1.0f, 0.0f, 11);
  CHECK(fq.backward(g) == g);
  CHECK_CTQ_ERROR(fq.backward(Tensor<float, 1>({3})), "gradient of 3 elements for a forward of 20");
}
