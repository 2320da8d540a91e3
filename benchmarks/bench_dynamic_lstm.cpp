// Dynamic quantization of a 2-layer LSTM (input 512, hidden 512, 32 steps, batch 1, one thread):
// ctq's float nn::LSTM against quantize_dynamic's int8 model (onednn and qnnpack numerics) and
// its float16-weight model. benchmarks/compare_dynamic_lstm.sh runs PyTorch 1.13's float nn.LSTM
// and quantize_dynamic'd nnqd.LSTM on both engines in the same run.
//
// Names: BM_lstm_<kind>, kind = float, int8_onednn, int8_qnnpack, fp16.
#include <benchmark/benchmark.h>

#include <ctq/nn/rnn.hpp>
#include <ctq/quantization.hpp>
#include <random>

namespace {

using namespace ctq;
constexpr index_t input_size = 512, hidden_size = 512, steps = 32;
using Model = nn::LSTM<input_size, hidden_size, /*layers*/ 2>;

Model float_model() {
  Model m;
  nn::reset_parameters(m, 3);  // PyTorch's U(-1/sqrt(hidden), 1/sqrt(hidden))
  return m;
}

Tensor<float, 3> input() {
  std::mt19937 g(7);
  std::normal_distribution<float> normal;
  Tensor<float, 3> x({steps, 1, input_size});
  for (auto& v : x.values()) v = normal(g);
  return x;
}

template <class M>
void run(benchmark::State& state, M& m) {
  const auto x = input();
  for (auto _ : state) benchmark::DoNotOptimize(m(x));
}

void BM_lstm_float(benchmark::State& state) {
  auto m = float_model();
  run(state, m);
}
void BM_lstm_int8_onednn(benchmark::State& state) {
  auto m = quantize_dynamic<default_dynamic_kinds, dtype::qint8, backend::onednn>(float_model());
  run(state, m);
}
void BM_lstm_int8_qnnpack(benchmark::State& state) {
  auto m = quantize_dynamic<default_dynamic_kinds, dtype::qint8, backend::qnnpack>(float_model());
  run(state, m);
}
void BM_lstm_fp16(benchmark::State& state) {
  auto m = quantize_dynamic<default_dynamic_kinds, dtype::float16>(float_model());
  run(state, m);
}

BENCHMARK(BM_lstm_float)->Unit(benchmark::kMicrosecond)->MinTime(0.5);
BENCHMARK(BM_lstm_int8_onednn)->Unit(benchmark::kMicrosecond)->MinTime(0.5);
BENCHMARK(BM_lstm_int8_qnnpack)->Unit(benchmark::kMicrosecond)->MinTime(0.5);
BENCHMARK(BM_lstm_fp16)->Unit(benchmark::kMicrosecond)->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
