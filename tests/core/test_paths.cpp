// The vector path (arch::best, the xsimd arch this file was compiled for) and the scalar reference
// give identical results on randomized inputs of awkward lengths. Built once per x86 arch.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <ctq/ctq.hpp>
#include <limits>
#include <random>
#include <string>

using ctq::dtype;

namespace {

constexpr ctq::index_t lengths[] = {0, 1, 15, 17, 31, 33, 64, 1000003};

// Mostly normal values, with exact .5 ties of x / scale, values far outside the range, +-inf,
// -0 and subnormals mixed in.
ctq::Tensor<float, 1> random_input(ctq::index_t n, float scale, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 100.0f * scale);
  std::uniform_int_distribution<int> pick(0, 19), k(-300, 300);
  ctq::Tensor<float, 1> x({n});
  for (ctq::index_t i = 0; i < n; ++i) {
    switch (pick(gen)) {
      case 0: x[i] = (static_cast<float>(k(gen)) + 0.5f) * scale; break;
      case 1: x[i] = static_cast<float>(k(gen)) * 1e6f; break;
      case 2: x[i] = (i % 2 ? 1.0f : -1.0f) * INFINITY; break;
      case 3: x[i] = -0.0f; break;
      case 4: x[i] = 1e-40f; break;
      default: x[i] = normal(gen);
    }
  }
  return x;
}

template <class T>
bool same_bits(const T* a, const T* b, ctq::index_t n) {
  return n == 0 || std::memcmp(a, b, static_cast<std::size_t>(n) * sizeof(T)) == 0;
}

}  // namespace

TEST_CASE("the path under test") {
  MESSAGE("arch::best is " << std::string(ctq::arch::best::name()));
#if CTQ_HAS_XSIMD
  CHECK(ctq::arch::is_simd<ctq::arch::best>);
#endif
}

TEST_CASE_TEMPLATE("quantize and dequantize: vector path == scalar path", T,
                   std::integral_constant<dtype, dtype::quint8>, std::integral_constant<dtype, dtype::qint8>,
                   std::integral_constant<dtype, dtype::qint32>, std::integral_constant<dtype, dtype::quint4x2>) {
  constexpr dtype D = T::value;
  const std::pair<float, std::int32_t> params[] = {
      {0.1f, static_cast<std::int32_t>(ctq::dtype_traits<D>::quant_min)},
      {0.0173f, static_cast<std::int32_t>((ctq::dtype_traits<D>::quant_min + ctq::dtype_traits<D>::quant_max) / 2)},
      {3.0f, static_cast<std::int32_t>(ctq::dtype_traits<D>::quant_max)}};
  std::uint32_t seed = 1;
  for (ctq::index_t n : lengths) {
    for (auto [scale, zp] : params) {
      CAPTURE(n);
      CAPTURE(scale);
      CAPTURE(zp);
      const auto x = random_input(n, scale, seed++);
      const auto qs = ctq::quantize_per_tensor<D>(x, scale, zp, ctq::arch::scalar{});
      const auto qv = ctq::quantize_per_tensor<D>(x, scale, zp, ctq::arch::best{});
      CHECK(same_bits(qs.data(), qv.data(), static_cast<ctq::index_t>(qs.int_repr().size())));
      const auto ys = ctq::dequantize(qs, ctq::arch::scalar{});
      const auto yv = ctq::dequantize(qs, ctq::arch::best{});
      CHECK(same_bits(ys.data(), yv.data(), n));
      // The round trip is within half a step wherever the value was inside the range (not for a
      // qint32 zero point beyond 2^24: PyTorch, and so ctq, adds the zero point in float).
      const bool exact_zero_point = zp >= -(1 << 24) && zp <= (1 << 24);
      for (ctq::index_t i = 0; exact_zero_point && i < n; ++i) {
        const float lo = (static_cast<float>(ctq::dtype_traits<D>::quant_min) - static_cast<float>(zp)) * scale;
        const float hi = (static_cast<float>(ctq::dtype_traits<D>::quant_max) - static_cast<float>(zp)) * scale;
        if (x[i] >= lo && x[i] <= hi && std::fabs(x[i]) < 1e6f) {
          // Half a step in exact arithmetic; x * (1/scale) and (q - zp) * scale each round once,
          // which adds at most a few ulps of |x|.
          const float bound = scale * 0.5f + 4.0f * std::fabs(x[i]) * std::numeric_limits<float>::epsilon();
          if (!(std::fabs(ys[i] - x[i]) <= bound)) {
            FAIL("round trip of " << x[i] << " gave " << ys[i]);
          }
        }
      }
    }
  }
}

