// ctq's int8 GEMM, single-threaded, on the shapes of docs/benchmarks.md: uint8 activations x int8
// weights (packed once, outside the timed loop), requantized to uint8 with per-channel
// multipliers and a bias, as a quantized Linear / 1x1 conv runs it. Counter GOPS = 2*M*N*K / s.
// Built twice: for this CPU (-march=native: AVX-512 VNNI here) and for AVX2 only.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <ctq/kernels.hpp>
#include <random>
#include <vector>

namespace k = ctq::kernels;
using ctq::index_t;

namespace {

void gemm_u8(benchmark::State& state) {
  const index_t m = state.range(0), n = state.range(1), kk = state.range(2);
  std::mt19937 gen(1);
  std::vector<std::uint8_t> a(static_cast<std::size_t>(m * kk)), c(static_cast<std::size_t>(m * n));
  std::vector<std::int8_t> w(static_cast<std::size_t>(n * kk));
  for (auto& v : a) v = static_cast<std::uint8_t>(gen());
  for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(gen() % 255) - 127);
  std::vector<std::int32_t> bias(static_cast<std::size_t>(n), 1000);
  std::vector<float> mult(static_cast<std::size_t>(n), 1e-4f);
  const std::int32_t zp0[1] = {0};
  const k::PackedWeights<> packed(w.data(), n, kk, kk, zp0);
  std::vector<std::int32_t> scratch(static_cast<std::size_t>(k::gemm_scratch_size(packed, m)));
  const auto out =
      k::make_output_pipeline(k::bias_add{bias.data()}, k::multiply_per_channel{mult.data()}, k::round_to_int{},
                              k::add_zero_point{128}, k::clamp{0, 255}, k::store<std::uint8_t>{c.data(), n});
  for (auto _ : state) {
    k::gemm(a.data(), m, kk, 128, packed, out, scratch);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] =
      benchmark::Counter(2.0 * static_cast<double>(m * n * kk) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(k::arch::best::name());
}

void shapes(benchmark::internal::Benchmark* b) {
  for (auto [m, n, kk] : {std::array<long, 3>{1, 1024, 1024},
                          {16, 1024, 1024},
                          {64, 1024, 1024},
                          {256, 256, 256},
                          {1024, 1024, 1024},
                          {3136, 64, 576},
                          {12544, 32, 27},
                          {49, 1280, 320}}) {
    b->Args({m, n, kk});
  }
}

}  // namespace

BENCHMARK(gemm_u8)->Name("ctq_gemm")->Apply(shapes)->ArgNames({"M", "N", "K"})->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
