// The quantized elementwise, activation and pooling kernels: the vector path (ctq::arch::best, the
// xsimd arch this file was compiled for) against the scalar reference on random data of awkward
// lengths and shapes, with guard bytes after every output to catch writes out of bounds; the
// numeric building blocks; and every runtime error. Built once per x86 arch (and for aarch64).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctq/kernels.hpp>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../support/check_error.hpp"

namespace k = ctq::kernels;
using ctq::index_t;
using ctq::PerTensorQParams;

namespace {

constexpr index_t lengths[] = {0, 1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1031};
constexpr std::uint8_t sentinel = 0xA5;
constexpr std::size_t guard = 70;  // more than one AVX-512 byte vector

std::mt19937& gen() {
  static std::mt19937 g(20261124);
  return g;
}

template <class T>
std::vector<T> random_codes(index_t n) {
  std::uniform_int_distribution<int> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(d(gen()));
  return v;
}

template <class T>
PerTensorQParams random_qparams(float lo = 0.002f, float hi = 0.3f) {
  std::uniform_real_distribution<float> s(std::log(lo), std::log(hi));
  std::uniform_int_distribution<int> z(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  return {std::exp(s(gen())), z(gen())};
}

// An output buffer of n elements followed by guard bytes, all set to the sentinel.
template <class T>
struct Output {
  std::vector<T> buf;
  index_t n;
  explicit Output(index_t size) : buf(static_cast<std::size_t>(size) + guard, static_cast<T>(sentinel)), n(size) {}
  std::span<T> span() { return {buf.data(), static_cast<std::size_t>(n)}; }
  bool guard_intact() const {
    for (std::size_t i = static_cast<std::size_t>(n); i < buf.size(); ++i) {
      if (buf[i] != static_cast<T>(sentinel)) return false;
    }
    return true;
  }
};

// Runs f(path, out) for both paths into fresh guarded outputs; they must agree bit for bit and
// leave the guards alone.
template <class T, class F>
void check_same(index_t n, const std::string& what, F&& f) {
  Output<T> s(n), v(n);
  f(ctq::arch::scalar{}, s.span());
  f(ctq::arch::best{}, v.span());
  CHECK_MESSAGE(s.guard_intact(), what << ": the scalar path wrote past the end (n = " << n << ")");
  CHECK_MESSAGE(v.guard_intact(), what << ": the vector path wrote past the end (n = " << n << ")");
  for (index_t i = 0; i < n; ++i) {
    if (s.buf[static_cast<std::size_t>(i)] != v.buf[static_cast<std::size_t>(i)]) {
      FAIL_CHECK(what << ": n = " << n << ", element " << i << ": scalar " << +s.buf[static_cast<std::size_t>(i)]
                      << ", vector " << +v.buf[static_cast<std::size_t>(i)]);
      return;
    }
  }
}

constexpr k::TorchConfig configs[] = {
    {k::qengine::x86, k::memory_format::contiguous},
    {k::qengine::x86, k::memory_format::channels_last},
    {k::qengine::qnnpack, k::memory_format::contiguous},
    {k::qengine::qnnpack, k::memory_format::channels_last},
};

std::string name(const k::TorchConfig& c) {
  return std::string(c.engine == k::qengine::qnnpack ? "qnnpack" : "x86") +
         (c.format == k::memory_format::channels_last ? "/channels_last" : "/contiguous");
}

}  // namespace

TEST_CASE("the path under test") {
  MESSAGE("ctq::arch::best is " << std::string(ctq::arch::best::name()));
#if CTQ_HAS_XSIMD
  CHECK(ctq::arch::is_simd<ctq::arch::best>);
#endif
}

TEST_CASE("code tables index every code once") {
  k::CodeTable<std::int8_t> s;
  k::CodeTable<std::uint8_t> u;
  for (std::size_t i = 0; i < 256; ++i) {
    CHECK(s.index(s.code(i)) == i);
    CHECK(u.index(u.code(i)) == i);
  }
  CHECK(s.code(0) == -128);
  CHECK(s.code(255) == 127);
}

TEST_CASE("the FMA dequantization computed in double is the fused multiply-add") {
  for (int trial = 0; trial < 200; ++trial) {
    const auto qp = trial % 2 ? random_qparams<std::int8_t>(1e-6f, 50.0f) : random_qparams<std::uint8_t>(1e-6f, 50.0f);
    const int lo = trial % 2 ? -128 : 0;
    for (int q = lo; q < lo + 256; ++q) {
      const float premul = qp.scale * static_cast<float>(-qp.zero_point);
      const float want = std::fma(qp.scale, static_cast<float>(q), premul);
      const float got = k::detail::dequantize_fma(qp.scale, qp.zero_point, q);
      if (std::memcmp(&want, &got, sizeof want) != 0) {
        FAIL_CHECK("scale " << qp.scale << ", zero point " << qp.zero_point << ", q " << q << ": fma " << want
                            << ", ctq " << got);
        break;
      }
    }
  }
}

TEST_CASE("Sleef's expf: special values and smoothness") {
  CHECK(k::detail::sleef_expf(0.0f) == 1.0f);
  CHECK(k::detail::sleef_expf(-105.0f) == 0.0f);
  CHECK(std::isinf(k::detail::sleef_expf(101.0f)));
  for (float x = -80.0f; x < 80.0f; x += 0.37f) {
    const double rel = std::fabs(k::detail::sleef_expf(x) / std::exp(static_cast<double>(x)) - 1.0);
    CHECK_MESSAGE(rel < 2e-7, "x = " << x);  // within 1 ULP or so
  }
}

TEST_CASE_TEMPLATE("add, add_relu, mul, mul_relu: vector path == scalar path", T, std::uint8_t, std::int8_t) {
  for (const index_t n : lengths) {
    for (int trial = 0; trial < 4; ++trial) {
      const auto a = random_codes<T>(n), b = random_codes<T>(n);
      const auto qa = random_qparams<T>(), qb = random_qparams<T>();
      auto qy = random_qparams<T>();
      if (trial == 0) qy.scale = 2.0f * qa.scale;                           // tie-prone
      if (qy.zero_point == std::numeric_limits<T>::max()) --qy.zero_point;  // QNNPACK's add_relu needs a range
      for (const auto& torch : configs) {
        check_same<T>(n, "add " + name(torch),
                      [&](auto path, std::span<T> y) { k::add<T>(a, qa, b, qb, y, qy, torch, path); });
        check_same<T>(n, "add_relu " + name(torch),
                      [&](auto path, std::span<T> y) { k::add_relu<T>(a, qa, b, qb, y, qy, torch, path); });
      }
      auto qm = qy;  // XNNPACK's qint8 multiply needs sa * sb / s_out in [2^-16, 2^8)
      if (!(qa.scale * qb.scale / qm.scale >= 0x1p-16f)) qm.scale = qa.scale * qb.scale * 4.0f;
      check_same<T>(n, "mul", [&](auto path, std::span<T> y) { k::mul<T>(a, qa, b, qb, y, qm, path); });
      check_same<T>(n, "mul_relu", [&](auto path, std::span<T> y) { k::mul_relu<T>(a, qa, b, qb, y, qm, path); });
    }
  }
}

TEST_CASE_TEMPLATE("add_relu never goes below the zero point; mul_relu neither", T, std::uint8_t, std::int8_t) {
  const auto a = random_codes<T>(500), b = random_codes<T>(500);
  const PerTensorQParams qa{0.05f, 3}, qb{0.1f, 17}, qy{0.07f, std::is_signed_v<T> ? 5 : 120};
  std::vector<T> y(500);
  auto above = [&] { return std::all_of(y.begin(), y.end(), [&](T v) { return v >= qy.zero_point; }); };
  for (const auto& torch : configs) {
    k::add_relu<T>(a, qa, b, qb, y, qy, torch);
    CHECK(above());
  }
  k::mul_relu<T>(a, qa, b, qb, y, qy);
  CHECK(above());
}

TEST_CASE_TEMPLATE("add_scalar and mul_scalar: vector path == scalar path, parameters as documented", T, std::uint8_t,
                   std::int8_t) {
  for (const index_t n : lengths) {
    const auto x = random_codes<T>(n);
    const auto qp = random_qparams<T>();
    for (const double c : {0.0, 0.3, -0.3, 5.0, -5.0, 40.0, -40.0}) {
      PerTensorQParams a{}, b{};
      check_same<T>(n, "add_scalar", [&](auto path, std::span<T> y) {
        (ctq::arch::is_simd<decltype(path)> ? b : a) = k::add_scalar<T>(x, qp, c, y, path);
      });
      CHECK(a == b);
      check_same<T>(n, "mul_scalar", [&](auto path, std::span<T> y) {
        (ctq::arch::is_simd<decltype(path)> ? b : a) = k::mul_scalar<T>(x, qp, c, y, path);
      });
      CHECK(a == b);
      if (c == 0.0) CHECK(a == PerTensorQParams{1.0f, 0});
      if (c < 0.0)
        CHECK(a.zero_point == std::numeric_limits<T>::max() - (qp.zero_point - std::numeric_limits<T>::min()));
    }
  }
  // In place: a shift the zero point absorbs leaves the codes alone.
  auto x = random_codes<T>(300);
  const PerTensorQParams qp{0.05f, std::is_signed_v<T> ? 0 : 50};
  const auto before = x;
  const auto out = k::add_scalar<T>(std::span<const T>(x), qp, 0.5, std::span<T>(x));
  CHECK(out.scale == qp.scale);
  CHECK(out.zero_point == qp.zero_point - 10);
  CHECK(x == before);
}

TEST_CASE_TEMPLATE("clamps and tables: vector path == scalar path", T, std::uint8_t, std::int8_t) {
  for (const index_t n : lengths) {
    const auto x = random_codes<T>(n);
    const auto in = random_qparams<T>(0.005f, 0.5f), out = random_qparams<T>();
    check_same<T>(n, "relu", [&](auto path, std::span<T> y) { k::relu<T>(x, in, y, path); });
    check_same<T>(n, "relu6", [&](auto path, std::span<T> y) { k::relu6<T>(x, in, y, path); });
    check_same<T>(n, "hardtanh", [&](auto path, std::span<T> y) { k::hardtanh<T>(x, in, -0.4f, 1.3f, y, path); });
    check_same<T>(n, "hardtanh inverted",
                  [&](auto path, std::span<T> y) { k::hardtanh<T>(x, in, 1.0f, -1.0f, y, path); });
    for (const auto& torch : configs) {
      check_same<T>(n, "hardswish", [&](auto path, std::span<T> y) { k::hardswish<T>(x, in, y, out, torch, path); });
      check_same<T>(n, "sigmoid", [&](auto path, std::span<T> y) { k::sigmoid<T>(x, in, y, torch, path); });
      check_same<T>(n, "tanh", [&](auto path, std::span<T> y) { k::tanh<T>(x, in, y, torch, path); });
    }
    check_same<T>(n, "elu", [&](auto path, std::span<T> y) { k::elu<T>(x, in, y, out, 0.7f, 1.1f, 0.9f, path); });
    check_same<T>(n, "leaky_relu", [&](auto path, std::span<T> y) { k::leaky_relu<T>(x, in, y, out, 0.1f, path); });
    k::CodeTable<T> random;
    const auto r = random_codes<T>(256);
    std::copy(r.begin(), r.end(), random.out.begin());
    check_same<T>(n, "lookup", [&](auto path, std::span<T> y) { k::lookup<T>(random, x, y, path); });
  }
}

TEST_CASE_TEMPLATE("clamps and tables: what they compute", T, std::uint8_t, std::int8_t) {
  const auto x = random_codes<T>(1000);
  const PerTensorQParams qp{0.05f, std::is_signed_v<T> ? -20 : 100};
  std::vector<T> y(x.size());
  k::relu<T>(x, qp, y);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == std::max<int>(x[i], qp.zero_point));
  k::relu6<T>(x, qp, y);
  const int six = std::min<int>(qp.zero_point + 120, std::numeric_limits<T>::max());
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == std::min(std::max<int>(x[i], qp.zero_point), six));
  // A table applied in place.
  auto z = x;
  const auto t = k::leaky_relu_table<T>(qp, qp, 0.25f);
  k::lookup<T>(t, std::span<const T>(z), std::span<T>(z));
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(z[i] == t(x[i]));
  // Sigmoid's and tanh's fixed output parameters.
  CHECK(k::sigmoid<T>(x, qp, y).scale == 1.0f / 256.0f);
  CHECK(k::tanh<T>(x, qp, y).zero_point == (std::is_signed_v<T> ? 0 : 128));
}

