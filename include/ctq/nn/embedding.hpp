// nn::Embedding and nn::EmbeddingBag: tables of Dim-wide float rows looked up by integer indices
// (PyTorch's torch.nn.Embedding / torch.nn.EmbeddingBag in eval), weight [NumEmbeddings][Dim] as
// PyTorch stores it; bags reduce by sum, mean or max with PyTorch 1.13's CPU arithmetic.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../core/detail/fp.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "module.hpp"

namespace ctq::nn {

/// No padding index (PyTorch's padding_idx=None).
inline constexpr index_t no_padding_idx = std::numeric_limits<index_t>::min();

/// How EmbeddingBag reduces a bag (PyTorch's mode='sum' / 'mean' / 'max').
enum class bag_mode : std::uint8_t { sum, mean, max };

namespace detail {

template <class I>
inline constexpr bool is_index_type = std::is_same_v<I, std::int64_t> || std::is_same_v<I, std::int32_t>;

/// PyTorch's padding_idx wrapped into [0, n) (negative counts from the end); -1 for none.
constexpr index_t wrap_padding_idx(index_t p, index_t n) { return p == no_padding_idx ? -1 : (p < 0 ? p + n : p); }
constexpr bool padding_idx_valid(index_t p, index_t n) { return p == no_padding_idx || (p >= -n && p < n); }

/// The indices as int64 values: the tensor's own data, or (int32) a copy in `buf`.
template <class I, int R>
const std::int64_t* indices_as_int64(const Tensor<I, R>& t, std::vector<std::int64_t>& buf) {
  if constexpr (std::is_same_v<I, std::int64_t>) {
    return t.data();
  } else {
    buf.assign(t.values().begin(), t.values().end());
    return buf.data();
  }
}

/// Raises unless every index is in [0, num_embeddings).
inline void check_indices(std::string_view op, const std::int64_t* idx, index_t n, index_t num_embeddings) {
  for (index_t i = 0; i < n; ++i) {
    if (idx[i] < 0 || idx[i] >= num_embeddings) {
      raise(ctq::detail::message() << "ctq: " << op << ": index " << idx[i] << " (at position " << i
                                   << " of the input) is out of range for " << num_embeddings
                                   << " embeddings (valid: 0 .. " << (num_embeddings - 1) << ")");
    }
  }
}

/// The bags of an EmbeddingBag call: bag b covers indices [begin(b), end(b)).
struct Bags {
  const std::int64_t* starts = nullptr;  // count + 1 entries; null: fixed-size bags
  index_t count = 0;
  index_t fixed = 0;  // the bag size when starts is null
  index_t begin(index_t b) const { return starts != nullptr ? starts[b] : b * fixed; }
  index_t end(index_t b) const { return starts != nullptr ? starts[b + 1] : (b + 1) * fixed; }
};

/// Bags from PyTorch's offsets: offsets[0] is 0 and each bag starts where the previous ends (as
/// PyTorch requires), offsets never decrease and stay within the indices; with include_last_offset
/// the last offset closes the last bag and must equal the number of indices (PyTorch's float and
/// quantized kernels disagree on indices past it). `starts` receives count + 1 entries.
inline Bags offsets_to_bags(std::string_view op, const std::int64_t* off, index_t n_off, index_t n_indices,
                            bool include_last_offset, std::vector<std::int64_t>& starts) {
  if (include_last_offset && n_off < 1) {
    raise(ctq::detail::message() << "ctq: " << op
                                 << ": include_last_offset needs at least one offset (the end of the last bag)");
  }
  if (n_off > 0 && off[0] != 0) {
    raise(ctq::detail::message() << "ctq: " << op << ": offsets[0] is " << off[0]
                                 << "; the first bag must start at index 0");
  }
  for (index_t i = 0; i < n_off; ++i) {
    if ((i > 0 && off[i] < off[i - 1]) || off[i] > n_indices) {
      raise(ctq::detail::message() << "ctq: " << op << ": offsets[" << i << "] is " << off[i]
                                   << "; offsets must not decrease and must not exceed the " << n_indices
                                   << " indices");
    }
  }
  if (include_last_offset && off[n_off - 1] != n_indices) {
    raise(ctq::detail::message() << "ctq: " << op << ": with include_last_offset the last offset is the end of the "
                                 << "last bag and must equal the number of indices (" << n_indices << "), got "
                                 << off[n_off - 1]);
  }
  starts.assign(off, off + n_off);
  if (!include_last_offset) starts.push_back(n_indices);
  return Bags{starts.data(), static_cast<index_t>(starts.size()) - 1, 0};
}

inline void check_per_sample_weights(std::string_view op, index_t n_weights, index_t n_indices) {
  if (n_weights != n_indices) {
    raise(ctq::detail::message() << "ctq: " << op << ": " << n_weights << " per_sample_weights for " << n_indices
                                 << " indices (one weight per index)");
  }
}

/// Row lookup: out[i] = weight[idx[i]] (indices checked).
inline void embedding_forward(const float* weight, index_t dim, const std::int64_t* idx, index_t n, float* out) {
  for (index_t i = 0; i < n; ++i) {
    std::memcpy(out + i * dim, weight + idx[i] * dim, static_cast<std::size_t>(dim) * sizeof(float));
  }
}

/// One output row per bag, rows accumulated in index order (indices checked; padding: wrapped, or -1).
///   sum:  acc += row; with per-sample weights acc = fma(w, row, acc) -- PyTorch's caffe2 kernel on
///         x86 CPUs with AVX2 and FMA (its fallback for older CPUs rounds the product first) -- or,
///         when a padding_idx is set, acc += float(row * w): PyTorch then takes a scalar loop that
///         rounds the product first
///   mean: the sum / max(non-padding entries, 1), a division as PyTorch's
///   max:  per column, the first non-padding row, then any later value that compares greater (so a
///         NaN stays only when it comes first); an empty bag gives zeros.
inline void embedding_bag_forward(const float* weight, index_t dim, const std::int64_t* idx, const Bags& bags,
                                  const float* per_sample_weights, bag_mode mode, index_t padding_idx, float* out) {
  for (index_t b = 0; b < bags.count; ++b) {
    float* o = out + b * dim;
    std::fill(o, o + dim, 0.0f);
    index_t count = 0;
    for (index_t i = bags.begin(b); i < bags.end(b); ++i) {
      if (idx[i] == padding_idx) continue;
      const float* row = weight + idx[i] * dim;
      if (mode == bag_mode::max) {
        for (index_t j = 0; j < dim; ++j) {
          if (count == 0 || row[j] > o[j]) o[j] = row[j];
        }
      } else if (per_sample_weights == nullptr) {
        for (index_t j = 0; j < dim; ++j) o[j] += row[j];
      } else if (padding_idx < 0) {
        const float w = per_sample_weights[i];
        for (index_t j = 0; j < dim; ++j) o[j] = std::fma(w, row[j], o[j]);
      } else {
        const float w = per_sample_weights[i];
        for (index_t j = 0; j < dim; ++j) o[j] += ctq::detail::no_contract(row[j] * w);
      }
      ++count;
    }
    if (mode == bag_mode::mean) {
      const auto n = static_cast<float>(std::max<index_t>(count, 1));
      for (index_t j = 0; j < dim; ++j) o[j] = o[j] / n;
    }
  }
}

/// weight ~ N(0, 1), the padding row zero (PyTorch's Embedding/EmbeddingBag.reset_parameters).
inline void fill_embedding_init(float* weight, index_t rows, index_t dim, index_t padding_idx, std::mt19937& g) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (index_t i = 0; i < rows * dim; ++i) weight[i] = normal(g);
  if (padding_idx >= 0) std::fill(weight + padding_idx * dim, weight + (padding_idx + 1) * dim, 0.0f);
}

template <class I>
constexpr bool check_index_type() {
  static_assert(is_index_type<I>,
                "ctq: embedding: indices (and offsets) must be a Tensor of std::int64_t or std::int32_t");
  return true;
}

}  // namespace detail

