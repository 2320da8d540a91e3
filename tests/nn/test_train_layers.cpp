// Backward passes of nn::Conv1d / 2d / 3d, BatchNorm1d / 2d, the pooling modules and Flatten:
//   - central finite differences of the loss sum(g .* y) (random g) against backward's d/dx and
//     parameter gradients, for several configurations of each module;
//   - PyTorch 1.13's autograd (tests/data/train_layers_reference.json, written by
//     tools/reference/gen_train_layers.py): outputs, input / weight / bias gradients and the
//     running statistics BatchNorm updates in one training-mode forward pass;
//   - the protocol's errors (backward without a training-mode forward, a gradient of the wrong
//     shape, one value per channel in training) and evaluation-mode BatchNorm unchanged.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ctq/nn/batchnorm.hpp>
#include <ctq/nn/conv.hpp>
#include <ctq/nn/init.hpp>
#include <ctq/nn/intrinsic/fused.hpp>
#include <ctq/nn/linear.hpp>
#include <ctq/nn/pooling.hpp>
#include <ctq/nn/sequential.hpp>
#include <ctq/nn/state.hpp>
#include <ctq/nn/train.hpp>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/finite_differences.hpp"
#include "../support/reference.hpp"

using namespace ctq;

namespace {

template <int R>
Tensor<float, R> random_tensor(const Shape<R>& s, std::mt19937& rng) {
  Tensor<float, R> t(s);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& v : t.values()) v = dist(rng);
  return t;
}

// Distinct values 0.05 apart (a shuffled ramp): a step of 1e-2 never changes which element is a
// window's maximum, so max pooling is linear around x.
template <int R>
Tensor<float, R> distinct_tensor(const Shape<R>& s, std::mt19937& rng) {
  Tensor<float, R> t(s);
  std::vector<index_t> order(static_cast<std::size_t>(t.size()));
  std::iota(order.begin(), order.end(), index_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  for (index_t i = 0; i < t.size(); ++i) {
    t[i] = 0.05f * static_cast<float>(order[static_cast<std::size_t>(i)] - t.size() / 2);
  }
  return t;
}

// sum(g .* m(x)), accumulated in double.
template <class M, int R>
double loss(M& m, const Tensor<float, R>& x, const std::vector<float>& g) {
  const auto y = m(x);
  double s = 0.0;
  for (index_t i = 0; i < y.size(); ++i) s += static_cast<double>(g[static_cast<std::size_t>(i)]) * y[i];
  return s;
}

// Step and tolerance of the finite-difference checks. The loss is computed from a float32
// forward pass: each y carries a rounding error of a few ulp (|y| ~ 1, |g| ~ 1, <= 200 outputs),
// so the loss is exact to ~2e-5 and its central difference with h = 1e-2 to ~1e-3. Conv, average
// pooling, Flatten and max pooling on distinct inputs are linear around x (no truncation
// error); BatchNorm's truncation error is O(h^2) ~ 1e-4. Hence |fd - backward| <= 5e-3 (1 +
// |backward|); a wrong index or a missing term gives errors of order 1.
constexpr float fd_step = 1e-2f;
constexpr double fd_tolerance = 5e-3;

struct FdResult {
  double worst = 0.0;  // max |fd - backward| / (1 + |backward|)
  std::string where;
};

void record(FdResult& r, double fd, double an, const std::string& what, index_t i) {
  const double e = std::abs(fd - an) / (1.0 + std::abs(an));
  if (e > r.worst) {
    r.worst = e;
    r.where = what + "[" + std::to_string(i) + "]: finite difference " + std::to_string(fd) + ", backward " +
              std::to_string(an);
  }
}

// Checks m's backward pass at x against finite differences of sum(g .* m(x)) in x and in every
// parameter m.visit_parameters gives.
template <class M, int R>
void check_gradients(M& m, const Tensor<float, R>& x0, std::mt19937& rng) {
  nn::train(m);
  nn::zero_grad(m);
  Tensor<float, R> x = x0;
  const auto y = m(x);
  std::vector<float> g(static_cast<std::size_t>(y.size()));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : g) v = dist(rng);
  using Y = std::remove_cvref_t<decltype(y)>;
  const nn::DynTensor gx = m.backward(nn::DynTensor(Y(y.shape(), std::span<const float>(g))));
  REQUIRE(gx.rank() == R);
  for (int d = 0; d < R; ++d) REQUIRE(gx.dim(d) == x.dim(d));

  FdResult r;
  for (index_t i = 0; i < x.size(); ++i) {
    const double fd = ctq_test::central_difference(x[i], fd_step, [&] { return loss(m, x, g); });
    record(r, fd, gx.data()[i], "dx", i);
  }
  if constexpr (requires { m.visit_parameters([](std::string_view, auto&, auto&) {}); }) {
    // the analytic gradients first: the finite differences run forward passes that change nothing
    // but the saved input
    std::vector<std::pair<std::string, std::vector<float>>> grads;
    m.visit_parameters([&](std::string_view name, auto&, auto& grad) {
      grads.emplace_back(std::string(name), std::vector<float>(grad.values().begin(), grad.values().end()));
    });
    std::size_t k = 0;
    m.visit_parameters([&](std::string_view, auto& value, auto&) {
      const auto& [name, an] = grads[k++];
      REQUIRE(an.size() == static_cast<std::size_t>(value.size()));
      for (index_t j = 0; j < value.size(); ++j) {
        const double fd = ctq_test::central_difference(value[j], fd_step, [&] { return loss(m, x, g); });
        record(r, fd, an[static_cast<std::size_t>(j)], "d" + name, j);
      }
    });
  }
  CHECK_MESSAGE(r.worst <= fd_tolerance, M::name << ": worst " << r.worst << " at " << r.where);
}

