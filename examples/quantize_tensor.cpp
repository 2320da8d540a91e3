// ctq's core in one page: quantize a weight tensor per tensor and per channel, quantize an
// activation dynamically, fake-quantize for training, and see what each choice costs in accuracy.
//   scripts/run-example.sh    (or: build/examples/quantize_tensor)
#include <cmath>
#include <cstdio>
#include <ctq/ctq.hpp>
#include <random>

using namespace ctq;

// Signal-to-quantization-noise ratio in dB: 10 log10(|x|^2 / |x - y|^2).
static double sqnr_db(const Tensor<float, 2>& x, const Tensor<float, 2>& y) {
  double s = 0, n = 0;
  for (index_t i = 0; i < x.size(); ++i) {
    s += double(x[i]) * x[i];
    n += double(x[i] - y[i]) * (x[i] - y[i]);
  }
  return 10.0 * std::log10(s / n);
}

int main() {
  // A 64 x 256 "weight" whose rows have very different magnitudes, as trained layers often do.
  std::mt19937 gen(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor<float, 2> w({64, 256});
  for (index_t r = 0; r < 64; ++r)
    for (index_t c = 0; c < 256; ++c) w(r, c) = normal(gen) * std::exp2(static_cast<float>(r % 8) - 4.0f);

  // Per tensor, symmetric int8: one scale from the largest magnitude.
  const float amax = w.array().abs().maxCoeff();
  const auto qt = quantize<dtype::qint8, qscheme::per_tensor_symmetric>(w, PerTensorQParams{amax / 127.0f, 0});

  // Per channel (one scale per output row), symmetric int8.
  PerChannelQParams<> pc{{}, {}, /*axis=*/0};
  for (index_t r = 0; r < 64; ++r) {
    pc.scales.push_back(w.matrix().row(r).cwiseAbs().maxCoeff() / 127.0f);
    pc.zero_points.push_back(0);
  }
  const auto qc = quantize<dtype::qint8, qscheme::per_channel_symmetric>(w, pc);

  // Dynamic quantization of an activation: scale and zero point from its own range, as PyTorch's
  // quantize_per_tensor_dynamic (reduce_range as the x86/onednn backends use it).
  Tensor<float, 2> act({4, 256});
  for (auto& v : act.values()) v = std::max(0.0f, normal(gen) * 3.0f);  // post-ReLU
  const auto qa = quantize_per_tensor_dynamic<dtype::quint8>(act, /*reduce_range=*/true);

  // Fake quantization: the float simulation QAT trains with, and its gradient mask.
  const auto fq = fake_quantize_per_tensor_affine_cachemask(act, qa.scale(), qa.zero_point(), 0, 127);
  index_t clipped = 0;
  for (auto m : fq.mask.values()) clipped += m == 0;

  std::printf("ctq %d.%d.%d, vector path: %s\n\n", CTQ_VERSION_MAJOR, CTQ_VERSION_MINOR, CTQ_VERSION_PATCH,
              arch::best::name());
  std::printf("%-34s %10s %10s\n", "tensor", "bytes", "SQNR (dB)");
  std::printf("%-34s %10zu %10s\n", "weight, float32", static_cast<std::size_t>(w.size()) * 4, "-");
  std::printf("%-34s %10zu %10.2f\n", "weight, qint8 per tensor", qt.int_repr().size(), sqnr_db(w, dequantize(qt)));
  std::printf("%-34s %10zu %10.2f\n", "weight, qint8 per channel", qc.int_repr().size(), sqnr_db(w, dequantize(qc)));
  std::printf("%-34s %10zu %10.2f\n", "activation, quint8 dynamic", qa.int_repr().size(), sqnr_db(act, dequantize(qa)));
  std::printf("\nactivation qparams (reduce_range): scale %.6g, zero point %d\n", qa.scale(), qa.zero_point());
  std::printf("fake-quant with [0, 127]: %td of %td values clipped (gradient 0 there)\n", clipped, fq.mask.size());

  // Bad input is an error that names the operation, never a silent wrong scale.
  try {
    act[0] = NAN;
    (void)quantize_per_tensor_dynamic<dtype::quint8>(act, true);
  } catch (const ctq::error& e) {
    std::printf("\nexpected error: %s\n", e.what());
  }
  return 0;
}
