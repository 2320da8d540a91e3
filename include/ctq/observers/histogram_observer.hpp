// HistogramObserver: a running histogram of the data, and min/max chosen by PyTorch's L2
// non-linear search over it (torch.ao.quantization.HistogramObserver, 1.13), per tensor.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/detail/fp.hpp"
#include "../core/detail/simd_convert.hpp"
#include "min_max_observer.hpp"

namespace ctq {

struct HistogramObserverArgs {
  int bins = 2048;
  int upsample_rate = 128;
  ctq::dtype dtype = ctq::dtype::quint8;
  ctq::qscheme qscheme = ctq::qscheme::per_tensor_affine;
  bool reduce_range = false;
  std::int64_t quant_min = unset;
  std::int64_t quant_max = unset;
  float eps = float32_eps;
};

namespace detail {

// torch.histc(x, bins, min=lo, max=hi) on float32 (PyTorch 1.13): equal bounds fall back to
// the data's min and max, then to +-1; elements outside [lo, hi] are dropped; the bin is
// (int64)(((e - lo) / (hi - lo)) * bins) in float32, e == hi going to the last bin.
inline void histc(const float* x, index_t n, int bins, double lo, double hi, float* out) {
  if (lo == hi && n > 0) {
    const auto [mn, mx] = aminmax(x, n);
    lo = mn;
    hi = mx;
  }
  if (lo == hi) {
    lo -= 1;
    hi += 1;
  }
  const float left = static_cast<float>(lo), right = static_cast<float>(hi);
  const float width = right - left, fbins = static_cast<float>(bins);
  // Bins are computed a block at a time (vectorized: the same IEEE operations), then counted in
  // four integer sub-histograms so that repeated bins do not serialise on one counter. Integer
  // counts equal PyTorch's float counts up to 2^24 per bin.
  constexpr index_t block = 512;
  const auto nb = static_cast<std::int32_t>(bins);
  std::int32_t pos[block];  // nb: outside [lo, hi], counted in a spare slot
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(nb + 1) * 4, 0u);
  std::uint32_t* c0 = counts.data();
  std::uint32_t* c1 = c0 + nb + 1;
  std::uint32_t* c2 = c1 + nb + 1;
  std::uint32_t* c3 = c2 + nb + 1;
  for (index_t start = 0; start < n; start += block) {
    const index_t m = std::min(block, n - start);
    const float* xb = x + start;
    index_t i = 0;
#if CTQ_HAS_XSIMD
    using F = xsimd::batch<float>;
    constexpr index_t w = static_cast<index_t>(F::size);
    const F vl(left), vr(right), vw(width), vb(fbins);
    for (; i + w <= m; i += w) {
      const F e = F::load_unaligned(xb + i);
      const auto outside = (e < vl) | (e > vr);
      // min() maps p == bins to the last bin; truncation then matches the scalar int64 cast
      const F p = xsimd::min(exact_div(e - vl, vw) * vb, F(fbins - 1.0f));
      xsimd::to_int(xsimd::select(outside, F(fbins), p)).store_unaligned(pos + i);
    }
#endif
    for (; i < m; ++i) {
      const float e = xb[i];
      if (e < left || right < e) {
        pos[i] = nb;
        continue;
      }
      const auto p = static_cast<std::int64_t>(((e - left) / width) * fbins);
      pos[i] = static_cast<std::int32_t>(p == bins ? bins - 1 : p);
    }
    index_t k = 0;
    for (; k + 4 <= m; k += 4) {
      ++c0[pos[k]];
      ++c1[pos[k + 1]];
      ++c2[pos[k + 2]];
      ++c3[pos[k + 3]];
    }
    for (; k < m; ++k) ++c0[pos[k]];
  }
  for (std::int32_t b = 0; b < nb; ++b) out[b] += static_cast<float>(c0[b] + c1[b] + c2[b] + c3[b]);
}

// Python's int(float): truncation toward zero.
inline double py_int(float v) { return std::trunc(static_cast<double>(v)); }

// PyTorch's floor division of float32 values (c10::div_floor_floating: fmod, divide, round to the
// nearest integer) returns the exact floor of a / b whenever that is below 2^21 in magnitude. So
// does floor(double(a) / double(b)): a float quotient that is not an integer lies at least a
// relative 2^-24 from one, far more than the double division's error. Beyond 2^21 both are
// clamped to [0, dst_nbins - 1] by the caller, so the results always agree after clamping.
inline float div_floor(float a, float b) {
  return static_cast<float>(std::floor(static_cast<double>(a) / static_cast<double>(b)));
}

struct HistogramState {
  std::vector<float> histogram;
  float min_val = std::numeric_limits<float>::infinity();
  float max_val = -std::numeric_limits<float>::infinity();
  bool observed() const {
    return !(min_val == std::numeric_limits<float>::infinity() && max_val == -std::numeric_limits<float>::infinity());
  }
  friend bool operator==(const HistogramState&, const HistogramState&) = default;
};

// The observer's logic with runtime arguments; HistogramObserver<Args> wraps it. Every float32
// and double operation is the one PyTorch 1.13 performs, in its order (docs/numerics.md (11)).
class HistogramImpl {
 public:
  HistogramImpl(int bins, int upsample_rate, UniformArgs u)
      : bins_(bins), upsample_rate_(upsample_rate), u_(u), dst_nbins_(u.dtype == dtype::qint32 ? 4294967296.0 : 256.0) {
    state.histogram.assign(static_cast<std::size_t>(bins_), 0.0f);
  }

