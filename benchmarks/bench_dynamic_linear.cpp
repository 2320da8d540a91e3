// Dynamic quantization of Linear: ctq's nn::quantized::dynamic::Linear (int8 weights, the input
// quantized on every call, with the onednn and the qnnpack engine's numerics) and LinearFp16
// against ctq's float nn::Linear (Eigen), one thread, M = 1, 4, 16 rows, out x in = 1024 x 1024 and
// 4096 x 1024 (PyTorch's [out][in] naming). benchmarks/compare_dynamic_linear.sh runs PyTorch
// 1.13's nnqd.Linear and nn.Linear on the same shapes in the same run.
//
// Names: BM_<kind>/<out>/<rows>, kind = float, int8_onednn, int8_qnnpack, fp16.
#include <benchmark/benchmark.h>

#include <ctq/nn/linear.hpp>
#include <ctq/nn/quantized/dynamic/linear.hpp>
#include <random>
#include <vector>

namespace {

using namespace ctq;
constexpr index_t in_features = 1024;

Tensor<float, 2> input(index_t rows) {
  std::mt19937 g(7);
  std::normal_distribution<float> normal;
  Tensor<float, 2> x({rows, in_features});
  for (auto& v : x.values()) v = normal(g);
  return x;
}

template <index_t Out>
nn::Linear<in_features, Out> float_layer() {
  nn::Linear<in_features, Out> m;
  std::mt19937 g(1);
  m.reset_parameters(g);
  return m;
}

// Per-channel symmetric int8 weights, as per_channel_dynamic_qconfig gives (the default
// per-tensor ones run the same kernels).
template <index_t Out>
nn::quantized::QuantizedWeight int8_weight() {
  std::mt19937 g(2);
  std::uniform_int_distribution<int> code(-127, 127);
  nn::quantized::QuantizedWeight w;
  w.values.resize(static_cast<std::size_t>(Out * in_features));
  for (auto& v : w.values) v = static_cast<std::int8_t>(code(g));
  w.scales.assign(static_cast<std::size_t>(Out), 0.0003f);
  w.zero_points.assign(static_cast<std::size_t>(Out), 0);
  w.per_channel = true;
  return w;
}

nn::quantized::EngineConfig engine(bool onednn) {
  nn::quantized::EngineConfig e;
  e.style = onednn ? kernels::requantize_style::onednn : kernels::requantize_style::qnnpack;
  e.torch.engine = onednn ? kernels::qengine::onednn : kernels::qengine::qnnpack;
  return e;
}

template <index_t Out>
void BM_float(benchmark::State& state) {
  auto m = float_layer<Out>();
  const auto x = input(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(m(x));
}

template <index_t Out, bool OneDnn>
void run_int8(benchmark::State& state) {
  const auto f = float_layer<Out>();
  nn::quantized::dynamic::Linear<in_features, Out> m(
      int8_weight<Out>(), std::vector<float>(f.bias.data(), f.bias.data() + Out), engine(OneDnn), true);
  const auto x = input(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(m(x));
}
template <index_t Out>
void BM_int8_onednn(benchmark::State& state) {
  run_int8<Out, true>(state);
}
template <index_t Out>
void BM_int8_qnnpack(benchmark::State& state) {
  run_int8<Out, false>(state);
}

template <index_t Out>
void BM_fp16(benchmark::State& state) {
  const auto f = float_layer<Out>();
  nn::quantized::dynamic::LinearFp16<in_features, Out> m(f.weight,
                                                         std::vector<float>(f.bias.data(), f.bias.data() + Out));
  const auto x = input(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(m(x));
}

#define CTQ_BENCH_SHAPES(fn)                                                                          \
  BENCHMARK_TEMPLATE(fn, 1024)->Arg(1)->Arg(4)->Arg(16)->Unit(benchmark::kMicrosecond)->MinTime(0.5); \
  BENCHMARK_TEMPLATE(fn, 4096)->Arg(1)->Arg(4)->Arg(16)->Unit(benchmark::kMicrosecond)->MinTime(0.5)

CTQ_BENCH_SHAPES(BM_float);
CTQ_BENCH_SHAPES(BM_int8_onednn);
CTQ_BENCH_SHAPES(BM_int8_qnnpack);
CTQ_BENCH_SHAPES(BM_fp16);

}  // namespace

BENCHMARK_MAIN();
