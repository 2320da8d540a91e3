// Calibrators of the amax toolkit (NVIDIA pytorch_quantization's calib/max.py and
// calib/histogram.py): MaxCalibrator (global or per-axis amax) and HistogramCalibrator with the
// entropy (KL divergence), percentile and MSE methods, and merge for parallel calibration.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "../core/detail/fp.hpp"
#include "../observers/histogram_observer.hpp"
#include "tensor_quant.hpp"

namespace ctq {

/// An amax of any rank: values row-major over `shape` (1 on reduced axes).
struct AmaxData {
  std::vector<index_t> shape;
  std::vector<float> values;
  bool empty() const { return values.empty(); }
  template <int R>
  Amax<R> as() const {
    Amax<R> a;
    if (shape.empty()) {  // a scalar amax broadcasts over any rank
      a.shape.fill(1);
    } else {
      if (static_cast<int>(shape.size()) != R) raise("ctq: amax: rank differs from the tensor's");
      std::copy(shape.begin(), shape.end(), a.shape.begin());
    }
    a.values = values;
    return a;
  }
  friend bool operator==(const AmaxData&, const AmaxData&) = default;
};

/// Running maximum of |x| (per kept axis): NVIDIA's MaxCalibrator. merge is exact (max of maxima).
class MaxCalibrator {
 public:
  explicit MaxCalibrator(AxisSet axis = {}, int num_bits = 8, bool is_unsigned = false, bool track_amax = false)
      : axis_(axis), num_bits_(num_bits), is_unsigned_(is_unsigned), track_amax_(track_amax) {}

  template <int R>
  void collect(const Tensor<float, R>& x) {
    for (auto v : x.values()) {
      if (!std::isfinite(v)) raise("ctq: MaxCalibrator: the data contains NaN or Inf");
    }
    const auto local = reduce_amax(x, axis_);
    AmaxData a;
    if (!axis_.empty()) a.shape.assign(local.shape.begin(), local.shape.end());
    a.values = local.values;
    if (track_amax_) amaxs_.push_back(a);
    fold(a);
  }

  /// The calibrated amax; empty before any data (NVIDIA returns None).
  const AmaxData& compute_amax() const { return amax_; }
  const std::vector<AmaxData>& amaxs() const { return amaxs_; }
  void reset() {
    amax_ = {};
    amaxs_.clear();
  }
  void merge(const MaxCalibrator& other) {
    if (!other.amax_.empty()) fold(other.amax_);
  }
  int num_bits() const { return num_bits_; }
  bool is_unsigned() const { return is_unsigned_; }

 private:
  void fold(const AmaxData& a) {
    if (amax_.empty()) {
      amax_ = a;
      return;
    }
    if (a.shape != amax_.shape || a.values.size() != amax_.values.size()) {
      raise("ctq: MaxCalibrator: amax shape changed between batches");
    }
    for (std::size_t i = 0; i < a.values.size(); ++i) amax_.values[i] = std::max(amax_.values[i], a.values[i]);
  }

