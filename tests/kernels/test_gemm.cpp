// The int8 GEMM of every kernel architecture this build targets against the plain definition
// (kernels::gemm_reference): thousands of random shapes including M, N, K = 1, sizes that are not
// multiples of the vector width or the tile, strided operands, non-zero weight zero points, every
// output stage, and the accumulator's extremes. Results must be identical bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ctq/kernels.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../support/check_error.hpp"

namespace k = ctq::kernels;
using ctq::index_t;

namespace {

struct Problem {
  index_t m, n, kk, lda, ldc;
  std::int32_t a_zp;
  std::vector<std::uint8_t> a;
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> w_zp;  // 1 or n
  std::vector<std::int32_t> bias;
  std::vector<float> multiplier, fbias;
};

Problem random_problem(std::mt19937& gen, index_t m, index_t n, index_t kk, int zp_kind) {
  Problem p;
  p.m = m, p.n = n, p.kk = kk;
  p.lda = kk + static_cast<index_t>(gen() % 3);
  p.ldc = n + static_cast<index_t>(gen() % 3);
  p.a_zp = static_cast<std::int32_t>(gen() % 256);
  p.a.resize(static_cast<std::size_t>(m * p.lda));
  p.w.resize(static_cast<std::size_t>(n * kk));
  for (auto& v : p.a) v = static_cast<std::uint8_t>(gen());
  for (auto& v : p.w) v = static_cast<std::int8_t>(gen());
  std::uniform_int_distribution<std::int32_t> zp(-128, 127);
  if (zp_kind == 0) p.w_zp = {0};
  if (zp_kind == 1) p.w_zp = {zp(gen)};
  if (zp_kind == 2) {
    for (index_t c = 0; c < n; ++c) p.w_zp.push_back(zp(gen));
  }
  std::uniform_int_distribution<std::int32_t> b(-100000, 100000);
  std::uniform_real_distribution<float> mult(1e-5f, 2e-3f), fb(-3.0f, 3.0f);
  for (index_t c = 0; c < n; ++c) {
    p.bias.push_back(b(gen));
    p.multiplier.push_back(mult(gen));
    p.fbias.push_back(fb(gen));
  }
  return p;
}

// Runs the pipeline made by make(dst) through gemm<Arch> and through gemm_reference; the outputs
// (every element, including the padding between rows, which neither may touch) must be equal.
template <class Arch, class T, class Make>
void check_same(const Problem& p, Make make) {
  const T sentinel = static_cast<T>(77);
  std::vector<T> got(static_cast<std::size_t>(p.m * p.ldc), sentinel), want(got);
  const k::PackedWeights<Arch> packed(p.w.data(), p.n, p.kk, p.kk, p.w_zp);
  std::vector<std::int32_t> scratch(static_cast<std::size_t>(k::gemm_scratch_size(packed, p.m)));
  k::gemm(p.a.data(), p.m, p.lda, p.a_zp, packed, make(got.data()), scratch);
  k::gemm_reference(p.a.data(), p.m, p.lda, p.a_zp, p.w.data(), p.n, p.kk, p.kk, p.w_zp, make(want.data()));
  const bool same = std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0;
  if (!same) {
    std::size_t i = 0;
    while (std::memcmp(&got[i], &want[i], sizeof(T)) == 0) ++i;
    FAIL_CHECK(Arch::name() << ": M=" << p.m << " N=" << p.n << " K=" << p.kk << " w_zp kind " << p.w_zp.size()
                            << " differs at " << i << ": " << +got[i] << " vs " << +want[i]);
  }
  CHECK(same);
}

template <class Arch>
void check_all_pipelines(const Problem& p) {
  // Raw int32 accumulators.
  check_same<Arch, std::int32_t>(p, [&](std::int32_t* d) {
    return k::make_output_pipeline(k::store<std::int32_t>{d, p.ldc});
  });
  // Static quantized Linear, per-tensor multiplier, uint8 output.
  check_same<Arch, std::uint8_t>(p, [&](std::uint8_t* d) {
    return k::make_output_pipeline(k::bias_add{p.bias.data()}, k::multiply_per_tensor{p.multiplier[0]},
                                   k::round_to_int{}, k::add_zero_point{3}, k::clamp{0, 255},
                                   k::store<std::uint8_t>{d, p.ldc});
  });
  // Per-channel multipliers, fused ReLU6-style clamp, int8 output.
  check_same<Arch, std::int8_t>(p, [&](std::int8_t* d) {
    return k::make_output_pipeline(k::bias_add{p.bias.data()}, k::multiply_per_channel{p.multiplier.data()},
                                   k::round_to_int{}, k::add_zero_point{-5}, k::clamp{-5, 90},
                                   k::store<std::int8_t>{d, p.ldc});
  });
  // oneDNN's order (PyTorch's x86 engine): float bias, multiplier, zero point added in float, then
  // rounded and clamped in one stage (a fused ReLU: the range starts at the zero point).
  check_same<Arch, std::uint8_t>(p, [&](std::uint8_t* d) {
    return k::make_output_pipeline(k::convert_to_float{}, k::bias_add_float{p.fbias.data()},
                                   k::multiply_per_channel{p.multiplier.data()}, k::add_zero_point{3},
                                   k::round_clamp{3, 255}, k::store<std::uint8_t>{d, p.ldc});
  });
  // Values far outside the 8-bit range reach the store, which saturates them.
  check_same<Arch, std::uint8_t>(p, [&](std::uint8_t* d) {
    return k::make_output_pipeline(k::bias_add{p.bias.data()}, k::multiply_per_tensor{p.multiplier[0] * 50.0f},
                                   k::round_to_int{}, k::clamp{-100000, 100000}, k::store<std::uint8_t>{d, p.ldc});
  });
  check_same<Arch, std::int8_t>(p, [&](std::int8_t* d) {
    return k::make_output_pipeline(k::bias_add{p.bias.data()}, k::multiply_per_tensor{p.multiplier[0] * 50.0f},
                                   k::round_to_int{}, k::clamp{-100000, 100000}, k::store<std::int8_t>{d, p.ldc});
  });
  // Dynamic quantization: float output, float bias.
  check_same<Arch, float>(p, [&](float* d) {
    return k::make_output_pipeline(k::multiply_per_channel{p.multiplier.data()}, k::bias_add_float{p.fbias.data()},
                                   k::store<float>{d, p.ldc});
  });
}

template <class Arch>
void random_shapes(std::uint32_t seed, int count) {
  std::mt19937 gen(seed);
  const index_t small[] = {1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 15, 16, 17, 24, 31, 32, 33, 47, 48, 64, 65};
  const index_t ks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 100, 255, 256, 513};
  for (int i = 0; i < count; ++i) {
    const index_t m = small[gen() % std::size(small)];
    const index_t n = small[gen() % std::size(small)];
    const index_t kk = ks[gen() % std::size(ks)];
    check_all_pipelines<Arch>(random_problem(gen, m, n, kk, static_cast<int>(gen() % 3)));
  }
}

