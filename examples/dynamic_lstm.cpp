// Dynamic quantization of a small LSTM model, as PyTorch's quantize_dynamic does it: the LSTM's and
// the Linear's weights become int8 (packed once), activations are quantized per call inside each
// layer. Prints the output difference, model size and latency, float vs int8.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctq/ctq.hpp>
#include <random>
#include <vector>

using namespace ctq;

// [T, N, 64] -> 2-layer LSTM (hidden 256) -> the last layer's outputs -> Linear to 10 per step.
using Model = nn::Sequential<nn::named<"lstm", nn::LSTM<64, 256, /*layers*/ 2>>, nn::named<"out", nn::TakeOutput>,
                             nn::named<"fc", nn::Linear<256, 10>>>;

template <class F>
double median_us(int runs, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(t.begin(), t.begin() + runs / 2, t.end());
  return t[static_cast<std::size_t>(runs / 2)];
}

int main() {
  Model model;
  nn::reset_parameters(model, 7);         // PyTorch's default initialisation (or nn::load_state_dict)
  auto qmodel = quantize_dynamic(model);  // qint8 weights
  auto hmodel = quantize_dynamic<default_dynamic_kinds, dtype::float16>(model);  // float16 weights

  std::mt19937 g(1);
  std::normal_distribution<float> normal;
  Tensor<float, 3> x({32, 1, 64});  // 32 steps, batch 1
  for (auto& v : x.values()) v = normal(g);

  Tensor<float, 3> y = model(x), yq = qmodel(x), yh = hmodel(x);
  float worst_q = 0.0f, worst_h = 0.0f, largest = 0.0f;
  for (index_t i = 0; i < y.size(); ++i) {
    worst_q = std::max(worst_q, std::abs(y[i] - yq[i]));
    worst_h = std::max(worst_h, std::abs(y[i] - yh[i]));
    largest = std::max(largest, std::abs(y[i]));
  }
  std::printf("last step, first 5 outputs:\n  float:");
  for (index_t k = 0; k < 5; ++k) std::printf(" %8.5f", y(31, 0, k));
  std::printf("\n  int8: ");
  for (index_t k = 0; k < 5; ++k) std::printf(" %8.5f", yq(31, 0, k));
  std::printf("\nmax |float - int8| = %.5f, max |float - float16| = %.6f (largest |output| %.3f)\n", worst_q, worst_h,
              largest);

  const auto float_bytes = nn::parameter_bytes(model), int8_bytes = nn::parameter_bytes(qmodel);
  std::printf("model size: float %zu bytes, int8 %zu bytes (%.2fx smaller)\n", float_bytes, int8_bytes,
              static_cast<double>(float_bytes) / static_cast<double>(int8_bytes));
  const double t_float = median_us(21, [&] { y = model(x); });
  const double t_int8 = median_us(21, [&] { yq = qmodel(x); });
  std::printf(
      "latency, 32 steps, batch 1, one thread (median of 21): float %.0f us, int8 %.0f us (int8 %.2fx faster)\n",
      t_float, t_int8, t_float / t_int8);
  return worst_q < 0.1f ? 0 : 1;
}