  AxisSet axis_;
  int num_bits_;
  bool is_unsigned_, track_amax_;
  AmaxData amax_;
  std::vector<AmaxData> amaxs_;
};

namespace detail {

// torch.linspace(0, end, n) in float32 as PyTorch 1.13's portable CPU kernel computes it: the
// first half counts up from 0, the second down from `end`; groups of 8 within the first
// floor(n / 16) * 16 elements add k * step to the group's first element.
inline std::vector<float> torch_linspace(float end, std::int64_t n) {
  std::vector<float> out(static_cast<std::size_t>(n));
  const float step = end / static_cast<float>(n - 1);
  const std::int64_t halfway = n / 2;
  auto element = [&](std::int64_t i) {
    return i < halfway ? step * static_cast<float>(i) : end - no_contract(step * static_cast<float>(n - i - 1));
  };
  const std::int64_t vec_end = n / 16 * 16;
  for (std::int64_t g = 0; g < vec_end; g += 8) {
    const float base = element(g);
    for (std::int64_t k = 0; k < 8; ++k)
      out[static_cast<std::size_t>(g + k)] = base + no_contract(static_cast<float>(k) * step);
  }
  for (std::int64_t i = vec_end; i < n; ++i) out[static_cast<std::size_t>(i)] = element(i);
  return out;
}

// torch.arange(0, end, step) in float32 (PyTorch 1.13's CPU kernel): length ceil(end / step) in
// double; element i = float(step * i) in double; within vectors of 8, float(double(base) + k * step).
inline std::vector<float> torch_arange(double end, double step) {
  const auto n = static_cast<std::int64_t>(std::ceil(end / step));
  std::vector<float> out(static_cast<std::size_t>(n));
  const std::int64_t vec_end = n / 16 * 16;
  for (std::int64_t g = 0; g < vec_end; g += 8) {
    const auto base = static_cast<float>(step * static_cast<double>(g));
    for (std::int64_t k = 0; k < 8; ++k) {
      out[static_cast<std::size_t>(g + k)] =
          static_cast<float>(static_cast<double>(base) + static_cast<double>(k) * step);
    }
  }
  for (std::int64_t i = vec_end; i < n; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<float>(step * static_cast<double>(i));
  return out;
}

// numpy's pairwise summation of float64 (np.sum): blocks of 128 with eight accumulators.
inline double numpy_pairwise_sum(const double* a, std::int64_t n) {
  if (n < 8) {
    double s = 0.0;  // numpy starts from -0.0 and adds; +0 and -0 only differ for all-zero input
    for (std::int64_t i = 0; i < n; ++i) s += a[i];
    return s;
  }
  if (n <= 128) {
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = a[k];
    std::int64_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int k = 0; k < 8; ++k) r[k] += a[i + k];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

}  // namespace detail

/// Histogram of |x| from 0, NVIDIA's HistogramCalibrator (torch_hist path): the first batch sets
/// the bin width (num_bins over [0, max]); later batches that exceed the range append bins of the
/// same width. compute_amax picks amax by entropy, percentile or MSE (docs/numerics.md (14)).
class HistogramCalibrator {
 public:
  explicit HistogramCalibrator(int num_bits = 8, bool is_unsigned = false, int num_bins = 2048, bool skip_zeros = false)
      : num_bits_(num_bits), is_unsigned_(is_unsigned), num_bins_(num_bins), skip_zeros_(skip_zeros) {
    if (num_bins < 1) raise("ctq: HistogramCalibrator: num_bins must be positive");
  }

  template <int R>
  void collect(const Tensor<float, R>& x) {
    std::vector<float> v;
    v.reserve(static_cast<std::size_t>(x.size()));
    for (float e : x.values()) {
      if (!std::isfinite(e)) raise("ctq: HistogramCalibrator: the data contains NaN or Inf");
      if (skip_zeros_ && e == 0.0f) continue;
      v.push_back(std::fabs(e));
    }
    add(v);
  }

  /// Folds in another calibrator's statistics: its histogram is added bin by bin when both have
  /// the same bin width (the same first batch range); otherwise its counts are re-binned by bin
  /// centre into this calibrator's bins, growing them as collect does.
  void merge(const HistogramCalibrator& other) {
    if (other.hist_.empty()) return;
    if (hist_.empty()) {
      hist_ = other.hist_;
      edges_ = other.edges_;
      return;
    }
    const float width = edges_[1] - edges_[0];
    if (other.edges_[1] - other.edges_[0] == width) {
      grow_to(other.edges_.back());
      for (std::size_t i = 0; i < other.hist_.size(); ++i) hist_[i] += other.hist_[i];
      return;
    }
    grow_to(other.edges_.back());
    for (std::size_t i = 0; i < other.hist_.size(); ++i) {
      const float centre = 0.5f * (other.edges_[i] + other.edges_[i + 1]);
      auto b = static_cast<std::size_t>(centre / width);
      hist_[std::min(b, hist_.size() - 1)] += other.hist_[i];
    }
  }

  const std::vector<float>& histogram() const { return hist_; }
  const std::vector<float>& bin_edges() const { return edges_; }
  void reset() {
    hist_.clear();
    edges_.clear();
  }

  /// Percentile method: the left edge of the first bin whose cumulative share reaches p / 100.
  float compute_amax_percentile(double percentile) const {
    require_data("percentile");
    if (!(percentile >= 0.0 && percentile <= 100.0)) {
      raise(detail::message() << "ctq: HistogramCalibrator: percentile " << percentile << " is not in [0, 100]");
    }
    double total = 0.0;
    for (float c : hist_) total += static_cast<double>(static_cast<std::int64_t>(c));
    double cdf = 0.0;
    std::size_t idx = 0;
    for (; idx < hist_.size(); ++idx) {
      cdf += static_cast<double>(static_cast<std::int64_t>(hist_[idx])) / total;
      if (cdf >= percentile / 100.0) break;
    }
    return edges_[idx];
  }

  /// Entropy method (TensorRT's KL-divergence calibration): for each candidate clip bin i from
  /// start_bin, the reference distribution (tail folded into bin i - 1) against its quantization
  /// to 2^(bits - 1 + unsigned) levels; the last minimum of the divergence wins.
  float compute_amax_entropy(int stride = 1, int start_bin = 128) const {
    require_data("entropy");
    const auto n = static_cast<std::int64_t>(hist_.size());
    std::vector<std::int64_t> bins(hist_.size());
    for (std::size_t i = 0; i < bins.size(); ++i) bins[i] = static_cast<std::int64_t>(hist_[i]);
    bins[0] = bins.size() > 1 ? bins[1] : bins[0];
    const std::int64_t nbins = std::int64_t{1} << (num_bits_ - 1 + (is_unsigned_ ? 1 : 0));
    std::vector<double> q, terms;
    std::vector<double> q_sum(static_cast<std::size_t>(nbins)), q_count(static_cast<std::size_t>(nbins));
    std::vector<double> divergences;
    std::vector<std::int64_t> suffix(bins.size() + 1, 0);
    for (std::int64_t i = n - 1; i >= 0; --i)
      suffix[static_cast<std::size_t>(i)] = suffix[static_cast<std::size_t>(i) + 1] + bins[static_cast<std::size_t>(i)];
    for (std::int64_t i = start_bin; i <= n; i += stride) {
      const auto iu = static_cast<std::size_t>(i);
      // reference distribution P: the first i bins, the rest folded into the last
      std::vector<double> ref(iu);
      for (std::size_t x = 0; x < iu; ++x) ref[x] = static_cast<double>(bins[x]);
      ref[iu - 1] += static_cast<double>(suffix[iu]);
      // quantized distribution Q: bins merged into nbins levels, spread over their non-zero bins
      std::fill(q_sum.begin(), q_sum.end(), 0.0);
      std::fill(q_count.begin(), q_count.end(), 0.0);
      for (std::size_t x = 0; x < iu; ++x) {
        if (bins[x] == 0) continue;
        const auto level = static_cast<std::size_t>(static_cast<std::int64_t>(x) * nbins / i);
        q_sum[level] += static_cast<double>(bins[x]);
        q_count[level] += 1.0;
      }
      q.assign(iu, 0.0);
      for (std::size_t x = 0; x < iu; ++x) {
        if (bins[x] == 0) continue;
        const auto level = static_cast<std::size_t>(static_cast<std::int64_t>(x) * nbins / i);
        q[x] = q_sum[level] / q_count[level];
      }
      divergences.push_back(kl_divergence(ref, q, terms));
    }
    // last argmin; a NaN counts as the minimum (numpy's argmin on the reversed array)
    std::size_t best = divergences.size() - 1;
    for (std::size_t k = divergences.size(); k-- > 0;) {
      if (std::isnan(divergences[k])) {
        best = k;
        break;
      }
      if (divergences[k] < divergences[best]) best = k;
    }
    return edges_[best * static_cast<std::size_t>(stride) + static_cast<std::size_t>(start_bin)];
  }

  /// MSE method: for each candidate amax = a bin centre from start_bin, the count-weighted mean
  /// squared error of fake-quantizing the bin centres (narrow range); the first minimum wins.
  float compute_amax_mse(int stride = 1, int start_bin = 128) const {
    require_data("mse");
    const std::size_t nc = hist_.size();
    std::vector<float> centers(nc), err(nc);
    for (std::size_t i = 0; i < nc; ++i) centers[i] = (edges_[i + 1] + edges_[i]) / 2.0f;
    const detail::amax_quantizer quantizer(num_bits_, is_unsigned_, /*narrow_range=*/true);
    float best_mse = std::numeric_limits<float>::infinity();
    std::size_t best = static_cast<std::size_t>(start_bin);
    for (std::size_t i = static_cast<std::size_t>(start_bin); i < nc; i += static_cast<std::size_t>(stride)) {
      const float amax = centers[i];
      const float scale = quantizer.quant_scale(amax);
      const float out_scale = detail::amax_quantizer::reported_scale(amax, scale);
      for (std::size_t k = 0; k < nc; ++k) {
        const float d = quantizer.quantize(centers[k], scale) / out_scale - centers[k];
        err[k] = detail::no_contract(d * d) * hist_[k];
      }
      const float mse = detail::torch_sum(err.data(), static_cast<std::int64_t>(nc)) / static_cast<float>(nc);
      if (mse < best_mse) {
        best_mse = mse;
        best = i;
      }
    }
    return centers[best];
  }

 private:
  void require_data(std::string_view method) const {
    if (hist_.empty()) {
      raise(detail::message() << "ctq: HistogramCalibrator: compute_amax(" << method << ") before any data");
    }
  }

  // scipy.stats.entropy(p, q): both normalised, sum of p log(p / q) (0 where p is 0, inf where only
  // q is 0), with numpy's pairwise sums.
  static double kl_divergence(const std::vector<double>& p_counts, const std::vector<double>& q_counts,
                              std::vector<double>& terms) {
    const auto n = static_cast<std::int64_t>(p_counts.size());
    const double p_total = detail::numpy_pairwise_sum(p_counts.data(), n);
    const double q_total = detail::numpy_pairwise_sum(q_counts.data(), n);
    terms.resize(p_counts.size());
    for (std::size_t k = 0; k < p_counts.size(); ++k) {
      const double p = 1.0 * p_counts[k] / p_total, q = q_counts[k] / q_total;
      if (std::isnan(p) || std::isnan(q)) {
        terms[k] = std::numeric_limits<double>::quiet_NaN();
      } else if (p > 0.0 && q > 0.0) {
        terms[k] = p * std::log(p / q);
      } else if (p == 0.0 && q >= 0.0) {
        terms[k] = 0.0;
      } else {
        terms[k] = std::numeric_limits<double>::infinity();
      }
    }
    return detail::numpy_pairwise_sum(terms.data(), n);
  }

  void add(const std::vector<float>& v) {
    if (v.empty()) return;
    float x_max = v[0];
    for (float e : v) x_max = e > x_max ? e : x_max;
    std::vector<float> hist;
    if (hist_.empty()) {
      hist.assign(static_cast<std::size_t>(num_bins_), 0.0f);
      detail::histc(v.data(), static_cast<index_t>(v.size()), num_bins_, 0.0, x_max, hist.data());
      edges_ = detail::torch_linspace(x_max, num_bins_ + 1);
    } else {
      grow_to(x_max);
      hist.assign(hist_.size(), 0.0f);
      detail::histc(v.data(), static_cast<index_t>(v.size()), static_cast<int>(hist_.size()), 0.0, edges_.back(),
                    hist.data());
      for (std::size_t i = 0; i < hist_.size(); ++i) hist[i] += hist_[i];
    }
    hist_ = std::move(hist);
  }

  // Appends bins of the current width until the last edge reaches x_max (NVIDIA: arange).
  void grow_to(float x_max) {
    if (!(x_max > edges_.back())) return;
    const float width = edges_[1] - edges_[0];
    const auto bins = static_cast<std::size_t>(std::ceil(x_max / width));
    edges_ = detail::torch_arange(static_cast<double>(x_max + width), static_cast<double>(width));
    if (edges_.size() != bins + 1) {
      raise(detail::message() << "ctq: HistogramCalibrator: " << edges_.size() << " bin edges for " << bins << " bins");
    }
    hist_.resize(bins, 0.0f);
  }

  int num_bits_;
  bool is_unsigned_;
  int num_bins_;
  bool skip_zeros_;
  std::vector<float> hist_;
  std::vector<float> edges_;
};

}  // namespace ctq
