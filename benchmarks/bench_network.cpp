// A whole network, end to end: MobileNetV2 (tests/quantization/mobilenet_v2.hpp) on one
// 224 x 224 image, ctq's float model (Eigen) against its int8 model (convert for this CPU's
// default backend), one thread. benchmarks/compare_network.sh runs PyTorch 1.13 on the same
// network in the same run.
#include <benchmark/benchmark.h>

#include <random>

#include "../tests/quantization/mobilenet_v2.hpp"

namespace {

using namespace ctq;

Tensor<float, 4> image(std::uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> normal;
  Tensor<float, 4> x({1, 224, 224, 3});
  for (auto& v : x.values()) v = normal(g);
  return x;
}

struct Models {
  ctq_models::MobileNetV2 float_model;
  decltype(convert(prepare<get_default_qconfig<default_backend>>(ctq_models::fuse_mobilenet({})))) int8_model;

  Models() {
    nn::reset_parameters(float_model, 1);
    auto prepared = prepare<get_default_qconfig<default_backend>>(ctq_models::fuse_mobilenet(float_model));
    for (std::uint32_t s = 0; s < 2; ++s) prepared(image(10 + s));
    int8_model = convert(prepared);
  }
};

Models& models() {
  static Models m;
  return m;
}

void BM_mobilenet_v2_float(benchmark::State& state) {
  auto& m = models();
  const auto x = image(1);
  for (auto _ : state) benchmark::DoNotOptimize(m.float_model(x));
}
BENCHMARK(BM_mobilenet_v2_float)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_mobilenet_v2_int8(benchmark::State& state) {
  auto& m = models();
  const auto x = image(1);
  for (auto _ : state) benchmark::DoNotOptimize(m.int8_model(x));
}
BENCHMARK(BM_mobilenet_v2_int8)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
