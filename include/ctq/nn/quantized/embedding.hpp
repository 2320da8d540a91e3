// nn::quantized::Embedding and EmbeddingBag: weight-only quantized lookup tables, 8-bit (quint8) or
// 4-bit (quint4x2) codes per row with a float scale and zero point per row, float outputs
// (PyTorch's nnq.Embedding / nnq.EmbeddingBag and its quantized::embedding_byte / embedding_4bit /
// embedding_bag_byte / embedding_bag_4bit ops, with 1.13's arithmetic).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "../../core/detail/fp.hpp"
#include "../../core/dtype.hpp"
#include "../../core/error.hpp"
#include "../../core/float16.hpp"
#include "../../core/qscheme.hpp"
#include "../../core/qtensor.hpp"
#include "../embedding.hpp"

namespace ctq::nn::quantized {

/// The weight of a quantized embedding table: [NumEmbeddings][Dim] codes, quantized per row
/// (axis 0) with float scales and float zero points (per_channel_affine_float_qparams).
template <dtype D>
using EmbeddingWeight = QTensor<D, qscheme::per_channel_affine_float_qparams, 2>;

namespace detail {

/// A table as PyTorch's embedding_bag_prepack packs it: each row's codes (row_bytes bytes; 4-bit
/// codes two per byte, element 2j in the low nibble) and its scale and bias = -(zero_point *
/// scale), stored as float for 8-bit rows and as float16 for 4-bit rows (kept here as the float
/// value of that float16).
struct RowwiseTable {
  const std::uint8_t* codes = nullptr;
  index_t row_bytes = 0;
  int bits = 8;
  const float* scale = nullptr;
  const float* bias = nullptr;
};

/// PyTorch's non-FBGEMM embedding kernel (the one its CPU build without FBGEMM runs, on every
/// engine): per bag, acc = 0; per entry i with row r and weight w (1 without per-sample weights):
///   s = w * scale[r], b = w * bias[r] (float), acc[j] = float(fma(double(s), double(q[r][j]),
///   double(acc[j] + b))) -- a double fma (its integer code promotes the call to double); s * q
/// is exact in double, so the only roundings are acc + b, the fma's to double and the one to float.
inline void rowwise_bag_forward(const RowwiseTable& t, index_t dim, const std::int64_t* idx,
                                const nn::detail::Bags& bags, const float* per_sample_weights, float* out) {
  const unsigned mask = (1u << t.bits) - 1u;
  const int per_byte = 8 / t.bits;
  for (index_t b = 0; b < bags.count; ++b) {
    float* o = out + b * dim;
    std::fill(o, o + dim, 0.0f);
    for (index_t i = bags.begin(b); i < bags.end(b); ++i) {
      const index_t r = idx[i];
      const float w = per_sample_weights != nullptr ? per_sample_weights[i] : 1.0f;
      const float s = ctq::detail::no_contract(w * t.scale[r]);
      const float bias = ctq::detail::no_contract(w * t.bias[r]);
      const std::uint8_t* q = t.codes + r * t.row_bytes;
      if (t.bits == 8) {
        for (index_t j = 0; j < dim; ++j) {
          o[j] = static_cast<float>(
              std::fma(static_cast<double>(s), static_cast<double>(q[j]), static_cast<double>(o[j] + bias)));
        }
      } else {
        for (index_t j = 0; j < dim; ++j) {
          const unsigned code = (static_cast<unsigned>(q[j / per_byte]) >> ((j % per_byte) * t.bits)) & mask;
          o[j] = static_cast<float>(
              std::fma(static_cast<double>(s), static_cast<double>(code), static_cast<double>(o[j] + bias)));
        }
      }
    }
  }
}

/// The per-row scale and bias PyTorch's prepack stores: bias = zero_point * scale * -1 in float;
/// 4-bit tables round both to float16 (nearest even).
inline void rowwise_params(const std::vector<float>& scales, const std::vector<float>& zero_points, int bits,
                           std::vector<float>& scale_out, std::vector<float>& bias_out) {
  scale_out.resize(scales.size());
  bias_out.resize(scales.size());
  for (std::size_t r = 0; r < scales.size(); ++r) {
    const float bias = -ctq::detail::no_contract(zero_points[r] * scales[r]);
    if (bits == 8) {
      scale_out[r] = scales[r];
      bias_out[r] = bias;
    } else {
      scale_out[r] = ctq::float16_t::from_float(scales[r]).to_float();
      bias_out[r] = ctq::float16_t::from_float(bias).to_float();
    }
  }
}

/// What Embedding and EmbeddingBag share: the quantized weight and its packed row parameters.
template <index_t NumEmbeddings, index_t Dim, dtype D>
class QEmbeddingTable {
  // (a valid dtype for the weight's type even when D is not, so that D's assertion is the only error)
  static constexpr dtype W = D == dtype::quint4x2 ? dtype::quint4x2 : dtype::quint8;