// All activations 255 against all weights -128 (the largest product magnitude), with the zero
// point 0 so nothing cancels: the sum reaches -255 * 128 * K.
template <class Arch>
void extreme(index_t kk) {
  std::mt19937 gen(7);
  Problem p = random_problem(gen, 3, 35, kk, 0);
  std::fill(p.a.begin(), p.a.end(), std::uint8_t{255});
  std::fill(p.w.begin(), p.w.end(), std::int8_t{-128});
  p.a_zp = 0;
  check_all_pipelines<Arch>(p);
  std::fill(p.w.begin(), p.w.end(), std::int8_t{127});
  check_all_pipelines<Arch>(p);
}

// Activations at most 127 (reduced range): kernels with a 7-bit path take it. Random shapes, the
// extremes of that path (127 against -128 and 127: pairs of products at +-32512, next to int16's
// limits), and one byte of 128 among them, which must send the call back to the general path.
// Kernels that add two groups in int16 around a centre of 63 (the AVX2 kernel) reach int16's
// limits with every activation 127 against -128 (4 * 64 * -128 = -32768), 127 against 127
// (4 * 64 * 127 = 32512) and 0 against -128 (4 * -63 * -128 = 32256); a centre of 64 would
// overflow with 0 against -128. Random mixes of 0 and 127 against -128 and 127 follow.
template <class Arch>
void seven_bit(std::uint32_t seed, int count) {
  std::mt19937 gen(seed);
  const index_t small[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33};
  const index_t ks[] = {1, 3, 4, 5, 8, 17, 64, 255, 513};
  for (int i = 0; i < count; ++i) {
    Problem p = random_problem(gen, small[gen() % std::size(small)], small[gen() % std::size(small)],
                               ks[gen() % std::size(ks)], static_cast<int>(gen() % 3));
    for (auto& v : p.a) v &= 127;
    check_all_pipelines<Arch>(p);
  }
  Problem p = random_problem(gen, 5, 19, 1003, 0);
  p.a_zp = 0;
  std::fill(p.a.begin(), p.a.end(), std::uint8_t{127});
  for (const std::int8_t w : {std::int8_t{-128}, std::int8_t{127}}) {
    std::fill(p.w.begin(), p.w.end(), w);
    check_all_pipelines<Arch>(p);
    p.a[p.a.size() / 2] = 128;  // the general path
    check_all_pipelines<Arch>(p);
    p.a[p.a.size() / 2] = 127;
  }
  std::fill(p.a.begin(), p.a.end(), std::uint8_t{0});
  for (const std::int8_t w : {std::int8_t{-128}, std::int8_t{127}}) {
    std::fill(p.w.begin(), p.w.end(), w);
    check_all_pipelines<Arch>(p);
  }
  for (int i = 0; i < 20; ++i) {
    for (auto& v : p.a) v = gen() % 2 ? 127 : 0;
    for (auto& v : p.w) v = gen() % 2 ? std::int8_t{127} : std::int8_t{-128};
    check_all_pipelines<Arch>(p);
  }
}

