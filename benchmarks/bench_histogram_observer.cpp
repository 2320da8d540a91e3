// HistogramObserver: one observation of 1M floats plus calculate_qparams, and each part alone.
// compare_histogram_observer.sh runs PyTorch's HistogramObserver on the same data in the same run.
// The data: CTQ_BENCH_DATA names a file of little-endian float32 values; otherwise N(0, 1).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ctq/ctq.hpp>
#include <random>
#include <vector>

namespace {

const ctq::Tensor<float, 1>& data() {
  static const ctq::Tensor<float, 1> x = [] {
    std::vector<float> v;
    if (const char* path = std::getenv("CTQ_BENCH_DATA")) {
      if (std::FILE* f = std::fopen(path, "rb")) {
        float buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, sizeof(float), 4096, f)) > 0) v.insert(v.end(), buf, buf + n);
        std::fclose(f);
      }
    }
    if (v.empty()) {
      std::mt19937 gen(1);
      std::normal_distribution<float> n(0.0f, 1.0f);
      v.resize(1 << 20);
      for (auto& e : v) e = n(gen);
    }
    return ctq::Tensor<float, 1>({static_cast<ctq::index_t>(v.size())}, std::span<const float>(v));
  }();
  return x;
}

void observe_and_calculate_qparams(benchmark::State& state) {
  const auto& x = data();
  for (auto _ : state) {
    ctq::HistogramObserver<> o;
    o(x);
    benchmark::DoNotOptimize(o.calculate_qparams());
  }
  state.SetItemsProcessed(state.iterations() * x.size());
}

void observe_only(benchmark::State& state) {
  const auto& x = data();
  for (auto _ : state) {
    ctq::HistogramObserver<> o;
    o(x);
    benchmark::DoNotOptimize(o.histogram().data());
  }
}

void calculate_qparams_only(benchmark::State& state) {
  ctq::HistogramObserver<> o;
  o(data());
  for (auto _ : state) benchmark::DoNotOptimize(o.calculate_qparams());
}

// Three observations whose range grows: the re-binning path.
void three_growing_observations(benchmark::State& state) {
  const auto& x = data();
  ctq::Tensor<float, 1> wider = x, widest = x;
  for (auto& v : wider.values()) v *= 3.0f;
  for (auto& v : widest.values()) v = v * 7.0f + 1.0f;
  for (auto _ : state) {
    ctq::HistogramObserver<> o;
    o(x);
    o(wider);
    o(widest);
    benchmark::DoNotOptimize(o.calculate_qparams());
  }
}

}  // namespace

BENCHMARK(observe_and_calculate_qparams)->Unit(benchmark::kMillisecond);
BENCHMARK(observe_only)->Unit(benchmark::kMillisecond);
BENCHMARK(calculate_qparams_only)->Unit(benchmark::kMillisecond);
BENCHMARK(three_growing_observations)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