  static_assert(NumEmbeddings >= 1 && Dim >= 1, "ctq: embedding: num_embeddings and embedding_dim must be positive");
  static_assert(D == dtype::quint8 || D == dtype::quint4x2,
                "ctq: quantized embedding: weights are quint8 or quint4x2 (float scale and zero point per row)");
  static_assert(D != dtype::quint4x2 || Dim % 2 == 0,
                "ctq: quantized embedding: 4-bit rows need an even embedding_dim (two codes per byte, rows packed "
                "separately, as PyTorch requires)");

 public:
  static constexpr index_t num_embeddings = NumEmbeddings, embedding_dim = Dim;
  static constexpr dtype weight_dtype = D;

  /// Every row: codes 0, scale 1, zero point 0 (PyTorch's constructor has the same scales and zero
  /// points; its codes are left uninitialised).
  QEmbeddingTable()
      : QEmbeddingTable(EmbeddingWeight<W>({NumEmbeddings, Dim},
                                           PerChannelQParams<float>{std::vector<float>(NumEmbeddings, 1.0f),
                                                                    std::vector<float>(NumEmbeddings, 0.0f), 0})) {}

  /// weight: [NumEmbeddings][Dim], quantized along axis 0 (as convert makes it). Raises on another
  /// shape or axis.
  explicit QEmbeddingTable(EmbeddingWeight<W> weight) : weight_(std::move(weight)) {
    if (weight_.dim(0) != NumEmbeddings || weight_.dim(1) != Dim) {
      raise(ctq::detail::message() << "ctq: nn::quantized::Embedding: the weight is [" << weight_.dim(0) << ", "
                                   << weight_.dim(1) << "], the module is [" << NumEmbeddings << ", " << Dim << "]");
    }
    if (weight_.axis() != 0) {
      raise("ctq: nn::quantized::Embedding: the weight must be quantized per row (axis 0)");
    }
    detail::rowwise_params(weight_.qparams().scales, weight_.qparams().zero_points, dtype_traits<D>::bits, row_scale_,
                           row_bias_);
  }

  /// The quantized weight (PyTorch's module.weight()).
  const EmbeddingWeight<W>& weight() const { return weight_; }
  /// Per-row scale and bias as the kernel uses them (float16 values for 4-bit tables).
  const std::vector<float>& row_scales() const { return row_scale_; }
  const std::vector<float>& row_biases() const { return row_bias_; }
  /// Bytes of the packed table: codes plus scale and bias per row (8 bytes, or 4 for 4-bit), as
  /// PyTorch's packed weight.
  std::size_t parameter_bytes() const {
    return static_cast<std::size_t>(NumEmbeddings) * static_cast<std::size_t>(row_bytes + (D == dtype::quint8 ? 8 : 4));
  }

 protected:
  static constexpr index_t row_bytes = D == dtype::quint8 ? Dim : Dim / 2;

  RowwiseTable table() const {
    return RowwiseTable{weight_.data(), row_bytes, dtype_traits<D>::bits, row_scale_.data(), row_bias_.data()};
  }

  EmbeddingWeight<W> weight_;
  std::vector<float> row_scale_, row_bias_;
};

}  // namespace detail

/// Weight-only quantized nn::Embedding: indices of any shape [...] give float rows [..., Dim]
/// (PyTorch's nnq.Embedding: quantized::embedding_byte, or embedding_4bit for quint4x2).
template <index_t NumEmbeddings, index_t Dim, dtype D = dtype::quint8>
class Embedding : public detail::QEmbeddingTable<NumEmbeddings, Dim, D> {
  using base = detail::QEmbeddingTable<NumEmbeddings, Dim, D>;

 public:
  static constexpr std::string_view name =
      D == dtype::quint8 ? "Embedding (quantized)" : "Embedding (quantized, 4-bit)";
  using base::base;