template <class M>
M initialized(std::mt19937& rng) {
  M m;
  m.reset_parameters(rng);
  return m;
}

}  // namespace

TEST_CASE("conv backward: finite differences") {
  std::mt19937 rng(7);
  SUBCASE("Conv2d groups 1") {
    auto m = initialized<nn::Conv2d<3, 4, 3>>(rng);
    check_gradients(m, random_tensor<4>({2, 6, 5, 3}, rng), rng);
  }
  SUBCASE("Conv2d depthwise") {
    auto m = initialized<nn::Conv2d<4, 4, 3, 1, 1, 1, 4>>(rng);
    check_gradients(m, random_tensor<4>({2, 5, 6, 4}, rng), rng);
  }
  SUBCASE("Conv2d depthwise with multiplier 2, stride 2, padding 1") {
    auto m = initialized<nn::Conv2d<3, 6, 3, 2, 1, 1, 3>>(rng);
    check_gradients(m, random_tensor<4>({2, 7, 6, 3}, rng), rng);
  }
  SUBCASE("Conv2d groups 2, stride 2, padding 1") {
    auto m = initialized<nn::Conv2d<4, 6, 3, 2, 1, 1, 2>>(rng);
    check_gradients(m, random_tensor<4>({2, 7, 6, 4}, rng), rng);
  }
  SUBCASE("Conv2d dilation 2, padding 2, no bias") {
    auto m = initialized<nn::Conv2d<2, 3, 3, 1, 2, 2, 1, false>>(rng);
    check_gradients(m, random_tensor<4>({1, 6, 5, 2}, rng), rng);
  }
  SUBCASE("Conv1d stride 2, padding 1") {
    auto m = initialized<nn::Conv1d<3, 4, 3, 2, 1>>(rng);
    check_gradients(m, random_tensor<3>({2, 9, 3}, rng), rng);
  }
  SUBCASE("Conv1d depthwise, dilation 2") {
    auto m = initialized<nn::Conv1d<4, 4, 3, 1, 2, 2, 4>>(rng);
    check_gradients(m, random_tensor<3>({2, 8, 4}, rng), rng);
  }
  SUBCASE("Conv3d stride 2, padding 1") {
    auto m = initialized<nn::Conv3d<2, 3, 2, 2, 1>>(rng);
    check_gradients(m, random_tensor<5>({2, 3, 4, 3, 2}, rng), rng);
  }
  SUBCASE("Conv3d depthwise, padding 1 (the direct depthwise path in 3-d)") {
    auto m = initialized<nn::Conv3d<3, 3, 3, 1, 1, 1, 3>>(rng);
    check_gradients(m, random_tensor<5>({2, 3, 4, 3, 3}, rng), rng);
  }
  SUBCASE("Conv2d 1x1 (one GEMM over the batch's pixels)") {
    auto m = initialized<nn::Conv2d<5, 4, 1>>(rng);
    check_gradients(m, random_tensor<4>({2, 3, 4, 5}, rng), rng);
  }
  SUBCASE("Conv2d 1x1, stride 2 (im2col)") {
    auto m = initialized<nn::Conv2d<5, 4, 1, 2>>(rng);
    check_gradients(m, random_tensor<4>({2, 5, 4, 5}, rng), rng);
  }
}

