// ctq's int8 convolution (GEMM path with im2col or in place, and the depthwise kernel) against the
// plain definition (kernels::conv_reference) on random geometries: 1, 2 and 3 spatial dimensions,
// stride, padding, dilation, groups, depthwise, per-tensor and per-channel weight zero points.
// Results must be identical bit for bit.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <ctq/kernels.hpp>
#include <random>
#include <string>
#include <vector>

#include "../support/check_error.hpp"

namespace k = ctq::kernels;
using ctq::index_t;

namespace {

template <int R>
struct Case {
  k::ConvGeometry<R> g;
  std::int32_t x_zp;
  std::vector<std::uint8_t> x;
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> w_zp, bias;
  std::vector<float> mult;
};

template <int R>
Case<R> random_case(std::mt19937& gen, bool depthwise) {
  auto pick = [&](index_t lo, index_t hi) {
    return lo + static_cast<index_t>(gen() % static_cast<unsigned>(hi - lo + 1));
  };
  Case<R> c;
  auto& g = c.g;
  g.batch = pick(1, 2);
  for (int i = 0; i < R; ++i) {
    g.kernel[i] = pick(1, R == 3 ? 3 : 5);
    g.dilation[i] = pick(1, 2);
    g.stride[i] = pick(1, 3);
    g.padding[i] = pick(0, g.kernel[i] / 2 + 1);
    const index_t reach = g.dilation[i] * (g.kernel[i] - 1) + 1;
    g.input[i] = std::max<index_t>(1, reach - 2 * g.padding[i]) + pick(0, R == 3 ? 4 : 9);
  }
  if (depthwise) {
    g.groups = g.in_channels = g.out_channels = pick(2, 40);
  } else {
    g.groups = pick(1, 3);
    g.in_channels = g.groups * pick(1, 9);
    g.out_channels = g.groups * pick(1, 40);
  }
  c.x_zp = static_cast<std::int32_t>(gen() % 256);
  c.x.resize(static_cast<std::size_t>(g.input_pixels() * g.in_channels));
  for (auto& v : c.x) v = static_cast<std::uint8_t>(gen());
  c.w.resize(static_cast<std::size_t>(g.out_channels * g.taps() * (g.in_channels / g.groups)));
  for (auto& v : c.w) v = static_cast<std::int8_t>(gen());
  std::uniform_int_distribution<std::int32_t> zp(-128, 127);
  switch (gen() % 3) {
    case 0: c.w_zp = {0}; break;
    case 1: c.w_zp = {zp(gen)}; break;
    default:
      for (index_t o = 0; o < g.out_channels; ++o) c.w_zp.push_back(zp(gen));
  }
  std::uniform_real_distribution<float> m(1e-4f, 5e-3f);
  for (index_t o = 0; o < g.out_channels; ++o) {
    c.bias.push_back(static_cast<std::int32_t>(gen() % 20001) - 10000);
    c.mult.push_back(m(gen));
  }
  return c;
}

// Weights packed for `packed_batch` images (0: the case's batch) serve any batch.
template <class Arch, class T, int R, class Make>
void check_same(const Case<R>& c, Make make, index_t packed_batch = 0) {
  const index_t n = c.g.output_pixels() * c.g.out_channels;
  std::vector<T> got(static_cast<std::size_t>(n), T{77}), want(got);
  k::ConvGeometry<R> pg = c.g;
  if (packed_batch > 0) pg.batch = packed_batch;
  const k::PackedConvWeights<Arch> packed(pg, c.w.data(), c.w_zp);
  std::vector<std::byte> scratch(k::conv_scratch_size(packed));
  k::conv(c.g, c.x.data(), c.x_zp, packed, make(got.data()), scratch);
  k::conv_reference(c.g, c.x.data(), c.x_zp, c.w.data(), c.w_zp, make(want.data()));
  const bool same = std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0;
  if (!same) {
    std::size_t i = 0;
    while (got[i] == want[i]) ++i;
    FAIL_CHECK(std::string(Arch::name()) << " rank " << R << " groups " << c.g.groups << " cin " << c.g.in_channels
                                         << " cout " << c.g.out_channels << " taps " << c.g.taps() << ": element " << i
                                         << " is " << +got[i] << ", want " << +want[i]);
  }
  CHECK(same);
}

template <class Arch, int R>
void random_geometries(std::uint32_t seed, int count) {
  std::mt19937 gen(seed);
  for (int i = 0; i < count; ++i) {
    const Case<R> c = random_case<R>(gen, i % 3 == 0);
    const index_t ld = c.g.out_channels;
    check_same<Arch, std::int32_t>(c, [&](std::int32_t* d) {
      return k::make_output_pipeline(k::store<std::int32_t>{d, ld});
    });
    check_same<Arch, std::uint8_t>(c, [&](std::uint8_t* d) {
      return k::make_output_pipeline(k::bias_add{c.bias.data()}, k::multiply_per_channel{c.mult.data()},
                                     k::round_to_int{}, k::add_zero_point{100}, k::clamp{100, 255},
                                     k::store<std::uint8_t>{d, ld});
    });
  }
}

template <class Arch>
void suite() {
  SUBCASE("1d") { random_geometries<Arch, 1>(11, 60); }
  SUBCASE("2d") { random_geometries<Arch, 2>(12, 80); }
  SUBCASE("3d") { random_geometries<Arch, 3>(13, 30); }
  SUBCASE("1x1, stride 1: the GEMM reads the input in place") {
    std::mt19937 gen(14);
    for (int i = 0; i < 10; ++i) {
      Case<2> c = random_case<2>(gen, false);
      c.g.kernel = {1, 1}, c.g.stride = {1, 1}, c.g.padding = {0, 0};
      c.w.resize(static_cast<std::size_t>(c.g.out_channels * (c.g.in_channels / c.g.groups)));
      check_same<Arch, std::int32_t>(c, [&](std::int32_t* d) {
        return k::make_output_pipeline(k::store<std::int32_t>{d, c.g.out_channels});
      });
    }
  }
  SUBCASE("64 or 128 input channels, one group, wide rows (AMX reads tiles from the input directly)") {
    std::mt19937 gen(16);
    for (int i = 0; i < 6; ++i) {
      Case<2> c = random_case<2>(gen, false);
      c.g.groups = 1;
      c.g.in_channels = i % 2 ? 128 : 64;
      c.g.out_channels = 8 + 13 * i;
      c.g.batch = 1 + i % 2;
      c.g.kernel = {1 + 2 * (i % 3), 1 + 2 * ((i + 1) % 3)};
      c.g.stride = {1 + i % 2, 1 + (i / 2) % 2};
      c.g.dilation = {1 + (i / 3), 1};
      c.g.padding = {c.g.kernel[0] / 2, c.g.kernel[1] / 2};
      c.g.input = {9, 16 * c.g.stride[1] + 5 + i};
      c.x.resize(static_cast<std::size_t>(c.g.input_pixels() * c.g.in_channels));
      for (auto& v : c.x) v = static_cast<std::uint8_t>(gen());
      c.w.resize(static_cast<std::size_t>(c.g.out_channels * c.g.taps() * c.g.in_channels));
      for (auto& v : c.w) v = static_cast<std::int8_t>(gen());
      c.w_zp = {0};
      c.bias.assign(static_cast<std::size_t>(c.g.out_channels), -7);
      c.mult.assign(static_cast<std::size_t>(c.g.out_channels), 2e-4f);
      REQUIRE(c.g.output()[1] >= 16);
      const index_t ld = c.g.out_channels;
      check_same<Arch, std::int32_t>(c, [&](std::int32_t* d) {
        return k::make_output_pipeline(k::store<std::int32_t>{d, ld});
      });
      check_same<Arch, std::uint8_t>(c, [&](std::uint8_t* d) {
        return k::make_output_pipeline(k::bias_add{c.bias.data()}, k::multiply_per_channel{c.mult.data()},
                                       k::round_to_int{}, k::add_zero_point{100}, k::clamp{0, 255},
                                       k::store<std::uint8_t>{d, ld});
      });
    }
  }
  SUBCASE("weights packed for one image, called with three (the scratch size does not grow with the batch)") {
    std::mt19937 gen(17);
    for (int i = 0; i < 12; ++i) {
      Case<2> c = random_case<2>(gen, i % 3 == 0);
      if (i % 4 == 1) {  // a layer the AMX kernel reads in place
        c.g.groups = 1, c.g.in_channels = 64, c.g.out_channels = 20, c.g.input = {5, 18}, c.g.kernel = {3, 3};
        c.g.stride = {1, 1}, c.g.padding = {1, 1}, c.g.dilation = {1, 1};
        c.w.resize(static_cast<std::size_t>(20 * 9 * 64));
        for (auto& v : c.w) v = static_cast<std::int8_t>(gen());
        c.w_zp = {0};
        c.bias.assign(20, 3);
        c.mult.assign(20, 1e-3f);
      }
      if (i % 4 == 2) {  // 1x1, stride 1: in place
        c.g.kernel = {1, 1}, c.g.stride = {1, 1}, c.g.padding = {0, 0};
        c.w.resize(static_cast<std::size_t>(c.g.out_channels * (c.g.in_channels / c.g.groups)));
      }
      c.g.batch = 3;
      c.x.resize(static_cast<std::size_t>(c.g.input_pixels() * c.g.in_channels));
      for (auto& v : c.x) v = static_cast<std::uint8_t>(gen());
      check_same<Arch, std::int32_t>(
          c,
          [&](std::int32_t* d) {
            return k::make_output_pipeline(k::store<std::int32_t>{d, c.g.out_channels});
          },
          1);
    }
  }
  SUBCASE("MobileNet's depthwise shapes: 3x3 and 5x5, stride 1 and 2, many channels") {
    std::mt19937 gen(15);
    for (index_t kk : {3, 5})
      for (index_t s : {1, 2}) {
        Case<2> c = random_case<2>(gen, true);
        c.g.batch = 1, c.g.input = {13, 11}, c.g.kernel = {kk, kk}, c.g.stride = {s, s}, c.g.padding = {kk / 2, kk / 2};
        c.g.dilation = {1, 1};
        c.g.groups = c.g.in_channels = c.g.out_channels = 144;
        c.x.resize(static_cast<std::size_t>(13 * 11 * 144));
        for (auto& v : c.x) v = static_cast<std::uint8_t>(gen());
        c.w.resize(static_cast<std::size_t>(144 * kk * kk));
        for (auto& v : c.w) v = static_cast<std::int8_t>(gen());
        c.w_zp = {0};
        c.bias.assign(144, 5);
        c.mult.assign(144, 1e-3f);
        check_same<Arch, std::int32_t>(c, [&](std::int32_t* d) {
          return k::make_output_pipeline(k::store<std::int32_t>{d, 144});
        });
      }
  }
}

}  // namespace

