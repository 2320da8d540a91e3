// The AVX2 path of the dynamic recurrent modules' float arithmetic (nn/quantized/dynamic/
// torch_math.hpp) against its scalar definition, bit for bit: Sleef's tanhf and expf (and the
// sigmoid built on expf) on every 1021st float bit pattern (4.2 million values covering every
// exponent, both signs, subnormals, infinities and NaNs) plus the values where the scalar code
// branches (the tanh saturation threshold, expf's limits) and their neighbours. Built with
// -mavx2 -mfma; on a CPU without them the test says so and checks nothing else.
// CTQ_RNN_MATH_EXHAUSTIVE=1 in the environment checks all 2^32 bit patterns instead.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctq/nn/quantized/dynamic/torch_math.hpp>
#include <limits>
#include <vector>

#include "../support/reference.hpp"

#if !defined(CTQ_RNN_MATH_AVX2)
#error "this test is built with -mavx2 -mfma"
#endif

namespace d = ctq::nn::quantized::dynamic::detail;

namespace {

float from_bits(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
std::uint32_t bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// The branch points and their neighbours, padded to a multiple of 16.
std::vector<float> edges() {
  std::vector<float> v;
  for (float edge : {8.664339742f, -8.664339742f, 104.0f, -104.0f, 100.0f, -100.0f, 0.0f, -0.0f, 1e-30f, 88.7f}) {
    float x = edge;
    for (int i = 0; i < 40; ++i) x = std::nextafter(x, -std::numeric_limits<float>::infinity());
    for (int i = 0; i < 80; ++i, x = std::nextafter(x, std::numeric_limits<float>::infinity())) v.push_back(x);
  }
  while (v.size() % 16 != 0) v.push_back(0.5f);
  return v;
}

bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || bits(a) == bits(b); }

}  // namespace

TEST_CASE("AVX2 tanh, expf and sigmoid give the scalar definition's bits") {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    MESSAGE("this CPU has no AVX2/FMA: the AVX2 path cannot run here");
    return;
  }
  long tanh_bad = 0, exp_bad = 0, sigmoid_bad = 0, tail_bad = 0;
  std::uint64_t compared = 0;
  auto check = [&](const std::vector<float>& x) {
    for (std::size_t i = 0; i < x.size(); i += 8) {
      alignas(32) float t[8], e[8];
      _mm256_store_ps(t, d::avx2::tanhf(_mm256_loadu_ps(&x[i])));
      _mm256_store_ps(e, d::avx2::expf(_mm256_loadu_ps(&x[i])));
      for (std::size_t k = 0; k < 8; ++k) {
        if (!same(t[k], d::sleef_tanhf(x[i + k])) && tanh_bad++ < 5) {
          MESSAGE("tanh(" << x[i + k] << "): avx2 " << t[k] << ", scalar " << d::sleef_tanhf(x[i + k]));
        }
        if (!same(e[k], ctq::kernels::detail::sleef_expf(x[i + k])) && exp_bad++ < 5) {
          MESSAGE("exp(" << x[i + k] << "): avx2 " << e[k] << ", scalar "
                         << ctq::kernels::detail::sleef_expf(x[i + k]));
        }
      }
    }
    // The drivers: a gate row of 16 * k values takes the vector body throughout, where the
    // definition is 1 / (1 + sleef_expf(0 - x)); tanh runs 8 lanes at a time, the tail in scalar.
    std::vector<float> s = x, th(x.begin(), x.end() - 5);
    d::torch_sigmoid(s.data(), static_cast<ctq::index_t>(s.size()));
    d::torch_tanh(th.data(), static_cast<ctq::index_t>(th.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same(s[i], 1.0f / (1.0f + ctq::kernels::detail::sleef_expf(0.0f - x[i]))) && sigmoid_bad++ < 5) {
        MESSAGE("sigmoid(" << x[i] << ") differs");
      }
      if (i < th.size() && !same(th[i], d::sleef_tanhf(x[i]))) ++tail_bad;
    }
    compared += x.size();
  };
  check(edges());
  const std::uint64_t stride = std::getenv("CTQ_RNN_MATH_EXHAUSTIVE") != nullptr ? 1 : 1021;
  std::vector<float> chunk;
  for (std::uint64_t b = 0; b < (std::uint64_t{1} << 32); b += stride) {
    chunk.push_back(from_bits(static_cast<std::uint32_t>(b)));
    if (chunk.size() == (1u << 16)) {
      check(chunk);
      chunk.clear();
    }
  }
  if (!chunk.empty()) {
    while (chunk.size() % 16 != 0) chunk.push_back(0.5f);
    check(chunk);
  }
  CHECK(tail_bad == 0);
  CHECK(tanh_bad == 0);
  CHECK(exp_bad == 0);
  CHECK(sigmoid_bad == 0);
  MESSAGE(compared << " inputs compared");
}