TEST_CASE("the 1x1 and depthwise paths compute the convolution") {
  // Against the definition, summed in double: y[n, o, co] = b[co] + sum_{tap, ci} x[n, i(o, tap), ci] w[co][ci][tap].
  // Inputs are standard normal (|x| < 6 here), weights below 1/sqrt(fan_in): float sums of at most
  // 9 such products stay below about 20, where 1e-5 is a few ulp of the partial sums; a wrong tap,
  // channel or transposition is off by O(1).
  std::mt19937 rng(11);
  auto reference = [](const auto& m, const Tensor<float, 4>& x, index_t k, index_t s, index_t p, index_t groups) {
    const auto ys = m.output_shape(x.shape());
    const index_t in = x.dim(3), out = ys[3], cg = in / groups, og = out / groups;
    std::vector<double> y(static_cast<std::size_t>(ys[0] * ys[1] * ys[2] * ys[3]));
    for (index_t n = 0; n < ys[0]; ++n)
      for (index_t oh = 0; oh < ys[1]; ++oh)
        for (index_t ow = 0; ow < ys[2]; ++ow)
          for (index_t co = 0; co < out; ++co) {
            double acc = m.has_bias ? m.bias[co] : 0.0;
            const index_t grp = co / og;
            for (index_t ci = 0; ci < cg; ++ci)
              for (index_t kh = 0; kh < k; ++kh)
                for (index_t kw = 0; kw < k; ++kw) {
                  const index_t ih = oh * s - p + kh, iw = ow * s - p + kw;
                  if (ih < 0 || ih >= x.dim(1) || iw < 0 || iw >= x.dim(2)) continue;
                  acc += static_cast<double>(x(n, ih, iw, grp * cg + ci)) * m.weight(co, ci, kh, kw);
                }
            y[static_cast<std::size_t>(((n * ys[1] + oh) * ys[2] + ow) * out + co)] = acc;
          }
    return y;
  };
  auto check = [&](const auto& m, const Tensor<float, 4>& x, index_t k, index_t s, index_t p, index_t groups) {
    const auto y = m(x);
    const auto want = reference(m, x, k, s, p, groups);
    REQUIRE(static_cast<std::size_t>(y.size()) == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(std::abs(y[static_cast<index_t>(i)] - want[i]) <= 1e-5);
  };
  SUBCASE("1x1") {
    auto m = initialized<nn::Conv2d<6, 5, 1>>(rng);
    check(m, random_tensor<4>({2, 4, 3, 6}, rng), 1, 1, 0, 1);
  }
  SUBCASE("depthwise 3x3, stride 2, padding 1, no bias") {
    auto m = initialized<nn::Conv2d<7, 7, 3, 2, 1, 1, 7, false>>(rng);
    check(m, random_tensor<4>({2, 5, 6, 7}, rng), 3, 2, 1, 7);
  }
}

TEST_CASE("batch norm backward: finite differences") {
  std::mt19937 rng(11);
  auto affine = [&](auto& m) {
    std::uniform_real_distribution<float> w(0.5f, 1.5f), b(-0.5f, 0.5f);
    for (auto& v : m.weight.values()) v = w(rng);
    for (auto& v : m.bias.values()) v = b(rng);
  };
  SUBCASE("BatchNorm1d on [N, C]") {
    nn::BatchNorm1d<3> m;
    affine(m);
    check_gradients(m, random_tensor<2>({8, 3}, rng), rng);
  }
  SUBCASE("BatchNorm1d on [N, L, C]") {
    nn::BatchNorm1d<3> m;
    affine(m);
    check_gradients(m, random_tensor<3>({2, 5, 3}, rng), rng);
  }
  SUBCASE("BatchNorm2d") {
    nn::BatchNorm2d<4> m;
    affine(m);
    check_gradients(m, random_tensor<4>({2, 3, 3, 4}, rng), rng);
  }
}

TEST_CASE("pooling and Flatten backward: finite differences") {
  std::mt19937 rng(13);
  SUBCASE("MaxPool2d 3, stride 2, padding 1") {
    nn::MaxPool2d<3, 2, 1> m;
    check_gradients(m, distinct_tensor<4>({2, 7, 6, 3}, rng), rng);
  }
  SUBCASE("MaxPool2d 2, stride 1, dilation 2, ceil_mode") {
    nn::MaxPool2d<2, 1, 0, 2, true> m;
    check_gradients(m, distinct_tensor<4>({1, 6, 5, 2}, rng), rng);
  }
  SUBCASE("MaxPool1d 3, stride 2, padding 1, ceil_mode") {
    nn::MaxPool1d<3, 2, 1, 1, true> m;
    check_gradients(m, distinct_tensor<3>({2, 10, 3}, rng), rng);
  }
  SUBCASE("AvgPool2d 3, stride 2, padding 1, ceil_mode, count_include_pad false") {
    nn::AvgPool2d<3, 2, 1, true, false> m;
    check_gradients(m, random_tensor<4>({2, 7, 6, 3}, rng), rng);
  }
  SUBCASE("AvgPool2d 3, stride 2, padding 1, count_include_pad") {
    nn::AvgPool2d<3, 2, 1> m;
    check_gradients(m, random_tensor<4>({2, 7, 6, 3}, rng), rng);
  }
  SUBCASE("AvgPool1d 3, stride 2, padding 1, ceil_mode") {
    nn::AvgPool1d<3, 2, 1, true, true> m;
    check_gradients(m, random_tensor<3>({2, 10, 3}, rng), rng);
  }
  SUBCASE("AdaptiveAvgPool2d 3 x 2 (overlapping bins)") {
    nn::AdaptiveAvgPool2d<3, 2> m;
    check_gradients(m, random_tensor<4>({2, 7, 5, 3}, rng), rng);
  }
  SUBCASE("AdaptiveAvgPool1d 4") {
    nn::AdaptiveAvgPool1d<4> m;
    check_gradients(m, random_tensor<3>({2, 7, 3}, rng), rng);
  }
  SUBCASE("Flatten") {
    nn::Flatten m;
    check_gradients(m, random_tensor<4>({2, 3, 2, 4}, rng), rng);
  }
}

namespace {

const nlohmann::json& reference() {
  static const nlohmann::json d = ctq_test::load_reference("train_layers_reference.json");
  return d;
}

const nlohmann::json& reference_case(const std::string& op) {
  for (const auto& c : reference()["cases"]) {
    if (c["op"] == op) return c;
  }
  FAIL("no case " << op << " in train_layers_reference.json");
  throw;
}

template <int R>
nn::DynTensor dyn(const nlohmann::json& e) {
  return nn::DynTensor(ctq_test::float_tensor<R>(e));
}

// Compares got with PyTorch's values: |got - expected| <= bound[i] (one bound per value).
void check_close(std::span<const float> got, const nlohmann::json& e, const std::vector<double>& bound,
                 const std::string& what) {
  const auto expected = ctq_test::floats_b64(e["b64"].get<std::string>());
  REQUIRE(got.size() == expected.size());
  REQUIRE(bound.size() == expected.size());
  int wrong = 0;
  double worst = 0.0;  // max |got - expected| / bound
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::abs(static_cast<double>(got[i]) - expected[i]);
    worst = std::max(worst, bound[i] > 0.0 ? d / bound[i] : (d > 0.0 ? 1e30 : 0.0));
    if (d > bound[i] && ++wrong <= 3) {
      MESSAGE(what << "[" << i << "]: PyTorch " << expected[i] << ", ctq " << got[i] << ", bound " << bound[i]);
    }
  }
  CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " of " << got.size()
                                 << " outside the bound; max |ctq - PyTorch| / bound = " << worst);
}