  HistogramState state;

  void observe(const float* x, index_t n, std::string_view observer) {
    if (n == 0) return;
    const auto [new_min, new_max] = finite_aminmax(x, n, observer);
    auto& s = state;
    if (!s.observed() || s.min_val == s.max_val) {
      // First data, or a degenerate range so far: start over from this batch (PyTorch drops the
      // earlier counts here too).
      s.min_val = new_min;
      s.max_val = new_max;
      std::fill(s.histogram.begin(), s.histogram.end(), 0.0f);
      histc(x, n, bins_, py_int(s.min_val), py_int(s.max_val), s.histogram.data());
      return;
    }
    float combined_min = std::min(new_min, s.min_val);
    float combined_max = std::max(new_max, s.max_val);
    // _adjust_min_max: widen the combined range to a whole number of upsampled old bins.
    const float hist_bin_width = (s.max_val - s.min_val) / static_cast<float>(bins_ * upsample_rate_);
    const float bins_width = static_cast<float>(bins_) * hist_bin_width;
    const auto downsample_rate = static_cast<std::int64_t>(std::ceil((combined_max - combined_min) / bins_width));
    const float e = no_contract(static_cast<float>(downsample_rate) * bins_width) - (combined_max - combined_min);
    combined_max = combined_max + e;
    const auto start_idx = static_cast<std::int64_t>(std::nearbyint((s.min_val - combined_min) / hist_bin_width));

    std::vector<float> combined(static_cast<std::size_t>(bins_), 0.0f);
    histc(x, n, bins_, py_int(combined_min), py_int(combined_max), combined.data());
    if (combined_min == s.min_val && combined_max == s.max_val) {
      for (int i = 0; i < bins_; ++i) combined[static_cast<std::size_t>(i)] += s.histogram[static_cast<std::size_t>(i)];
    } else {
      combine_histograms(combined, s.histogram, downsample_rate, start_idx);
    }
    s.histogram = std::move(combined);
    s.min_val = combined_min;
    s.max_val = combined_max;
  }

  PerTensorQParams qparams(std::string_view observer) const {
    if (!state.observed()) {
      warn_not_observed(observer);
      return {1.0f, 0};
    }
    const auto [new_min, new_max] = non_linear_param_search();
    const auto c = calculate_channel_qparams(u_, new_min, new_max);
    return {c.scale, c.zero_point};
  }

  int bins() const { return bins_; }

 private:
  // _combine_histograms: the old histogram, upsampled and placed at start_idx in the combined
  // range, integrated in double, and added per new bin to the new data's histogram.
  void combine_histograms(std::vector<float>& orig, const std::vector<float>& old, std::int64_t downsample_rate,
                          std::int64_t start_idx) const {
    const std::int64_t nb = bins_, up = upsample_rate_;
    const std::int64_t total_len = nb * downsample_rate;
    if (start_idx < 0 || start_idx + nb * up > total_len) {
      raise(message() << "ctq: HistogramObserver: cannot place the histogram (start " << start_idx << ", " << nb * up
                      << " sub-bins in " << total_len << ")");
    }
    double cumulative = 0.0, previous = 0.0;  // previous: integral[i-1] as stored in float32
    std::int64_t pos = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
      for (std::int64_t k = 0; k < downsample_rate; ++k, ++pos) {
        const std::int64_t o = pos - start_idx;
        if (o >= 0 && o < nb * up) cumulative += static_cast<double>(old[static_cast<std::size_t>(o / up)]);
      }
      const double interpolated = (cumulative - previous) / static_cast<double>(up);
      previous = static_cast<double>(static_cast<float>(cumulative));
      orig[static_cast<std::size_t>(b)] += static_cast<float>(interpolated);
    }
  }

  // _get_norm: density * (end^3 - begin^3) / 3, each operation rounded to float32.
  static float get_norm(float begin, float end, float density) {
    const float e3 = no_contract(no_contract(end * end) * end);
    const float b3 = no_contract(no_contract(begin * begin) * begin);
    return no_contract(density * ((e3 - b3) / 3.0f));
  }

