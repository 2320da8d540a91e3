// nn::CrossEntropyLoss: PyTorch's torch.nn.CrossEntropyLoss (mean reduction, optional label
// smoothing) on logits [N, C] and class indices, returning the loss and its gradient with respect
// to the logits, ready for nn::backward.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace ctq::nn {

/// A scalar loss and d loss / d input.
struct LossResult {
  float value = 0.0f;
  Tensor<float, 2> grad;
};

struct CrossEntropyLoss {
  static constexpr std::string_view name = "CrossEntropyLoss";

  /// mean over the batch of -sum_c q_c log softmax(x)_c, q = (1 - s) onehot(label) + s / C
  /// (s: label_smoothing); the gradient is (softmax(x) - q) / N.
  LossResult operator()(const Tensor<float, 2>& logits, std::span<const std::int64_t> labels) const {
    const index_t n = logits.dim(0), c = logits.dim(1);
    if (static_cast<index_t>(labels.size()) != n) {
      raise(ctq::detail::message() << "ctq: nn::CrossEntropyLoss: " << labels.size() << " labels for a batch of " << n);
    }
    if (n == 0 || c == 0) raise("ctq: nn::CrossEntropyLoss: an empty batch or no classes");
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f)) {
      raise("ctq: nn::CrossEntropyLoss: label_smoothing must be in [0, 1]");
    }
    LossResult r{0.0f, Tensor<float, 2>({n, c})};
    const float smooth = label_smoothing / static_cast<float>(c);
    double total = 0.0;
    for (index_t i = 0; i < n; ++i) {
      const std::int64_t label = labels[static_cast<std::size_t>(i)];
      if (label < 0 || label >= c) {
        raise(ctq::detail::message() << "ctq: nn::CrossEntropyLoss: label " << label << " outside [0, " << c << ")");
      }
      const float* x = logits.data() + i * c;
      float* g = r.grad.data() + i * c;
      float max = x[0];
      for (index_t j = 1; j < c; ++j) max = std::max(max, x[j]);
      float sum = 0.0f;
      for (index_t j = 0; j < c; ++j) sum += std::exp(x[j] - max);
      const float log_sum = std::log(sum);
      float row = 0.0f, row_smooth = 0.0f;
      for (index_t j = 0; j < c; ++j) {
        const float log_p = x[j] - max - log_sum;
        const float q = (j == label ? 1.0f - label_smoothing : 0.0f) + smooth;
        if (j == label) row -= log_p;
        row_smooth -= log_p;
        g[j] = (std::exp(log_p) - q) / static_cast<float>(n);
      }
      total +=
          static_cast<double>((1.0f - label_smoothing) * row + label_smoothing * row_smooth / static_cast<float>(c));
    }
    r.value = static_cast<float>(total / static_cast<double>(n));
    return r;
  }

  float label_smoothing = 0.0f;
};

/// The index of the largest logit per row (the predicted class).
inline std::vector<std::int64_t> argmax_rows(const Tensor<float, 2>& logits) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(logits.dim(0)));
  for (index_t i = 0; i < logits.dim(0); ++i) {
    const float* x = logits.data() + i * logits.dim(1);
    index_t best = 0;
    for (index_t j = 1; j < logits.dim(1); ++j)
      if (x[j] > x[best]) best = j;
    out[static_cast<std::size_t>(i)] = best;
  }
  return out;
}

}  // namespace ctq::nn