template <int R>
void check_shape(const nn::DynTensor& t, const nlohmann::json& e) {
  REQUIRE(t.rank() == R);
  for (int d = 0; d < R; ++d) CHECK(t.dim(d) == e["shape"][static_cast<std::size_t>(d)].get<index_t>());
}

// Convolution against PyTorch. Both sides sum the same products in different orders (im2col +
// Eigen GEMM here, PyTorch's own kernel there); Higham's bound for a sum of m float products is
// |computed - exact| <= gamma_m sum |a_i b_i|, gamma_m = m u / (1 - m u), u = 2^-24, so the two
// differ by at most 2 gamma_m sum |a_i b_i|. The sums of |products| come from the same layer run on
// |x|, |w|, |b|, |gy|; m is the largest number of terms of any output of the case (one image's
// taps x channels for y and dx, batch x pixels for dw and db).
template <class M>
void check_conv_case(const std::string& op) {
  constexpr int R = M::spatial_dims + 2;
  const auto& c = reference_case(op);
  const auto& p = c["params"];
  CHECK(p["in_c"] == M::in_channels);
  CHECK(p["out_c"] == M::out_channels);
  CHECK(p["k"] == M::kernel_size);
  CHECK(p["s"] == M::stride);
  CHECK(p["p"] == M::padding);
  CHECK(p["d"] == M::dilation);
  CHECK(p["g"] == M::groups);
  CHECK(p["bias"] == M::has_bias);

  M m, abs_m;
  m.weight = ctq_test::float_tensor<R>(c["weight"]);
  if constexpr (M::has_bias) m.bias = ctq_test::float_tensor<1>(c["bias"]);
  abs_m.weight = m.weight;
  abs_m.weight.array() = abs_m.weight.array().abs();
  abs_m.bias = m.bias;
  abs_m.bias.array() = abs_m.bias.array().abs();
  nn::train(m);
  nn::train(abs_m);

  const auto x = ctq_test::float_tensor<R>(c["x"]);
  auto abs_x = x;
  abs_x.array() = abs_x.array().abs();
  const nn::DynTensor gy = dyn<R>(c["gy"]);
  nn::DynTensor abs_gy = gy;
  abs_gy.array() = abs_gy.array().abs();

  const auto y = m(x);
  const auto gx = m.backward(gy);
  const auto abs_y = abs_m(abs_x);
  const auto abs_gx = abs_m.backward(abs_gy);

  const index_t batch = x.dim(0), pixels = y.size() / batch / M::out_channels;
  const index_t m_terms = std::max<index_t>(
      {M::in_channels / M::groups * M::taps + 1, M::out_channels / M::groups * M::taps, batch * pixels});
  const double u = 0x1p-24, gamma = m_terms * u / (1.0 - m_terms * u);
  auto bounds = [&](std::span<const float> abs_sum) {
    std::vector<double> b(abs_sum.size());
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = 2.0 * gamma * abs_sum[i];
    return b;
  };
  INFO(op << ": m = " << m_terms);
  check_close(y.values(), c["y"], bounds(abs_y.values()), op + " y");
  check_shape<R>(gx, c["gx"]);
  check_close(gx.values(), c["gx"], bounds(abs_gx.values()), op + " dx");
  check_close(m.weight_grad.values(), c["gw"], bounds(abs_m.weight_grad.values()), op + " dweight");
  if constexpr (M::has_bias) {
    check_close(m.bias_grad.values(), c["gb"], bounds(abs_m.bias_grad.values()), op + " dbias");
  } else {
    CHECK(!c.contains("gb"));
  }
}

}  // namespace

