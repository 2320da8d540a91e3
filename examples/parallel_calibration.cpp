// Calibration split across threads: each thread observes its share of the data with its own
// observers, then merge() folds the statistics together. Shows the observers, a qconfig from
// PyTorch's defaults, a fake-quantize step for QAT, and the amax toolkit's histogram methods.
//   build/examples/parallel_calibration
#include <cstdio>
#include <ctq/ctq.hpp>
#include <random>
#include <thread>
#include <vector>

using namespace ctq;

int main() {
  // 16 batches of activations: mostly N(0, 1), with a rare outlier.
  std::vector<Tensor<float, 2>> batches;
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int b = 0; b < 16; ++b) {
    Tensor<float, 2> x({64, 128});
    for (auto& v : x.values()) v = normal(gen);
    if (b == 5) x[17] = 25.0f;
    batches.push_back(std::move(x));
  }

  // The activation observer PyTorch's x86 default qconfig uses, as a type.
  using QC = get_default_qconfig<backend::x86>;
  static_assert(QConfigFor<backend::x86, QC>);
  using ActObserver = QC::activation;  // HistogramObserver<{.reduce_range = true}>
  using Minmax = MinMaxObserver<{.quant_min = 0, .quant_max = 127}>;

  // One thread per half of the data, each with its own observers.
  ActObserver hist[2];
  Minmax minmax[2];
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t b = static_cast<std::size_t>(t); b < batches.size(); b += 2) {
        hist[t](batches[b]);
        minmax[t](batches[b]);
      }
    });
  }
  for (auto& w : workers) w.join();
  hist[0].merge(hist[1]);
  minmax[0].merge(minmax[1]);

  // The same data through one observer of each kind, for comparison.
  ActObserver hist_one;
  Minmax minmax_one;
  for (const auto& b : batches) {
    hist_one(b);
    minmax_one(b);
  }
  const auto hm = hist[0].calculate_qparams(), h1 = hist_one.calculate_qparams();
  const auto mm = minmax[0].calculate_qparams(), m1 = minmax_one.calculate_qparams();
  std::printf("%-34s %12s %6s   %12s %6s\n", "", "merged", "zp", "one observer", "zp");
  std::printf("%-34s %12.6g %6d   %12.6g %6d\n", "MinMaxObserver [0, 127]", mm.scale, mm.zero_point, m1.scale,
              m1.zero_point);
  std::printf("%-34s %12.6g %6d   %12.6g %6d\n", "HistogramObserver (x86 default)", hm.scale, hm.zero_point, h1.scale,
              h1.zero_point);
  std::printf(
      "MinMax merges exactly. PyTorch's histogram algorithm depends on the order of the batches and bins\n"
      "each one over its integer-truncated range, dropping data outside it; the merge keeps every count,\n"
      "so the two histograms (and their parameters) differ when the ranges differ, as here.\n\n");

  // QAT: PyTorch's default x86 QAT weight fake-quantizer on a weight, one forward and backward.
  using WeightFQ = get_default_qat_qconfig<backend::x86>::weight;  // per channel, fused moving average
  WeightFQ wfq;
  Tensor<float, 2> w({8, 16});
  for (auto& v : w.values()) v = normal(gen) * 0.1f;
  const auto wq = wfq(w);
  Tensor<float, 2> grad({8, 16});
  for (auto& v : grad.values()) v = 1.0f;
  const auto gw = wfq.backward(grad);
  double err = 0;
  for (index_t i = 0; i < w.size(); ++i) err = std::max(err, static_cast<double>(std::fabs(wq[i] - w[i])));
  std::printf("fake-quantized weight: max |w_q - w| = %.3g (half a step of the widest channel), gradient sum %.0f\n\n",
              err, static_cast<double>(gw.array().sum()));

  // The amax toolkit: one histogram calibrator per thread, merged, then each method.
  TensorQuantizer<QuantDescriptor{.calib_method = calib_method::histogram}> q[2];
  std::vector<std::thread> calibrators;
  for (int t = 0; t < 2; ++t) {
    calibrators.emplace_back([&, t] {
      q[t].disable_quant();
      q[t].enable_calib();
      for (std::size_t b = static_cast<std::size_t>(t); b < batches.size(); b += 2) q[t](batches[b]);
    });
  }
  for (auto& c : calibrators) c.join();
  q[0].calibrator().merge(q[1].calibrator());
  std::printf("amax by method (max |x| = 25): ");
  for (const char* method : {"entropy", "mse"}) {
    q[0].load_calib_amax(method);
    std::printf("%s %.3f  ", method, static_cast<double>(q[0].amax().values[0]));
  }
  for (double p : {99.9, 99.99}) {
    q[0].load_calib_amax("percentile", p);
    std::printf("percentile %.2f: %.3f  ", p, static_cast<double>(q[0].amax().values[0]));
  }
  std::printf("\n");
  return 0;
}
