// Core elementwise operations, scalar reference vs the vector path of this CPU, on 1M floats.
// The ratio of the two is what to read (both measured in the same run).
#include <benchmark/benchmark.h>

#include <ctq/ctq.hpp>
#include <random>

namespace {

const ctq::Tensor<float, 1>& input() {
  static const ctq::Tensor<float, 1> x = [] {
    ctq::Tensor<float, 1> t({1 << 20});
    std::mt19937 gen(1);
    std::normal_distribution<float> n(0.0f, 2.0f);
    for (auto& v : t.values()) v = n(gen);
    return t;
  }();
  return x;
}

template <class Path>
void quantize_quint8(benchmark::State& state) {
  const auto& x = input();
  for (auto _ : state) benchmark::DoNotOptimize(ctq::quantize_per_tensor<ctq::dtype::quint8>(x, 0.05f, 128, Path{}));
  state.SetItemsProcessed(state.iterations() * x.size());
}

template <class Path>
void dequantize_qint8(benchmark::State& state) {
  const auto q = ctq::quantize_per_tensor<ctq::dtype::qint8>(input(), 0.05f, 0);
  for (auto _ : state) benchmark::DoNotOptimize(ctq::dequantize(q, Path{}));
  state.SetItemsProcessed(state.iterations() * q.size());
}

template <class Path>
void fake_quantize_with_mask(benchmark::State& state) {
  const auto& x = input();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ctq::fake_quantize_per_tensor_affine_cachemask(x, 0.05f, 128, 0, 255, Path{}));
  }
  state.SetItemsProcessed(state.iterations() * x.size());
}

}  // namespace

BENCHMARK(quantize_quint8<ctq::arch::scalar>)->Name("quantize_quint8/scalar");
BENCHMARK(quantize_quint8<ctq::arch::best>)->Name("quantize_quint8/vector");
BENCHMARK(dequantize_qint8<ctq::arch::scalar>)->Name("dequantize_qint8/scalar");
BENCHMARK(dequantize_qint8<ctq::arch::best>)->Name("dequantize_qint8/vector");
BENCHMARK(fake_quantize_with_mask<ctq::arch::scalar>)->Name("fake_quantize_cachemask/scalar");
BENCHMARK(fake_quantize_with_mask<ctq::arch::best>)->Name("fake_quantize_cachemask/vector");
BENCHMARK_MAIN();