TEST_CASE_TEMPLATE("cat: vector path == scalar path", T, std::uint8_t, std::int8_t) {
  std::uniform_int_distribution<int> channels(1, 70), dim(1, 4), count(1, 4);
  for (int trial = 0; trial < 60; ++trial) {
    const index_t n = dim(gen()) - 1, h = dim(gen()), w = dim(gen());
    std::vector<std::vector<T>> data;
    std::vector<index_t> counts;
    index_t total = 0;
    const int m = count(gen());
    for (int i = 0; i < m; ++i) {
      counts.push_back(channels(gen()));
      data.push_back(random_codes<T>(n * h * w * counts.back()));
      total += counts.back();
    }
    std::vector<k::CatInput<T>> inputs;
    for (int i = 0; i < m; ++i) {
      const auto u = static_cast<std::size_t>(i);
      inputs.push_back({data[u], counts[u], random_qparams<T>()});
    }
    const auto qy = random_qparams<T>();
    for (const auto& torch : configs) {
      check_same<T>(n * h * w * total, "cat " + name(torch),
                    [&](auto path, std::span<T> y) { k::cat<T>(inputs, n, h, w, y, qy, torch, path); });
    }
  }
}

TEST_CASE_TEMPLATE("pooling: vector path == scalar path", T, std::uint8_t, std::int8_t) {
  std::uniform_int_distribution<int> size(1, 9), chan(1, 70), kern(1, 4), str(1, 3), dil(1, 2), coin(0, 1);
  int pools = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const k::Nhwc in{coin(gen()) + 1, size(gen()), size(gen()), chan(gen())};
    const auto x = random_codes<T>(in.size());
    const auto qp = random_qparams<T>();
    const k::HW kernel{kern(gen()), kern(gen())}, stride{str(gen()), str(gen())};
    const k::HW padding{std::uniform_int_distribution<index_t>(0, kernel.h / 2)(gen()),
                        std::uniform_int_distribution<index_t>(0, kernel.w / 2)(gen())};
    const bool ceil = coin(gen()) == 1;
    const k::MaxPool2dOptions mo{kernel, stride, padding, {dil(gen()), dil(gen())}, ceil};
    bool fits = true;
    k::Nhwc out{};
    try {
      out = k::max_pool2d_output_shape(in, mo);
    } catch (const ctq::error&) {
      fits = false;  // the kernel does not fit the input
    }
    if (fits) {
      for (const auto& torch : configs) {
        check_same<T>(out.size(), "max_pool2d " + name(torch),
                      [&](auto path, std::span<T> y) { k::max_pool2d<T>(x, in, y, mo, torch, path); });
      }
      ++pools;
    }
    const k::AvgPool2dOptions ao{kernel, stride, padding, ceil, coin(gen()) == 1, coin(gen()) ? 0 : size(gen())};
    try {
      out = k::avg_pool2d_output_shape(in, ao);
    } catch (const ctq::error&) {
      continue;
    }
    for (const auto& torch : configs) {
      check_same<T>(out.size(), "avg_pool2d " + name(torch),
                    [&](auto path, std::span<T> y) { k::avg_pool2d<T>(x, in, qp, y, ao, torch, path); });
      const k::HW osize{size(gen()), size(gen())};
      check_same<T>(in.n * osize.h * osize.w * in.c, "adaptive_avg_pool2d " + name(torch),
                    [&](auto path, std::span<T> y) { k::adaptive_avg_pool2d<T>(x, in, qp, y, osize, torch, path); });
      // Divisible sizes take QNNPACK's kernel on the qnnpack engine.
      const k::HW divisor{in.h % 2 == 0 ? in.h / 2 : in.h, in.w % 3 == 0 ? in.w / 3 : in.w};
      check_same<T>(in.n * divisor.h * divisor.w * in.c, "adaptive_avg_pool2d (divisible) " + name(torch),
                    [&](auto path, std::span<T> y) { k::adaptive_avg_pool2d<T>(x, in, qp, y, divisor, torch, path); });
    }
  }
  CHECK(pools > 50);
}