TEST_CASE("conv: scalar kernels against the definition") { suite<k::arch::scalar>(); }
TEST_CASE("conv: the best kernels of this build against the definition") { suite<k::arch::best>(); }

TEST_CASE("conv: bad input is a clear error") {
  k::ConvGeometry<2> g{.batch = 1, .input = {4, 4}, .in_channels = 6, .out_channels = 4, .groups = 4, .kernel = {3, 3}};
  const std::int8_t w[200] = {};
  const std::int32_t zp0[1] = {0};
  CHECK_CTQ_ERROR(k::PackedConvWeights<>(g, w, zp0), "divisible by groups");
  g.groups = 1, g.kernel = {5, 5};
  CHECK_CTQ_ERROR(k::PackedConvWeights<>(g, w, zp0), "output would be empty");
  g.kernel = {3, 3};
  const std::int32_t three[3] = {0, 0, 0};
  CHECK_CTQ_ERROR(k::PackedConvWeights<>(g, w, three), "3 zero points for 4 output channels");
  const k::PackedConvWeights<> packed(g, w, zp0);
  std::vector<std::byte> scratch(k::conv_scratch_size(packed));
  const std::uint8_t x[96] = {};
  std::int32_t y[16];
  const auto out = k::make_output_pipeline(k::store<std::int32_t>{y, 4});
  CHECK_CTQ_ERROR(k::conv(g, x, 300, packed, out, scratch), "outside the uint8 range");
  CHECK_CTQ_ERROR(k::conv(g, x, 0, packed, out, std::span<std::byte>(scratch).first(3)), "conv_scratch_size");
  k::ConvGeometry<2> other = g;
  other.stride = {2, 2};
  CHECK_CTQ_ERROR(k::conv(other, x, 0, packed, out, scratch), "differs from the one the weights were packed for");
}