  template <class I, int R>
  Tensor<float, R + 1> operator()(const Tensor<I, R>& indices) const {
    static_assert(nn::detail::check_index_type<I>());
    std::vector<std::int64_t> buf;
    const std::int64_t* idx = nn::detail::indices_as_int64(indices, buf);
    nn::detail::check_indices("nn::quantized::Embedding", idx, indices.size(), NumEmbeddings);
    Shape<R + 1> shape{};
    std::copy(indices.shape().begin(), indices.shape().end(), shape.begin());
    shape[R] = Dim;
    Tensor<float, R + 1> y(shape);
    detail::rowwise_bag_forward(this->table(), Dim, idx, nn::detail::Bags{nullptr, indices.size(), 1}, nullptr,
                                y.data());
    return y;
  }
};

/// Weight-only quantized nn::EmbeddingBag: every bag is a sum, with optional per-sample weights
/// (PyTorch's nnq.EmbeddingBag: quantized::embedding_bag_byte / embedding_bag_4bit, which ignore
/// mode). Calls as nn::EmbeddingBag: (indices, offsets[, per_sample_weights]) with 1-d indices, or
/// (indices[, per_sample_weights]) with 2-d indices [B, L].
template <index_t NumEmbeddings, index_t Dim, dtype D = dtype::quint8, bool IncludeLastOffset = false>
class EmbeddingBag : public detail::QEmbeddingTable<NumEmbeddings, Dim, D> {
  using base = detail::QEmbeddingTable<NumEmbeddings, Dim, D>;

 public:
  static constexpr std::string_view name =
      D == dtype::quint8 ? "EmbeddingBag (quantized)" : "EmbeddingBag (quantized, 4-bit)";
  static constexpr nn::bag_mode mode = nn::bag_mode::sum;
  static constexpr bool include_last_offset = IncludeLastOffset;
  using base::base;

  template <class I, class J>
  Tensor<float, 2> operator()(const Tensor<I, 1>& indices, const Tensor<J, 1>& offsets) const {
    static_assert(nn::detail::check_index_type<I>() && nn::detail::check_index_type<J>());
    return run(indices, &offsets, nullptr, 0);
  }
  template <class I, class J>
  Tensor<float, 2> operator()(const Tensor<I, 1>& indices, const Tensor<J, 1>& offsets,
                              const Tensor<float, 1>& per_sample_weights) const {
    static_assert(nn::detail::check_index_type<I>() && nn::detail::check_index_type<J>());
    return run(indices, &offsets, per_sample_weights.data(), per_sample_weights.size());
  }
  template <class I, int R>
  Tensor<float, 2> operator()(const Tensor<I, R>& indices) const {
    static_assert(nn::detail::check_index_type<I>());
    static_assert(R == 2, "ctq: embedding_bag: 1-d indices need offsets (2-d indices [B, L] are B bags of L)");
    static_assert(!IncludeLastOffset,
                  "ctq: embedding_bag: 2-d indices with include_last_offset lose their last bag in PyTorch; pass 1-d "
                  "indices and offsets");
    return run(indices, static_cast<const Tensor<std::int64_t, 1>*>(nullptr), nullptr, 0);
  }
  template <class I>
  Tensor<float, 2> operator()(const Tensor<I, 2>& indices, const Tensor<float, 2>& per_sample_weights) const {
    static_assert(nn::detail::check_index_type<I>());
    static_assert(!IncludeLastOffset,
                  "ctq: embedding_bag: 2-d indices with include_last_offset lose their last bag in PyTorch; pass 1-d "
                  "indices and offsets");
    if (per_sample_weights.shape() != indices.shape()) {
      raise("ctq: nn::quantized::EmbeddingBag: per_sample_weights must have the shape of the 2-d indices");
    }
    return run(indices, static_cast<const Tensor<std::int64_t, 1>*>(nullptr), per_sample_weights.data(),
               per_sample_weights.size());
  }

 private:
  template <class I, int R, class J>
  Tensor<float, 2> run(const Tensor<I, R>& indices, const Tensor<J, 1>* offsets, const float* psw,
                       index_t n_psw) const {
    constexpr std::string_view op = "nn::quantized::EmbeddingBag";
    std::vector<std::int64_t> ibuf, obuf, starts;
    const std::int64_t* idx = nn::detail::indices_as_int64(indices, ibuf);
    nn::detail::check_indices(op, idx, indices.size(), NumEmbeddings);
    if (psw != nullptr) nn::detail::check_per_sample_weights(op, n_psw, indices.size());
    nn::detail::Bags bags;
    if (offsets != nullptr) {
      const std::int64_t* off = nn::detail::indices_as_int64(*offsets, obuf);
      bags = nn::detail::offsets_to_bags(op, off, offsets->size(), indices.size(), IncludeLastOffset, starts);
    } else {
      bags = nn::detail::Bags{nullptr, indices.dim(0), R == 2 ? indices.dim(R - 1) : 0};
    }
    Tensor<float, 2> y({bags.count, Dim});
    detail::rowwise_bag_forward(this->table(), Dim, idx, bags, psw, y.data());
    return y;
  }
};

}  // namespace ctq::nn::quantized