TEST_CASE("conv backward against PyTorch") {
  SUBCASE("depthwise, stride 2") { check_conv_case<nn::Conv2d<4, 4, 3, 2, 1, 1, 4>>("conv2d_depthwise"); }
  SUBCASE("grouped, dilated") { check_conv_case<nn::Conv2d<4, 6, 3, 1, 2, 2, 2>>("conv2d_grouped"); }
  SUBCASE("Conv1d without bias") { check_conv_case<nn::Conv1d<3, 5, 3, 2, 1, 1, 1, false>>("conv1d"); }
}

TEST_CASE("batch norm training against PyTorch") {
  const auto& c = reference_case("batchnorm2d");
  CHECK(c["params"]["c"] == 3);
  nn::BatchNorm2d<3> m;
  m.weight = ctq_test::float_tensor<1>(c["weight"]);
  m.bias = ctq_test::float_tensor<1>(c["bias"]);
  m.running_mean = ctq_test::float_tensor<1>(c["running_mean_in"]);
  m.running_var = ctq_test::float_tensor<1>(c["running_var_in"]);
  nn::train(m);
  const auto x = ctq_test::float_tensor<4>(c["x"]);
  const auto y = m(x);
  const auto gx = m.backward(dyn<4>(c["gy"]));
  check_shape<4>(gx, c["gx"]);
  // Statistics over 40 values per channel; ctq sums in double, PyTorch in its own order and
  // precision, and y, dx take ~10 further float operations (dx subtracts two means from g, so
  // cancellation can lose a few bits relative to the largest terms). Bound: 1e-5 of the largest
  // |value| of the tensor (~170 ulp of it, ~20x the n u = 2.4e-6 a 40-term float sum may drift),
  // and 1e-6 relative for the running statistics (two float roundings of a momentum update).
  auto uniform_bound = [](const nlohmann::json& e, double rel) {
    const auto v = ctq_test::floats_b64(e["b64"].get<std::string>());
    double big = 0.0;
    for (float f : v) big = std::max(big, static_cast<double>(std::abs(f)));
    return std::vector<double>(v.size(), rel * big);
  };
  auto elementwise_bound = [](const nlohmann::json& e, double rel) {
    const auto v = ctq_test::floats_b64(e["b64"].get<std::string>());
    std::vector<double> b(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) b[i] = rel * std::abs(v[i]);
    return b;
  };
  check_close(y.values(), c["y"], uniform_bound(c["y"], 1e-5), "BatchNorm2d y");
  check_close(gx.values(), c["gx"], uniform_bound(c["gx"], 1e-5), "BatchNorm2d dx");
  check_close(m.weight_grad.values(), c["gw"], uniform_bound(c["gw"], 1e-5), "BatchNorm2d dweight");
  check_close(m.bias_grad.values(), c["gb"], uniform_bound(c["gb"], 1e-5), "BatchNorm2d dbias");
  check_close(m.running_mean.values(), c["running_mean"], elementwise_bound(c["running_mean"], 1e-6),
              "BatchNorm2d running_mean");
  check_close(m.running_var.values(), c["running_var"], elementwise_bound(c["running_var"], 1e-6),
              "BatchNorm2d running_var");
}