  // _compute_quantization_error for the candidate range [start_bin, end_bin].
  double quantization_error(std::int64_t start_bin, std::int64_t end_bin) const {
    const double bin_width = (static_cast<double>(state.max_val) - static_cast<double>(state.min_val)) / bins_;
    const double dst_bin_width = bin_width * static_cast<double>(end_bin - start_bin + 1) / dst_nbins_;
    if (dst_bin_width == 0.0) return 0.0;
    const float bw = static_cast<float>(bin_width), dbw = static_cast<float>(dst_bin_width);
    const float half = static_cast<float>(dst_bin_width / 2), neg_half = static_cast<float>(-dst_bin_width / 2);
    const float max_dst = static_cast<float>(dst_nbins_ - 1);
    const float middle = get_norm(neg_half, half, 1.0f);  // density factored out below
    norms_.resize(static_cast<std::size_t>(bins_));
    for (std::int64_t i = 0; i < bins_; ++i) {
      const float src_begin = no_contract(static_cast<float>(i - start_bin) * bw);
      const float src_end = src_begin + bw;
      const float dst_begin = std::clamp(div_floor(src_begin, dbw), 0.0f, max_dst);
      const float dst_begin_center = no_contract((dst_begin + 0.5f) * dbw);
      const float dst_end = std::clamp(div_floor(src_end, dbw), 0.0f, max_dst);
      const float density = state.histogram[static_cast<std::size_t>(i)] / bw;
      float norm = 0.0f;
      norm += get_norm(src_begin - dst_begin_center, half, density);
      norm += no_contract((dst_end - dst_begin - 1.0f) * no_contract(density * middle));
      const float dst_end_center = no_contract(dst_end * dbw) + half;
      norm += get_norm(neg_half, src_end - dst_end_center, density);
      norms_[static_cast<std::size_t>(i)] = norm;
    }
    return static_cast<double>(torch_sum(norms_.data(), bins_));
  }

  // _non_linear_param_search: shrink [start_bin, end_bin] from the side whose tail holds less
  // mass, in steps of 1e-5 of the total, while the quantization error does not increase.
  std::pair<float, float> non_linear_param_search() const {
    const auto& h = state.histogram;
    const float bin_width = (state.max_val - state.min_val) / static_cast<float>(bins_);
    const double total = static_cast<double>(torch_sum(h.data(), bins_));
    std::vector<float> csum(h.size());
    double acc = 0.0;  // torch.cumsum accumulates float32 in double on the CPU
    for (std::size_t i = 0; i < h.size(); ++i) {
      acc += static_cast<double>(h[i]);
      csum[i] = static_cast<float>(acc);
    }
    const double stepsize = 1e-5;
    double alpha = 0.0, beta = 1.0;
    std::int64_t start_bin = 0, end_bin = bins_ - 1;
    double norm_min = std::numeric_limits<double>::infinity();
    while (alpha < beta) {
      const double next_alpha = alpha + stepsize, next_beta = beta - stepsize;
      // tensor-vs-Python-float comparisons happen in float32
      const float lo_mass = static_cast<float>(next_alpha * total), hi_mass = static_cast<float>(next_beta * total);
      std::int64_t l = start_bin, r = end_bin;
      while (l < end_bin && csum[static_cast<std::size_t>(l)] < lo_mass) ++l;
      while (r > start_bin && csum[static_cast<std::size_t>(r)] > hi_mass) --r;
      std::int64_t next_start = start_bin, next_end = end_bin;
      if ((l - start_bin) > (end_bin - r)) {
        next_start = l;
        alpha = next_alpha;
      } else {
        next_end = r;
        beta = next_beta;
      }
      if (next_start == start_bin && next_end == end_bin) continue;
      const double norm = quantization_error(next_start, next_end);
      if (norm > norm_min) break;
      norm_min = norm;
      start_bin = next_start;
      end_bin = next_end;
    }
    const float new_min = state.min_val + no_contract(bin_width * static_cast<float>(start_bin));
    const float new_max = state.min_val + no_contract(bin_width * static_cast<float>(end_bin + 1));
    return {new_min, new_max};
  }

  int bins_;
  int upsample_rate_;
  UniformArgs u_;
  double dst_nbins_;
  mutable std::vector<float> norms_;  // scratch for quantization_error
};

template <int Bins, int Upsample>
struct check_histogram_args {
  static_assert(Bins > 0, "ctq: HistogramObserver: bins must be positive");
  static_assert(Upsample > 0, "ctq: HistogramObserver: upsample_rate must be positive");
  static constexpr bool ok = true;
};

}  // namespace detail

