// ctq's int8 convolution, single-threaded, NHWC, batch 1, requantized to uint8 with per-channel
// multipliers and a bias: the 3x3 conv 56x56x64 -> 64 (GEMM path with im2col) and MobileNet's
// depthwise 3x3 on 56x56x144, stride 1 and 2. Counter GOPS = 2 * MACs / s.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <ctq/kernels.hpp>
#include <random>
#include <vector>

namespace k = ctq::kernels;
using ctq::index_t;

namespace {

void run(benchmark::State& state, const k::ConvGeometry<2>& g) {
  std::mt19937 gen(1);
  std::vector<std::uint8_t> x(static_cast<std::size_t>(g.input_pixels() * g.in_channels));
  std::vector<std::uint8_t> y(static_cast<std::size_t>(g.output_pixels() * g.out_channels));
  std::vector<std::int8_t> w(static_cast<std::size_t>(g.out_channels * g.taps() * (g.in_channels / g.groups)));
  for (auto& v : x) v = static_cast<std::uint8_t>(gen());
  for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(gen() % 255) - 127);
  std::vector<std::int32_t> bias(static_cast<std::size_t>(g.out_channels), 100);
  std::vector<float> mult(static_cast<std::size_t>(g.out_channels), 1e-3f);
  const std::int32_t zp0[1] = {0};
  const k::PackedConvWeights<> packed(g, w.data(), zp0);
  std::vector<std::byte> scratch(k::conv_scratch_size(packed));
  const auto out = k::make_output_pipeline(k::bias_add{bias.data()}, k::multiply_per_channel{mult.data()},
                                           k::round_to_int{}, k::add_zero_point{128}, k::clamp{0, 255},
                                           k::store<std::uint8_t>{y.data(), g.out_channels});
  for (auto _ : state) {
    k::conv(g, x.data(), 128, packed, out, scratch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(g.output_pixels() * g.out_channels * g.taps() * (g.in_channels / g.groups));
  state.counters["GOPS"] = benchmark::Counter(2.0 * macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(k::arch::best::name());
}

void conv3x3(benchmark::State& s) {
  run(s, {.batch = 1, .input = {56, 56}, .in_channels = 64, .out_channels = 64, .kernel = {3, 3}, .padding = {1, 1}});
}
void dw3x3s1(benchmark::State& s) {
  run(s, {.batch = 1,
          .input = {56, 56},
          .in_channels = 144,
          .out_channels = 144,
          .groups = 144,
          .kernel = {3, 3},
          .padding = {1, 1}});
}
void dw3x3s2(benchmark::State& s) {
  run(s, {.batch = 1,
          .input = {56, 56},
          .in_channels = 144,
          .out_channels = 144,
          .groups = 144,
          .kernel = {3, 3},
          .stride = {2, 2},
          .padding = {1, 1}});
}

}  // namespace

BENCHMARK(conv3x3)->Name("ctq_conv/conv3x3/56x56x64x64")->Unit(benchmark::kMicrosecond);
BENCHMARK(dw3x3s1)->Name("ctq_conv/dw3x3s1/56x56x144")->Unit(benchmark::kMicrosecond);
BENCHMARK(dw3x3s2)->Name("ctq_conv/dw3x3s2/56x56x144")->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