TEST_CASE("pooling backward against PyTorch") {
  // Max pooling routes gradients (an input that is the maximum of two windows gets their sum, in
  // output order on both sides): bitwise. Average pooling adds g / divisor per window in output
  // order, as PyTorch's CPU kernel: bitwise too, but a 2-ulp bound of the tensor's largest |value|
  // leaves PyTorch free to divide once or multiply by 1/divisor.
  auto run = [](auto m, const std::string& op, bool exact) {
    const auto& c = reference_case(op);
    nn::train(m);
    const auto x = ctq_test::float_tensor<4>(c["x"]);
    const auto y = m(x);
    const auto gx = m.backward(dyn<4>(c["gy"]));
    check_shape<4>(gx, c["gx"]);
    if (exact) {
      ctq_test::check_bits(ctq_test::floats_b64(c["y"]["b64"].get<std::string>()), y.data(),
                           static_cast<std::size_t>(y.size()), op + " y");
      ctq_test::check_bits(ctq_test::floats_b64(c["gx"]["b64"].get<std::string>()), gx.data(),
                           static_cast<std::size_t>(gx.size()), op + " dx");
    } else {
      auto two_ulp = [](const nlohmann::json& e) {
        const auto v = ctq_test::floats_b64(e["b64"].get<std::string>());
        double big = 0.0;
        for (float f : v) big = std::max(big, static_cast<double>(std::abs(f)));
        return std::vector<double>(v.size(), 2.0 * big * 0x1p-23);
      };
      check_close(y.values(), c["y"], two_ulp(c["y"]), op + " y");
      check_close(gx.values(), c["gx"], two_ulp(c["gx"]), op + " dx");
    }
  };
  using MaxP = nn::MaxPool2d<3, 2, 1>;
  using AvgP = nn::AvgPool2d<3, 2, 1, true, false>;
  using AdaP = nn::AdaptiveAvgPool2d<3, 2>;
  const auto& pm = reference_case("maxpool2d")["params"];
  CHECK((pm["k"] == MaxP::kernel_size && pm["s"] == MaxP::stride && pm["p"] == MaxP::padding &&
         pm["d"] == MaxP::dilation && pm["ceil"] == MaxP::ceil_mode));
  const auto& pa = reference_case("avgpool2d")["params"];
  CHECK((pa["k"] == AvgP::kernel_size && pa["s"] == AvgP::stride && pa["p"] == AvgP::padding &&
         pa["ceil"] == AvgP::ceil_mode && pa["cip"] == AvgP::count_include_pad));
  const auto& pd = reference_case("adaptive_avgpool2d")["params"];
  CHECK((pd["oh"] == AdaP::output_h && pd["ow"] == AdaP::output_w));
  run(MaxP{}, "maxpool2d", true);
  run(AvgP{}, "avgpool2d", false);
  run(AdaP{}, "adaptive_avgpool2d", false);
}

TEST_CASE("max pooling routes ties to the first maximum in scan order") {
  // One window of four equal values: PyTorch's argmax is the first (strictly greater replaces).
  nn::MaxPool2d<2> m;
  nn::train(m);
  const Tensor<float, 4> x({1, 2, 2, 1}, {3.0f, 3.0f, 3.0f, 3.0f});
  (void)m(x);
  const auto gx = m.backward(nn::DynTensor(Tensor<float, 4>({1, 1, 1, 1}, {1.0f})));
  CHECK(std::vector<float>(gx.values().begin(), gx.values().end()) == std::vector<float>{1.0f, 0.0f, 0.0f, 0.0f});
}

TEST_CASE("running statistics: PyTorch's momentum rule with the unbiased variance") {
  // x = 1, 2, 3, 6 in one channel: mean 3, biased variance 14 / 4 = 3.5, unbiased 14 / 3.
  // From running (0, 1) with momentum 0.1: mean 0.1 * 3 = 0.3, var 0.9 + 0.1 * 14 / 3 = 1.36667.
  // The output uses the biased variance: (x - 3) / sqrt(3.5 + 1e-5).
  nn::BatchNorm1d<1> m;
  nn::train(m);
  const auto y = m(Tensor<float, 2>({4, 1}, {1.0f, 2.0f, 3.0f, 6.0f}));
  CHECK(m.running_mean[0] == doctest::Approx(0.3).epsilon(1e-7));
  CHECK(m.running_var[0] == doctest::Approx(0.9 + 0.1 * 14.0 / 3.0).epsilon(1e-7));
  CHECK(y[3] == doctest::Approx(3.0 / std::sqrt(3.5 + 1e-5)).epsilon(1e-6));
  // a second step starts from the updated statistics
  (void)m(Tensor<float, 2>({4, 1}, {1.0f, 2.0f, 3.0f, 6.0f}));
  CHECK(m.running_mean[0] == doctest::Approx(0.9 * 0.3 + 0.3).epsilon(1e-6));
}

TEST_CASE("evaluation-mode BatchNorm is unchanged") {
  std::mt19937 rng(17);
  nn::BatchNorm2d<3> m;
  m.weight = Tensor<float, 1>({3}, {0.5f, 1.5f, -1.0f});
  m.bias = Tensor<float, 1>({3}, {0.1f, -0.2f, 0.3f});
  m.running_mean = Tensor<float, 1>({3}, {0.25f, -1.0f, 2.0f});
  m.running_var = Tensor<float, 1>({3}, {0.5f, 2.0f, 4.0f});
  const auto x = random_tensor<4>({2, 3, 2, 3}, rng);
  // the evaluation formula, bit for bit (the kernel inference has always used)
  Tensor<float, 4> expected(x.shape());
  nn::detail::batchnorm_forward(x.data(), x.size() / 3, 3, m.weight.data(), m.bias.data(), m.running_mean.data(),
                                m.running_var.data(), 1e-5f, expected.data());
  const auto before_mean = m.running_mean, before_var = m.running_var;
  CHECK(m(x) == expected);
  CHECK(std::as_const(m)(x) == expected);
  CHECK(m.running_mean == before_mean);
  CHECK(m.running_var == before_var);
  // after a training step and nn::eval, the running statistics normalize again
  nn::train(m);
  (void)m(x);
  nn::eval(m);
  CHECK(!m.training);
  nn::detail::batchnorm_forward(x.data(), x.size() / 3, 3, m.weight.data(), m.bias.data(), m.running_mean.data(),
                                m.running_var.data(), 1e-5f, expected.data());
  const auto stats_mean = m.running_mean;
  CHECK(m(x) == expected);
  CHECK(m.running_mean == stats_mean);
}