/// Keeps a histogram of `bins` bins over [min_val, max_val]; when new data widens the range,
/// the old histogram is upsampled by upsample_rate and re-binned into the wider range (11).
/// calculate_qparams picks the min/max that minimise the L2 quantization error over the
/// histogram (PyTorch's _non_linear_param_search) and applies (9) to them.
/// PyTorch 1.13 bins each batch over [int(min), int(max)] (Python int truncation) and drops data
/// outside it; ctq does the same so that its parameters equal PyTorch's.
/// merge(other) folds other's histogram in as PyTorch folds in a new batch's: both are re-binned
/// onto the combined range (exact when both observers already share the same range).
template <HistogramObserverArgs Args = HistogramObserverArgs{}>
class HistogramObserver : public detail::uniform_observer<Args, false> {
  using base = detail::uniform_observer<Args, false>;
  static constexpr UniformArgs U = base::U;
  static_assert(detail::check_histogram_args<Args.bins, Args.upsample_rate>::ok);
  static_assert(Args.dtype == ctq::dtype::quint8 || Args.dtype == ctq::dtype::qint8,
                "ctq: HistogramObserver: dtype must be quint8 or qint8 (its search targets 256 levels)");

 public:
  static constexpr std::string_view name = "HistogramObserver";
  using State = detail::HistogramState;
  using qparams_type = PerTensorQParams;

  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    impl_.observe(x.data(), x.size(), name);
    return x;
  }

  PerTensorQParams calculate_qparams() const { return impl_.qparams(name); }
  void reset() { impl_ = detail::HistogramImpl(Args.bins, Args.upsample_rate, U); }

  void merge(const HistogramObserver& other) {
    const State& b = other.impl_.state;
    if (!b.observed()) return;
    if (!impl_.state.observed()) {
      impl_.state = b;
      return;
    }
    if (b.min_val == impl_.state.min_val && b.max_val == impl_.state.max_val) {
      for (std::size_t i = 0; i < b.histogram.size(); ++i) impl_.state.histogram[i] += b.histogram[i];
      return;
    }
    // Re-bin other's histogram as data: each bin's count sits at its bin's centre, weighted.
    detail::HistogramImpl as_batches(Args.bins, Args.upsample_rate, U);
    as_batches.state = impl_.state;
    merge_rebinned(as_batches, b);
    impl_.state = as_batches.state;
  }

  float min_val() const { return impl_.state.min_val; }
  float max_val() const { return impl_.state.max_val; }
  const std::vector<float>& histogram() const { return impl_.state.histogram; }
  const State& state() const { return impl_.state; }
  void set_state(State s) {
    if (s.histogram.size() != static_cast<std::size_t>(Args.bins)) {
      raise(detail::message() << "ctq: HistogramObserver: state has " << s.histogram.size() << " bins, the observer "
                              << Args.bins);
    }
    detail::check_min_max_state({s.min_val, s.max_val}, name);
    impl_.state = std::move(s);
  }

 private:
  // Adds histogram b (over [b.min_val, b.max_val]) to `into`: the combined range is the union
  // widened by _adjust_min_max, and both histograms are spread uniformly within their bins onto
  // it (into's by PyTorch's upsampling; b's in the same way), so every count is kept.
  static void merge_rebinned(detail::HistogramImpl& into, const State& b) {
    auto& s = into.state;
    const float lo = std::min(s.min_val, b.min_val), hi = std::max(s.max_val, b.max_val);
    std::vector<float> out(static_cast<std::size_t>(Args.bins), 0.0f);
    auto spread = [&](const State& src) {
      const double w = (static_cast<double>(src.max_val) - src.min_val) / Args.bins;
      const double dw = (static_cast<double>(hi) - lo) / Args.bins;
      for (int i = 0; i < Args.bins; ++i) {
        const double count = src.histogram[static_cast<std::size_t>(i)];
        if (count == 0.0) continue;
        for (int k = 0; k < Args.upsample_rate; ++k) {
          const double centre = src.min_val + w * (i + (k + 0.5) / Args.upsample_rate);
          auto pos = static_cast<std::int64_t>((centre - lo) / dw);
          pos = std::clamp<std::int64_t>(pos, 0, Args.bins - 1);
          out[static_cast<std::size_t>(pos)] += static_cast<float>(count / Args.upsample_rate);
        }
      }
    };
    if (s.min_val == s.max_val || b.min_val == b.max_val) {
      raise("ctq: HistogramObserver: merge of a degenerate (single-value) histogram with a different range");
    }
    spread(s);
    spread(b);
    s.histogram = std::move(out);
    s.min_val = lo;
    s.max_val = hi;
  }

  detail::HistogramImpl impl_{Args.bins, Args.upsample_rate, U};
};

}  // namespace ctq