TEST_CASE_TEMPLATE("pooling: what it computes", T, std::uint8_t, std::int8_t) {
  // A 2 x 2 image, one channel, 2 x 2 windows: max and mean of the four codes.
  const std::vector<T> x{10, 20, 30, 44};
  std::vector<T> y(1);
  k::max_pool2d<T>(x, {1, 2, 2, 1}, y, {{2, 2}, {2, 2}});
  CHECK(y[0] == 44);
  k::avg_pool2d<T>(x, {1, 2, 2, 1}, {0.1f, 0}, y, {{2, 2}, {2, 2}});
  CHECK(y[0] == 26);
  k::adaptive_avg_pool2d<T>(x, {1, 2, 2, 1}, {0.1f, 0}, y, {1, 1});
  CHECK(y[0] == 26);
  // 1d forms are 2d pools of height 1.
  std::vector<T> y1(2), y2(2);
  k::avg_pool1d<T>(x, {1, 4, 1}, {0.1f, 3}, y1, {2, 2});
  k::avg_pool2d<T>(x, {1, 1, 4, 1}, {0.1f, 3}, y2, {{1, 2}, {1, 2}});
  CHECK(y1 == y2);
  k::max_pool1d<T>(x, {1, 4, 1}, y1, {3, 2, 1});
  CHECK(y1 == std::vector<T>{20, 44});
  // QNNPACK clamps taps in the padding to the border: with dilation 2 the windows of
  // {9, 1, 2, 3, 4} read x[-1] -> x[0], x[1], x[3] and x[1], x[3], x[5] -> x[4].
  const std::vector<T> row{9, 1, 2, 3, 4};
  std::vector<T> aten(2), qnnpack(2);
  const k::MaxPool1dOptions dilated{3, 2, 1, 2};
  k::max_pool1d<T>(row, {1, 5, 1}, aten, dilated);
  k::max_pool1d<T>(row, {1, 5, 1}, qnnpack, dilated, {k::qengine::qnnpack});
  CHECK(aten == std::vector<T>{3, 3});
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    CHECK(qnnpack == std::vector<T>{9, 4});
  } else {
    CHECK(qnnpack == aten);  // qint8 runs ATen's kernel on every engine
  }
}