/// A lookup table: indices of any shape [...] give rows [..., Dim] (PyTorch's nn.Embedding).
/// PaddingIdx (negative counts from the end) only zeroes that row at initialisation: in eval,
/// as in PyTorch, its row is returned as stored.
template <index_t NumEmbeddings, index_t Dim, index_t PaddingIdx = no_padding_idx>
class Embedding : public ctq::detail::rejects_quantized {
  static_assert(NumEmbeddings >= 1 && Dim >= 1, "ctq: embedding: num_embeddings and embedding_dim must be positive");
  static_assert(detail::padding_idx_valid(PaddingIdx, NumEmbeddings),
                "ctq: embedding: padding_idx must lie in [-num_embeddings, num_embeddings)");

 public:
  static constexpr std::string_view name = "Embedding";
  static constexpr index_t num_embeddings = NumEmbeddings, embedding_dim = Dim;
  /// The padding row in [0, NumEmbeddings), or -1 for none.
  static constexpr index_t padding_idx = detail::wrap_padding_idx(PaddingIdx, NumEmbeddings);

  Embedding() : weight({NumEmbeddings, Dim}) {}

  using ctq::detail::rejects_quantized::operator();
  /// indices: integers in [0, NumEmbeddings), any shape; the result has a trailing Dim.
  template <class I, int R>
  Tensor<float, R + 1> operator()(const Tensor<I, R>& indices) const {
    static_assert(detail::check_index_type<I>());
    std::vector<std::int64_t> buf;
    const std::int64_t* idx = detail::indices_as_int64(indices, buf);
    detail::check_indices("nn::Embedding", idx, indices.size(), NumEmbeddings);
    Shape<R + 1> shape{};
    std::copy(indices.shape().begin(), indices.shape().end(), shape.begin());
    shape[R] = Dim;
    Tensor<float, R + 1> y(shape);
    detail::embedding_forward(weight.data(), Dim, idx, indices.size(), y.data());
    return y;
  }

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight"}, weight);
  }
  void reset_parameters(std::mt19937& g) {
    detail::fill_embedding_init(weight.data(), NumEmbeddings, Dim, padding_idx, g);
  }

  Tensor<float, 2> weight;
};