template <class Arch>
void run_suite() {
  SUBCASE("random shapes") { random_shapes<Arch>(20261202, 1500); }
  SUBCASE("activations below 128") { seven_bit<Arch>(1234, 300); }
  SUBCASE("the largest K that cannot overflow, and beyond (both wrap alike)") {
    extreme<Arch>(65793);
    extreme<Arch>(70001);
  }
  SUBCASE("large M and N") {
    std::mt19937 gen(3);
    check_all_pipelines<Arch>(random_problem(gen, 100, 130, 200, 2));
  }
}

}  // namespace

// round_clamp{lo, hi} must give the bits of round_to_int then clamp{lo, hi}, lane by lane and on
// the vector of the build, for values at and around the bounds, at ties (x.5, which round to
// even), and far outside the int32 range.
TEST_CASE("output pipeline: round_clamp is round_to_int followed by clamp") {
#if CTQ_HAS_XSIMD
  using B = xsimd::batch<float>;
  constexpr auto lanes = static_cast<index_t>(B::size);
  std::vector<float> values = {0.0f,   -0.0f,   0.5f,          1.5f,           2.5f,        -0.5f,
                               -1.5f,  126.5f,  127.5f,        128.5f,         254.5f,      255.5f,
                               256.0f, -128.5f, -127.5f,       -129.0f,        3e9f,        -3e9f,
                               1e30f,  -1e30f,  2147483520.0f, -2147483648.0f, 16777216.0f, -16777216.0f};
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> wide(-400.0f, 400.0f);
  for (int i = 0; i < 2000; ++i) values.push_back(wide(gen));
  while (values.size() % static_cast<std::size_t>(lanes) != 0) values.push_back(1.25f);
  const std::pair<std::int32_t, std::int32_t> ranges[] = {{0, 255}, {3, 255}, {-128, 127},
                                                          {0, 127}, {-5, 90}, {-(1 << 24), 1 << 24}};
  for (const auto& [lo, hi] : ranges) {
    const k::round_clamp fused{lo, hi};
    const k::round_to_int round;
    const k::clamp clamp{lo, hi};
    for (std::size_t i = 0; i < values.size(); i += static_cast<std::size_t>(lanes)) {
      const B v = B::load_unaligned(&values[i]);
      alignas(64) std::int32_t got[64], want[64];
      fused(v, 0).store_aligned(got);
      clamp(round(v, 0), 0).store_aligned(want);
      for (index_t j = 0; j < lanes; ++j) {
        const float x = values[i + static_cast<std::size_t>(j)];
        INFO("value " << x << " range [" << lo << ", " << hi << "]");
        CHECK(got[j] == want[j]);
        CHECK(fused(x, 0) == clamp(round(x, 0), 0));
        CHECK(fused(x, 0) == got[j]);
      }
    }
  }
#else
  MESSAGE("built without xsimd: the scalar stages only");
  for (float x : {0.5f, 1.5f, 255.5f, -3e9f, 3e9f})
    CHECK(k::round_clamp{0, 255}(x, 0) == k::clamp{0, 255}(k::round_to_int{}(x, 0), 0));
#endif
}