TEST_CASE("output shapes follow PyTorch's pooling_output_shape") {
  CHECK(k::max_pool2d_output_shape({1, 7, 7, 3}, {{3, 3}, {2, 2}, {1, 1}}) == k::Nhwc{1, 4, 4, 3});
  CHECK(k::max_pool2d_output_shape({1, 6, 6, 3}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true}) == k::Nhwc{1, 3, 3, 3});
  CHECK(k::max_pool2d_output_shape({1, 7, 7, 3}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true}) == k::Nhwc{1, 4, 4, 3});
  // ceil_mode: the last window must start inside the input or the left padding
  CHECK(k::avg_pool2d_output_shape({1, 5, 5, 1}, {{2, 2}, {2, 2}, {1, 1}, true}) == k::Nhwc{1, 3, 3, 1});
  CHECK(k::max_pool2d_output_shape({1, 9, 9, 1}, {{3, 3}, {1, 1}, {0, 0}, {2, 2}}) == k::Nhwc{1, 5, 5, 1});
}

TEST_CASE("errors name the op and the fix") {
  using u8 = std::uint8_t;
  const std::vector<u8> a(10, 1), b(9, 1);
  std::vector<u8> y(10), y9(9);
  const PerTensorQParams ok{0.1f, 3};
  // lengths
  CHECK_CTQ_ERROR(k::add<u8>(a, ok, b, ok, y, ok), "add: the second input has 9 elements, expected 10");
  CHECK_CTQ_ERROR(k::mul<u8>(a, ok, a, ok, y9, ok), "mul: the output has 9 elements");
  CHECK_CTQ_ERROR(k::relu<u8>(a, ok, y9), "relu: the output has 9 elements");
  CHECK_CTQ_ERROR(k::lookup<u8>(k::CodeTable<u8>{}, a, y9), "lookup: the output has 9 elements");
  CHECK_CTQ_ERROR(k::add_scalar<u8>(a, ok, 1.0, y9), "add_scalar: the output has 9 elements");
  // parameters
  CHECK_CTQ_ERROR(k::add<u8>(a, {0.0f, 3}, a, ok, y, ok), "add: the first input scale 0 must be a positive finite");
  CHECK_CTQ_ERROR(k::add<u8>(a, ok, a, {-1.0f, 3}, y, ok), "second input scale -1");
  CHECK_CTQ_ERROR(k::add_relu<u8>(a, ok, a, ok, y, {std::numeric_limits<float>::quiet_NaN(), 3}), "output scale");
  CHECK_CTQ_ERROR(k::mul<u8>(a, ok, a, ok, y, {std::numeric_limits<float>::infinity(), 3}), "output scale inf");
  CHECK_CTQ_ERROR(k::mul_relu<u8>(a, {1e-40f, 0}, a, ok, y, ok), "at least 2^-126");
  CHECK_CTQ_ERROR(k::relu<u8>(a, {0.1f, 256}, y),
                  "relu: the input zero point 256 is outside the range of quint8 [0, 255]");
  const std::vector<std::int8_t> s4(4);
  std::vector<std::int8_t> s4_out(4);
  CHECK_CTQ_ERROR(k::relu6<std::int8_t>(s4, {0.1f, 128}, s4_out), "outside the range of qint8 [-128, 127]");
  CHECK_CTQ_ERROR(k::sigmoid_table<u8>({0.1f, -1}), "sigmoid: the input zero point -1");
  CHECK_CTQ_ERROR(k::hardswish_table<u8>(ok, {0.0f, 0}), "hardswish: the output scale 0");
  CHECK_CTQ_ERROR(k::elu_table<u8>(ok, ok, std::numeric_limits<float>::infinity()), "elu: alpha inf");
  CHECK_CTQ_ERROR(k::leaky_relu_table<u8>(ok, ok, std::numeric_limits<float>::quiet_NaN()),
                  "leaky_relu: negative_slope");
  CHECK_CTQ_ERROR(k::hardtanh<u8>(a, ok, std::numeric_limits<float>::quiet_NaN(), 1.0f, y), "hardtanh: a bound is NaN");
  // qnnpack's fixed-point add cannot represent these ratios; PyTorch fails there too
  const k::TorchConfig qnnpack{k::qengine::qnnpack};
  CHECK_CTQ_ERROR(k::add<u8>(a, ok, a, ok, y, {1e-5f, 3}, qnnpack),
                  "QNNPACK's add, which cannot handle an input/output scale ratio");
  CHECK_CTQ_ERROR(k::add<std::int8_t>(s4, {300.0f, 0}, s4, {1.0f, 0}, s4_out, {1.0f, 0}, qnnpack), "XNNPACK's add");
  CHECK_NOTHROW(k::add<u8>(a, ok, a, ok, y, {1e-5f, 3}));  // the x86 engine's float kernel has no limit
  // scalars
  CHECK_CTQ_ERROR(k::add_scalar<u8>(a, ok, std::numeric_limits<double>::quiet_NaN(), y), "add_scalar: the scalar nan");
  CHECK_CTQ_ERROR(k::add_scalar<u8>(a, ok, 1e300, y), "below 2^30 times the input scale");
  CHECK_CTQ_ERROR(k::mul_scalar<u8>(a, ok, std::numeric_limits<double>::infinity(), y), "mul_scalar: the scalar inf");
  CHECK_CTQ_ERROR(k::mul_scalar<u8>(a, ok, 1e300, y), "mul_scalar: the output scale");
  // cat
  std::vector<k::CatInput<u8>> inputs{{a, 5, ok}, {a, 5, ok}};
  std::vector<u8> y20(20), y19(19);
  CHECK_NOTHROW(k::cat<u8>(inputs, 1, 1, 2, y20, ok));
  CHECK_CTQ_ERROR(k::cat<u8>(inputs, 1, 1, 2, y19, ok), "cat: the output has 19 elements, but 1 x 1 x 2 x 10 = 20");
  CHECK_CTQ_ERROR(k::cat<u8>(inputs, 1, 2, 2, y20, ok), "cat: input 0 has 10 elements, but 1 x 2 x 2 x 5 = 20");
  CHECK_CTQ_ERROR(k::cat<u8>(std::vector<k::CatInput<u8>>{}, 1, 1, 1, y20, ok), "cat: no inputs");
  CHECK_CTQ_ERROR(k::cat<u8>(std::vector<k::CatInput<u8>>{{a, 0, ok}}, 1, 1, 1, y20, ok), "input 0 has 0 channels");
  CHECK_CTQ_ERROR(k::cat<u8>(std::vector<k::CatInput<u8>>{{a, 10, {0.1f, 300}}}, 1, 1, 1, y, ok),
                  "cat: the input 0 zero point 300");
  CHECK_CTQ_ERROR(k::cat<u8>(inputs, 1, 0, 2, y20, ok), "cat: need n >= 0, h >= 1, w >= 1");
  // pooling
  const std::vector<u8> img(2 * 5 * 5 * 3, 7);
  std::vector<u8> out(2 * 3 * 3 * 3);
  const k::Nhwc shape{2, 5, 5, 3};
  CHECK_NOTHROW(k::max_pool2d<u8>(img, shape, out, {{3, 3}, {2, 2}, {1, 1}}));
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, shape, out, {{0, 3}, {2, 2}}), "max_pool2d: kernel (0, 3) must be at least 1");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, shape, out, {{3, 3}}),
                  "stride (0, 0) must be at least 1 (PyTorch's default stride is the kernel size)");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, shape, out, {{3, 3}, {2, 2}, {1, 1}, {0, 1}}), "dilation (0, 1)");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, shape, out, {{3, 3}, {2, 2}, {2, 1}}),
                  "padding (2, 1) must be at most half the kernel (3, 3)");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, shape, out, {{3, 3}, {2, 2}, {-1, 1}}), "padding (-1, 1) must be at least 0");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, shape, out, {{7, 3}, {2, 2}}), "the output would be 0 x 2");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, shape, y9, {{3, 3}, {2, 2}, {1, 1}}),
                  "max_pool2d: the output has 9 elements, but its shape [2, 3, 3, 3] needs 54");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(std::vector<u8>(7), shape, out, {{3, 3}, {2, 2}, {1, 1}}),
                  "max_pool2d: the input has 7 elements");
  CHECK_CTQ_ERROR(k::max_pool2d<u8>(img, {2, 0, 5, 3}, out, {{3, 3}, {2, 2}}), "needs n >= 0 and h, w, c >= 1");
  CHECK_CTQ_ERROR(k::avg_pool2d<u8>(img, shape, ok, out, {{3, 3}, {2, 2}, {1, 1}, false, true, -2}),
                  "divisor_override -2");
  CHECK_CTQ_ERROR(k::avg_pool2d<u8>(img, shape, {0.1f, -3}, out, {{3, 3}, {2, 2}, {1, 1}}),
                  "avg_pool2d: the input zero point -3");
  CHECK_CTQ_ERROR(k::avg_pool2d<u8>(img, shape, ok, out, {{3, 3}, {2, 2}, {2, 2}}),
                  "avg_pool2d: padding (2, 2) must be at most half");
  CHECK_CTQ_ERROR(k::adaptive_avg_pool2d<u8>(img, shape, ok, out, {0, 3}),
                  "adaptive_avg_pool2d: the output size (0, 3) must be at least 1 x 1");
  CHECK_CTQ_ERROR(k::adaptive_avg_pool2d<u8>(img, shape, ok, out, {2, 2}),
                  "adaptive_avg_pool2d: the output has 54 elements, but its shape [2, 2, 2, 3] needs 24");
  CHECK_CTQ_ERROR(k::max_pool1d<u8>(img, {2, 25, 3}, out, {3, 0}), "max_pool1d: stride (1, 0)");
}