/// Sums, means or maxima of bags of rows (PyTorch's nn.EmbeddingBag):
///   m(indices, offsets)            1-d indices; bag b is indices[offsets[b] .. offsets[b + 1])
///                                  (the last bag runs to the end unless IncludeLastOffset, where
///                                  offsets has one more entry, the end of the last bag);
///   m(indices)                     2-d indices [B, L]: B bags of L;
///   per_sample_weights             one float per index (same shape), mode sum only.
/// Entries equal to PaddingIdx are left out of their bag (and of a mean's count). The result is
/// [bags, Dim]; an empty bag gives zeros.
template <index_t NumEmbeddings, index_t Dim, bag_mode Mode = bag_mode::mean, bool IncludeLastOffset = false,
          index_t PaddingIdx = no_padding_idx>
class EmbeddingBag : public ctq::detail::rejects_quantized {
  static_assert(NumEmbeddings >= 1 && Dim >= 1, "ctq: embedding: num_embeddings and embedding_dim must be positive");
  static_assert(detail::padding_idx_valid(PaddingIdx, NumEmbeddings),
                "ctq: embedding: padding_idx must lie in [-num_embeddings, num_embeddings)");

 public:
  static constexpr std::string_view name = "EmbeddingBag";
  static constexpr index_t num_embeddings = NumEmbeddings, embedding_dim = Dim;
  static constexpr bag_mode mode = Mode;
  static constexpr bool include_last_offset = IncludeLastOffset;
  /// The padding row in [0, NumEmbeddings), or -1 for none.
  static constexpr index_t padding_idx = detail::wrap_padding_idx(PaddingIdx, NumEmbeddings);