TEST_CASE("backward errors") {
  const Tensor<float, 4> x({1, 4, 4, 2});
  SUBCASE("no training-mode forward") {
    nn::Conv2d<2, 2, 3> conv;
    (void)conv(x);
    CHECK_CTQ_ERROR(conv.backward(nn::DynTensor(conv(x))), "ctq: nn::Conv2d::backward: no forward pass in training");
    nn::BatchNorm2d<2> bn;
    (void)bn(x);
    CHECK_CTQ_ERROR(bn.backward(nn::DynTensor(x)), "ctq: nn::BatchNorm2d::backward: no forward pass in training");
    nn::MaxPool2d<2> mp;
    CHECK_CTQ_ERROR(mp.backward(nn::DynTensor(mp(x))), "ctq: nn::MaxPool2d::backward: no forward pass in training");
    nn::AvgPool1d<2> ap;
    const Tensor<float, 3> s({1, 4, 2});
    CHECK_CTQ_ERROR(ap.backward(nn::DynTensor(ap(s))), "ctq: nn::AvgPool1d::backward: no forward pass in training");
    nn::AdaptiveAvgPool2d<1> aap;
    CHECK_CTQ_ERROR(aap.backward(nn::DynTensor(aap(x))), "ctq: nn::AdaptiveAvgPool2d::backward: no forward pass");
    nn::Flatten f;
    CHECK_CTQ_ERROR(f.backward(nn::DynTensor(f(x))), "ctq: nn::Flatten::backward: no forward pass in training");
  }
  SUBCASE("a gradient of the wrong shape") {
    nn::Conv2d<2, 2, 3> conv;
    nn::MaxPool2d<2> mp;
    nn::Flatten f;
    nn::train(conv);
    nn::train(mp);
    nn::train(f);
    (void)conv(x);
    (void)mp(x);
    (void)f(x);
    CHECK_CTQ_ERROR(conv.backward(nn::DynTensor(x)), "the gradient's shape differs");
    CHECK_CTQ_ERROR(mp.backward(nn::DynTensor(x)), "the gradient's shape differs");
    CHECK_CTQ_ERROR(f.backward(nn::DynTensor(x)), "the gradient's shape differs");
  }
  SUBCASE("one value per channel in training") {
    nn::BatchNorm1d<2> bn;
    nn::train(bn);
    CHECK_CTQ_ERROR(bn(Tensor<float, 2>({1, 2})), "ctq: nn::BatchNorm1d: expected more than 1 value per channel");
    CHECK(bn(Tensor<float, 2>({2, 2})).size() == 4);
  }
  SUBCASE("a const BatchNorm in training mode") {
    nn::BatchNorm2d<2> bn;
    nn::train(bn);
    CHECK_CTQ_ERROR(std::as_const(bn)(x), "a const module in training mode");
  }
}

TEST_CASE("parameters, accumulation and the mode switch") {
  std::mt19937 rng(19);
  auto conv = initialized<nn::Conv2d<2, 3, 3, 1, 1>>(rng);
  std::vector<std::string> names;
  nn::for_each_parameter(conv, [&](const std::string& n, auto&, auto&) { names.push_back(n); });
  CHECK(names == std::vector<std::string>{"weight", "bias"});
  CHECK(nn::parameter_count(conv) == 3 * 2 * 9 + 3);
  nn::BatchNorm2d<3> bn;
  names.clear();
  nn::for_each_parameter(bn, [&](const std::string& n, auto&, auto&) { names.push_back(n); });
  CHECK(names == std::vector<std::string>{"weight", "bias"});
  // state_dict keys stay PyTorch's
  names.clear();
  bn.visit_state([&](std::string_view n, auto&) { names.emplace_back(n); });
  CHECK(names == std::vector<std::string>{"weight", "bias", "running_mean", "running_var"});

  // gradients accumulate until zero_grad: two identical backward passes give twice the first, up
  // to the order in which the second pass adds its two images onto the first's sum (a few
  // roundings of 2^-24 relative to the largest gradient: 1e-6 of it)
  nn::train(conv);
  const auto x = random_tensor<4>({2, 4, 4, 2}, rng);
  const nn::DynTensor g(random_tensor<4>(nn::Conv2d<2, 3, 3, 1, 1>::output_shape(x.shape()), rng));
  (void)conv(x);
  (void)conv.backward(g);
  const auto w1 = conv.weight_grad;
  const auto b1 = conv.bias_grad;
  (void)conv.backward(g);
  auto w2 = w1;
  auto b2 = b1;
  w2.array() *= 2.0f;
  b2.array() *= 2.0f;
  CHECK((conv.weight_grad.array() - w2.array()).abs().maxCoeff() <= 1e-6f * w2.array().abs().maxCoeff());
  CHECK((conv.bias_grad.array() - b2.array()).abs().maxCoeff() <= 1e-6f * b2.array().abs().maxCoeff());
  CHECK(w2.array().abs().maxCoeff() > 0.0f);
  nn::zero_grad(conv);
  CHECK(conv.weight_grad.array().abs().maxCoeff() == 0.0f);

  // nn::train / nn::eval reach every module with a training flag
  nn::MaxPool2d<2> mp;
  nn::Flatten f;
  nn::train(mp);
  nn::train(f);
  CHECK(mp.training);
  CHECK(f.training);
  nn::eval(mp);
  CHECK(!mp.training);
}