TEST_CASE("quantize per channel: vector path == scalar path on every axis") {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> s(0.001f, 0.5f);
  std::uniform_int_distribution<std::int32_t> z(-128, 127);
  ctq::Tensor<float, 3> x({5, 17, 33});
  const auto flat = random_input(x.size(), 0.05f, 99);
  std::copy(flat.values().begin(), flat.values().end(), x.values().begin());
  for (int axis = -3; axis < 3; ++axis) {
    const auto c = static_cast<std::size_t>(x.dim(axis));
    std::vector<float> scales(c);
    std::vector<std::int32_t> zps(c);
    for (std::size_t i = 0; i < c; ++i) scales[i] = s(gen), zps[i] = z(gen);
    const auto a = ctq::quantize_per_channel<dtype::qint8>(x, scales, zps, axis, ctq::arch::scalar{});
    const auto b = ctq::quantize_per_channel<dtype::qint8>(x, scales, zps, axis, ctq::arch::best{});
    CHECK(same_bits(a.data(), b.data(), a.size()));
    const auto ya = ctq::dequantize(a, ctq::arch::scalar{});
    const auto yb = ctq::dequantize(a, ctq::arch::best{});
    CHECK(same_bits(ya.data(), yb.data(), ya.size()));
    const auto fa =
        ctq::fake_quantize_per_channel_affine_cachemask(x, scales, zps, axis, -128, 127, ctq::arch::scalar{});
    const auto fb = ctq::fake_quantize_per_channel_affine_cachemask(x, scales, zps, axis, -128, 127, ctq::arch::best{});
    CHECK(same_bits(fa.output.data(), fb.output.data(), x.size()));
    CHECK(same_bits(fa.mask.data(), fb.mask.data(), x.size()));
  }
}

TEST_CASE("fake_quantize and its mask: vector path == scalar path") {
  const std::tuple<float, std::int32_t, std::int64_t, std::int64_t> params[] = {
      {0.1f, 128, 0, 255}, {0.031f, 0, -128, 127}, {0.5f, 3, 0, 15}, {0.007f, -10, -64, 63}};
  std::uint32_t seed = 1000;
  for (ctq::index_t n : lengths) {
    for (auto [scale, zp, qmin, qmax] : params) {
      CAPTURE(n);
      CAPTURE(scale);
      const auto x = random_input(n, scale, seed++);
      const auto a = ctq::fake_quantize_per_tensor_affine_cachemask(x, scale, zp, qmin, qmax, ctq::arch::scalar{});
      const auto b = ctq::fake_quantize_per_tensor_affine_cachemask(x, scale, zp, qmin, qmax, ctq::arch::best{});
      CHECK(same_bits(a.output.data(), b.output.data(), n));
      CHECK(same_bits(a.mask.data(), b.mask.data(), n));
    }
  }
}

TEST_CASE("requantize and dynamic quantization: vector path == scalar path") {
  std::uint32_t seed = 5000;
  for (ctq::index_t n : lengths) {
    if (n == 0) continue;  // dynamic quantization of an empty tensor is an error
    CAPTURE(n);
    auto x = random_input(n, 0.02f, seed++);
    for (auto& v : x.values()) {
      if (!std::isfinite(v) || std::fabs(v) > 1e3f) v = 0.5f;  // dynamic ranges need finite data
    }
    const auto ds = ctq::quantize_per_tensor_dynamic<dtype::quint8>(x, true, ctq::arch::scalar{});
    const auto dv = ctq::quantize_per_tensor_dynamic<dtype::quint8>(x, true, ctq::arch::best{});
    CHECK(ds.qparams() == dv.qparams());
    CHECK(same_bits(ds.data(), dv.data(), n));
    const auto rs = ctq::requantize<dtype::qint8>(ds, {0.013f, -3}, ctq::arch::scalar{});
    const auto rv = ctq::requantize<dtype::qint8>(ds, {0.013f, -3}, ctq::arch::best{});
    CHECK(same_bits(rs.data(), rv.data(), n));
  }
}