  EmbeddingBag() : weight({NumEmbeddings, Dim}) {}

  using ctq::detail::rejects_quantized::operator();

  template <class I, class J>
  Tensor<float, 2> operator()(const Tensor<I, 1>& indices, const Tensor<J, 1>& offsets) const {
    static_assert(detail::check_index_type<I>() && detail::check_index_type<J>());
    return run(indices, &offsets, nullptr, 0);
  }
  template <class I, class J>
  Tensor<float, 2> operator()(const Tensor<I, 1>& indices, const Tensor<J, 1>& offsets,
                              const Tensor<float, 1>& per_sample_weights) const {
    static_assert(detail::check_index_type<I>() && detail::check_index_type<J>());
    static_assert(Mode == bag_mode::sum, "ctq: embedding_bag: per_sample_weights is only supported with mode sum");
    return run(indices, &offsets, per_sample_weights.data(), per_sample_weights.size());
  }
  template <class I, int R>
  Tensor<float, 2> operator()(const Tensor<I, R>& indices) const {
    static_assert(detail::check_index_type<I>());
    static_assert(R == 2, "ctq: embedding_bag: 1-d indices need offsets (2-d indices [B, L] are B bags of L)");
    static_assert(!IncludeLastOffset,
                  "ctq: embedding_bag: 2-d indices with include_last_offset lose their last bag in PyTorch; pass 1-d "
                  "indices and offsets");
    return run(indices, static_cast<const Tensor<std::int64_t, 1>*>(nullptr), nullptr, 0);
  }
  template <class I>
  Tensor<float, 2> operator()(const Tensor<I, 2>& indices, const Tensor<float, 2>& per_sample_weights) const {
    static_assert(detail::check_index_type<I>());
    static_assert(Mode == bag_mode::sum, "ctq: embedding_bag: per_sample_weights is only supported with mode sum");
    static_assert(!IncludeLastOffset,
                  "ctq: embedding_bag: 2-d indices with include_last_offset lose their last bag in PyTorch; pass 1-d "
                  "indices and offsets");
    if (per_sample_weights.shape() != indices.shape()) {
      raise("ctq: nn::EmbeddingBag: per_sample_weights must have the shape of the 2-d indices");
    }
    return run(indices, static_cast<const Tensor<std::int64_t, 1>*>(nullptr), per_sample_weights.data(),
               per_sample_weights.size());
  }

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight"}, weight);
  }
  void reset_parameters(std::mt19937& g) {
    detail::fill_embedding_init(weight.data(), NumEmbeddings, Dim, padding_idx, g);
  }

  Tensor<float, 2> weight;

 private:
  template <class I, int R, class J>
  Tensor<float, 2> run(const Tensor<I, R>& indices, const Tensor<J, 1>* offsets, const float* psw,
                       index_t n_psw) const {
    constexpr std::string_view op = "nn::EmbeddingBag";
    std::vector<std::int64_t> ibuf, obuf, starts;
    const std::int64_t* idx = detail::indices_as_int64(indices, ibuf);
    detail::check_indices(op, idx, indices.size(), NumEmbeddings);
    if (psw != nullptr) detail::check_per_sample_weights(op, n_psw, indices.size());
    detail::Bags bags;
    if (offsets != nullptr) {
      const std::int64_t* off = detail::indices_as_int64(*offsets, obuf);
      bags = detail::offsets_to_bags(op, off, offsets->size(), indices.size(), IncludeLastOffset, starts);
    } else {
      bags = detail::Bags{nullptr, indices.dim(0), R == 2 ? indices.dim(R - 1) : 0};
    }
    Tensor<float, 2> y({bags.count, Dim});
    detail::embedding_bag_forward(weight.data(), Dim, idx, bags, psw, Mode, padding_idx, y.data());
    return y;
  }
};

}  // namespace ctq::nn
