// quantize_dynamic: which layers the spec selects, the module types it produces, and a derived
// error bound for one dynamic int8 layer. (Bit-level agreement with PyTorch's dynamic modules is
// tested in tests/nn/test_dynamic_linear.cpp and tests/nn/test_rnn.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/ctq.hpp>
#include <random>
#include <type_traits>

using namespace ctq;
namespace nqd = nn::quantized::dynamic;

namespace {
using Net = nn::Sequential<nn::named<"fc1", nn::Linear<16, 32>>, nn::named<"relu", nn::ReLU>,
                           nn::named<"fc2", nn::Linear<32, 8>>>;

Tensor<float, 2> input(index_t rows, index_t cols, std::uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> normal;
  Tensor<float, 2> x({rows, cols});
  for (auto& v : x.values()) v = normal(g);
  return x;
}
}  // namespace

TEST_CASE("quantize_dynamic: the default spec takes every Linear, qint8 per tensor") {
  Net net;
  nn::reset_parameters(net, 1);
  auto q = quantize_dynamic(net);
  using Q = decltype(q);
  static_assert(std::is_same_v<nn::module_at_t<Q, "fc1">, nqd::Linear<16, 32>>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "relu">, nn::ReLU>);  // activations stay float
  static_assert(std::is_same_v<nn::module_at_t<Q, "fc2">, nqd::Linear<32, 8>>);
  CHECK(nn::module_at<"fc1">(q).weight().scales.size() == 1);
  CHECK(nn::parameter_bytes(q) < nn::parameter_bytes(net) / 3);
}

TEST_CASE("quantize_dynamic: module kinds with float16, a QConfigMapping by name, fused LinearReLU") {
  Net net;
  nn::reset_parameters(net, 2);
  auto h = quantize_dynamic<module_kinds<dynamic_kind::linear>, dtype::float16>(net);
  static_assert(std::is_same_v<nn::module_at_t<decltype(h), "fc2">, nqd::LinearFp16<32, 8>>);
  auto m = quantize_dynamic<QConfigMapping<no_qconfig, for_name<"fc2", per_channel_dynamic_qconfig>>>(net);
  static_assert(std::is_same_v<nn::module_at_t<decltype(m), "fc1">, nn::Linear<16, 32>>);
  static_assert(std::is_same_v<nn::module_at_t<decltype(m), "fc2">, nqd::Linear<32, 8>>);
  CHECK(nn::module_at<"fc2">(m).weight().scales.size() == 8);  // per channel
  auto none = quantize_dynamic<module_kinds<dynamic_kind::lstm>>(net);
  static_assert(std::is_same_v<decltype(none), Net>);
  auto fused = quantize_dynamic(fuse_modules<fuse<"fc1", "relu">>(net));
  static_assert(
      std::is_same_v<nn::module_at_t<decltype(fused), "fc1">, nn::intrinsic::quantized::dynamic::LinearReLU<16, 32>>);
  const auto x = input(3, 16, 5);
  const Tensor<float, 2> a = fused(x), b = quantize_dynamic(net)(x);
  CHECK(a == b);  // the fused ReLU clamps what the separate ReLU clamps
}

TEST_CASE("quantize_dynamic: one int8 layer stays within the error its two quantizations allow") {
  using One = nn::Sequential<nn::named<"fc", nn::Linear<64, 16>>>;
  One net;
  nn::reset_parameters(net, 3);
  auto q = quantize_dynamic(net);
  const auto x = input(4, 64, 6);
  const Tensor<float, 2> y = net(x), yq = q(x);
  const auto& w = nn::module_at<"fc">(net).weight;
  // x is quantized per call to 256 levels over [min(x, 0), max(x, 0)] (7 bits with reduce_range:
  // 128 levels), w to qint8 with step w_scale: |x - x'| <= dx / 2, |w - w'| <= dw / 2, so
  // |y - y'| <= sum_k |x_k| dw / 2 + |w_k| dx / 2 + dx dw / 4, plus float rounding (1e-5).
  float lo = 0.0f, hi = 0.0f, wmax = 0.0f;
  for (float v : x.values()) lo = std::min(lo, v), hi = std::max(hi, v);
  for (float v : w.values()) wmax = std::max(wmax, std::abs(v));
  const float dx = (hi - lo) / 127.0f, dw = wmax / 127.0f * 1.0001f;
  for (index_t r = 0; r < 4; ++r)
    for (index_t o = 0; o < 16; ++o) {
      float bound = 1e-5f;
      for (index_t k = 0; k < 64; ++k) {
        bound += std::abs(x(r, k)) * dw / 2 + std::abs(w(o, k)) * dx / 2 + dx * dw / 4;
      }
      CHECK(std::abs(y(r, o) - yq(r, o)) <= bound);
    }
}