namespace {
// A fused float module (what fuse_modules makes in evaluation) against the module and a ReLU in a
// row, the pair's backward being checked above: same parameters, same batch, training mode; the
// outputs, the input's gradient, every parameter's gradient and the BatchNorm's running
// statistics must be equal bit for bit (the same operations run, the ReLU's mask between them).
template <class Fused, class Pair, int R>
void check_fused_as_pair(const Shape<R>& xs, std::uint32_t seed) {
  Pair pair;
  nn::reset_parameters(pair, seed);
  Fused fused;
  nn::load_state_dict(fused, nn::state_dict(pair));  // the same names: "0.weight", ...
  std::mt19937 rng(seed);
  const auto x = random_tensor<R>(xs, rng);
  nn::train(pair);
  nn::train(fused);
  const auto y = pair(x);
  const auto yf = fused(x);
  REQUIRE(yf.shape() == y.shape());
  CHECK(std::ranges::equal(yf.values(), y.values()));
  CHECK(std::ranges::count(y.values(), 0.0f) > 0);  // the mask has something to do
  const auto g = random_tensor<R>(y.shape(), rng);
  nn::zero_grad(pair);
  nn::zero_grad(fused);
  const nn::DynTensor gx = nn::backward(pair, g), gxf = nn::backward(fused, g);
  CHECK(std::ranges::equal(gxf.values(), gx.values()));
  std::vector<std::pair<std::string, std::vector<float>>> grads;
  nn::for_each_parameter(pair, [&](const std::string& n, auto&, auto& grad) {
    grads.emplace_back(n, std::vector<float>(grad.values().begin(), grad.values().end()));
  });
  std::size_t i = 0;
  nn::for_each_parameter(fused, [&](const std::string& n, auto&, auto& grad) {
    REQUIRE(i < grads.size());
    CHECK(n == grads[i].first);
    CHECK(std::ranges::equal(grad.values(), grads[i].second));
    ++i;
  });
  CHECK(i == grads.size());
  const nn::StateDict sf = nn::state_dict(fused), sp = nn::state_dict(pair);  // running statistics too
  REQUIRE(sf.size() == sp.size());
  for (const auto& [key, t] : sp) {
    REQUIRE(sf.count(key) == 1);
    CHECK(sf.at(key).values == t.values);
  }
  // evaluation mode reaches the inner module too
  nn::eval(fused);
  CHECK(!fused.training);
  CHECK(!fused.inner.training);
}
}  // namespace

TEST_CASE("fused float modules train as the module and a ReLU in a row") {
  SUBCASE("ConvReLU2d") {
    check_fused_as_pair<nn::intrinsic::ConvReLU<nn::Conv2d<3, 4, 3, 2, 1>>,
                        nn::Sequential<nn::Conv2d<3, 4, 3, 2, 1>, nn::ReLU>, 4>({2, 6, 5, 3}, 31);
  }
  SUBCASE("ConvReLU1d, grouped") {
    check_fused_as_pair<nn::intrinsic::ConvReLU<nn::Conv1d<4, 6, 3, 1, 1, 1, 2>>,
                        nn::Sequential<nn::Conv1d<4, 6, 3, 1, 1, 1, 2>, nn::ReLU>, 3>({3, 7, 4}, 32);
  }
  SUBCASE("LinearReLU") {
    check_fused_as_pair<nn::intrinsic::LinearReLU<nn::Linear<5, 6>>, nn::Sequential<nn::Linear<5, 6>, nn::ReLU>, 2>(
        {7, 5}, 33);
  }
  SUBCASE("BNReLU2d (batch statistics, running statistics updated)") {
    check_fused_as_pair<nn::intrinsic::BNReLU<nn::BatchNorm2d<3>>, nn::Sequential<nn::BatchNorm2d<3>, nn::ReLU>, 4>(
        {2, 4, 3, 3}, 34);
  }
  SUBCASE("backward before a training-mode forward is an error") {
    nn::intrinsic::ConvReLU<nn::Conv2d<1, 1, 1>> fused;
    CHECK_CTQ_ERROR(fused.backward(nn::DynTensor(Tensor<float, 4>({1, 1, 1, 1}))), "ConvReLU");
  }
}
