// Post-training static quantization of a small conv net, as in PyTorch's eager workflow: a static
// float network (its structure is a type), fuse, prepare with the x86 default qconfig, calibrate,
// convert, run. Prints float vs int8 outputs, model size and latency.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctq/ctq.hpp>
#include <random>
#include <tuple>
#include <vector>

using namespace ctq;

// A user's own block, a class template whose template arguments are its submodules: fuse_modules,
// prepare and convert rebind them as they do Sequential's.
template <class ConvA, class BnA, class ReluA, class ConvB, class BnB>
struct Block {
  using child_names = nn::names<"conv_a", "bn_a", "relu_a", "conv_b", "bn_b">;
  auto children() { return std::tie(conv_a, bn_a, relu_a, conv_b, bn_b); }

  template <class X>
  auto operator()(const X& x) {
    return bn_b(conv_b(relu_a(bn_a(conv_a(x)))));
  }

  ConvA conv_a;
  BnA bn_a;
  ReluA relu_a;
  ConvB conv_b;
  BnB bn_b;
};
using Block16 =
    Block<nn::Conv2d<16, 16, 3, 1, 1>, nn::BatchNorm2d<16>, nn::ReLU, nn::Conv2d<16, 16, 3, 1, 1>, nn::BatchNorm2d<16>>;

// A static float network. Hyper-parameters are template arguments; names are compile-time strings.
// clang-format off
using Net = nn::Sequential<
    nn::named<"quant",   QuantStub>,
    nn::named<"conv1",   nn::Conv2d<1, 16, 3, /*stride*/1, /*padding*/1>>,
    nn::named<"bn1",     nn::BatchNorm2d<16>>,
    nn::named<"relu1",   nn::ReLU>,
    nn::named<"block",   nn::Residual<Block16>>,       // x + block(x), through FloatFunctional add
    nn::named<"pool",    nn::AdaptiveAvgPool2d<1, 1>>,
    nn::named<"flatten", nn::Flatten>,
    nn::named<"fc",      nn::Linear<16, 10>>,
    nn::named<"dequant", DeQuantStub>>;
// clang-format on

// Random inputs [N, 28, 28, 1] (channels last), N(0, 1).
std::vector<Tensor<float, 4>> batches(int count, index_t n, std::uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> normal;
  std::vector<Tensor<float, 4>> out;
  for (int b = 0; b < count; ++b) {
    Tensor<float, 4> x({n, 28, 28, 1});
    for (auto& v : x.values()) v = normal(g);
    out.push_back(std::move(x));
  }
  return out;
}

// Median time of `runs` calls of f, in microseconds.
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
  Net net;                          // trained here, or weights loaded (nn::load_state_dict)
  nn::reset_parameters(net, 2026);  // PyTorch's default initialisation, from a seed
  // BatchNorm statistics as training would leave them, so that folding them matters
  std::mt19937 g(7);
  std::uniform_real_distribution<float> var(0.5f, 1.5f);
  std::normal_distribution<float> mean(0.0f, 0.1f);
  nn::visit_state(net, [&](const std::string& key, auto& t) {
    for (auto& v : t.values()) {
      if (key.ends_with("running_var")) v = var(g);
      if (key.ends_with("running_mean")) v = mean(g);
    }
  });

  auto fused = fuse_modules<fuse<"conv1", "bn1", "relu1">,  // type rewrite: ConvReLU2d + Identity
                            fuse<"block.body.conv_a", "block.body.bn_a", "block.body.relu_a">,
                            fuse<"block.body.conv_b", "block.body.bn_b">>(net);
  using QC = get_default_qconfig<backend::x86>;  // a type; per-channel weights, histogram activations
  auto prepared = prepare<QC>(fused);            // observers inserted (a new type)
  const auto calibration_batches = batches(16, 8, 1);
  for (auto& x : calibration_batches) prepared(x);  // calibrate
  auto qnet = convert(prepared);                    // nn::quantized modules, int8 compute

  const auto test = batches(1, 32, 2).front();
  Tensor<float, 2> y_float = net(test);
  Tensor<float, 2> y = qnet(test);  // [32, 10]

  std::printf("float vs int8 outputs (first two samples):\n");
  for (index_t s = 0; s < 2; ++s) {
    std::printf("  float:");
    for (index_t k = 0; k < 10; ++k) std::printf(" %7.4f", y_float(s, k));
    std::printf("\n  int8: ");
    for (index_t k = 0; k < 10; ++k) std::printf(" %7.4f", y(s, k));
    std::printf("\n");
  }
  float worst = 0.0f;
  int same_argmax = 0;
  for (index_t s = 0; s < y.dim(0); ++s) {
    index_t a = 0, b = 0;
    for (index_t k = 0; k < 10; ++k) {
      worst = std::max(worst, std::abs(y(s, k) - y_float(s, k)));
      if (y_float(s, k) > y_float(s, a)) a = k;
      if (y(s, k) > y(s, b)) b = k;
    }
    same_argmax += a == b;
  }
  std::printf("max |float - int8| = %.5f; same top-1 class on %d of %ld samples\n", worst, same_argmax,
              static_cast<long>(y.dim(0)));

  const auto float_bytes = nn::parameter_bytes(net), int8_bytes = nn::parameter_bytes(qnet);
  std::printf("model size: float %zu bytes, int8 %zu bytes (%.2fx smaller)\n", float_bytes, int8_bytes,
              static_cast<double>(float_bytes) / static_cast<double>(int8_bytes));

  const double t_float = median_us(51, [&] { y_float = net(test); });
  const double t_int8 = median_us(51, [&] { y = qnet(test); });
  std::printf("latency, batch 32, one thread (median of 51): float %.0f us, int8 %.0f us (int8 %.2fx faster)\n",
              t_float, t_int8, t_float / t_int8);
  return worst < 0.1f ? 0 : 1;
}