TEST_CASE("gemm: scalar kernel against the definition") { run_suite<k::arch::scalar>(); }

TEST_CASE("gemm: the best kernel of this build against the definition") {
  MESSAGE("kernel architecture: " << std::string(k::arch::best::name()));
  run_suite<k::arch::best>();
}

#if defined(CTQ_KERNEL_NEON_DOT)
TEST_CASE("gemm: the NEON kernel without dot product, in a dot-product build") { run_suite<k::arch::neon>(); }
#endif
#if defined(CTQ_KERNEL_AVX512VNNI)
TEST_CASE("gemm: the AVX2 kernel, in an AVX-512 build") { run_suite<k::arch::avx2>(); }
#endif
#if defined(CTQ_KERNEL_AMX)
TEST_CASE("gemm: the AVX-512 VNNI kernel, in an AMX build") { run_suite<k::arch::avx512vnni>(); }
TEST_CASE("gemm: AMX was used") {
  // Without the tile state the AMX weights run on the VNNI kernel, which the suite above checks too;
  // say which one ran.
  MESSAGE("AMX tile state granted: " << k::detail::amx_permitted());
  CHECK(k::detail::amx_permitted());
}
#endif

TEST_CASE("gemm: bad input is a clear error") {
  const std::int8_t w[6] = {1, 2, 3, 4, 5, 6};
  const std::int32_t zp0[1] = {0}, bad_zp[1] = {200}, two[2] = {0, 0};
  CHECK_CTQ_ERROR(k::PackedWeights<>(w, 0, 3, 3, zp0), "need N >= 1");
  CHECK_CTQ_ERROR(k::PackedWeights<>(w, 2, 3, 2, zp0), "ldw >= K");
  CHECK_CTQ_ERROR(k::PackedWeights<>(w, 3, 2, 2, two), "2 zero points for 3 columns");
  CHECK_CTQ_ERROR(k::PackedWeights<>(w, 2, 3, 3, bad_zp), "outside the int8 range");
  const k::PackedWeights<> packed(w, 2, 3, 3, zp0);
  const std::uint8_t a[6] = {};
  std::int32_t c[4];
  std::vector<std::int32_t> scratch(static_cast<std::size_t>(k::gemm_scratch_size(packed, 2)));
  const auto out = k::make_output_pipeline(k::store<std::int32_t>{c, 2});
  CHECK_CTQ_ERROR(k::gemm(a, 2, 3, 256, packed, out, scratch), "outside the uint8 range");
  CHECK_CTQ_ERROR(k::gemm(a, 2, 2, 0, packed, out, scratch), "lda >= K");
  CHECK_CTQ_ERROR(k::gemm(a, 2, 3, 0, packed, out, std::span<std::int32_t>(scratch).first(1)), "gemm_scratch_size");
  CHECK_CTQ_ERROR(k::gemm(a, 2, 3, 0, k::PackedWeights<>{}, out, scratch), "empty");
}
