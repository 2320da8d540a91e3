// The weight-only mapping of nn::Embedding and nn::EmbeddingBag to nn::quantized::Embedding /
// EmbeddingBag (PyTorch's nnq.Embedding.from_float / nnq.EmbeddingBag.from_float): the qconfig's
// weight observer must use per_channel_affine_float_qparams (float_qparams_weight_only_qconfig,
// 8-bit, or float_qparams_weight_only_qconfig_4bit); nothing is observed at run time.
//   using Mapping = QConfigMapping<get_default_qconfig<backend::x86>,
//                                  for_type<nn::EmbeddingBag<1000, 16, nn::bag_mode::sum>,
//                                           float_qparams_weight_only_qconfig>>;
#pragma once

#include <algorithm>
#include <type_traits>

#include "../../core/quantize.hpp"
#include "../../nn/embedding.hpp"
#include "../../nn/quantized/embedding.hpp"
#include "../../qconfig/backend.hpp"
#include "../traits.hpp"

namespace ctq {

namespace detail {

template <class W>
inline constexpr bool is_float_qparams_observer =
    quant_info<W>::computes_qparams&& quant_info<W>::qscheme_value == qscheme::per_channel_affine_float_qparams;

/// PyTorch raises at convert time when an embedding's qconfig is not float_qparams; ctq does not compile.
template <class QC>
constexpr bool embedding_qconfig_ok() {
  using W = typename QC::weight;
  static_assert(is_float_qparams_observer<W>,
                "ctq: convert: Embedding and EmbeddingBag need a float_qparams weight observer "
                "(float_qparams_weight_only_qconfig or float_qparams_weight_only_qconfig_4bit)");
  if constexpr (is_float_qparams_observer<W>) {
    static_assert(W::ch_axis == 0,
                  "ctq: convert: embedding weights are quantized per row: the weight observer's "
                  "ch_axis must be 0");
    return W::ch_axis == 0;
  } else {
    return false;
  }
}

/// The table quantized as PyTorch's convert does it: the weight observer run on the float weight,
/// torch.quantize_per_channel with its float scales and zero points along the rows, and quint8
/// codes clamped to the observer's range where that is narrower than [0, 255] (_clamp_weights).
template <class W>
nn::quantized::EmbeddingWeight<W::dtype> quantize_embedding_weight(const Tensor<float, 2>& weight) {
  W observer;
  observer(weight);
  auto q = ctq::quantize<W::dtype, qscheme::per_channel_affine_float_qparams>(weight, observer.calculate_qparams());
  if constexpr (W::dtype == dtype::quint8 && (W::quant_min > 0 || W::quant_max < 255)) {
    for (auto& v : q.int_repr()) {
      v = static_cast<std::uint8_t>(std::clamp<std::int64_t>(v, W::quant_min, W::quant_max));
    }
  }
  return q;
}

}  // namespace detail

template <index_t N, index_t Dim, index_t P>
struct quantized_module<nn::Embedding<N, Dim, P>> {
  /// The module for float_qparams_weight_only_qconfig; type_for<QC> is the one convert<QC> builds
  /// (quint4x2 codes for the _4bit qconfig).
  using type = nn::quantized::Embedding<N, Dim, dtype::quint8>;
  template <class QC>
  using type_for = nn::quantized::Embedding<N, Dim, QC::weight::dtype>;
  static constexpr bool needs_qconfig = true;

  /// The padding row needs nothing: in eval PyTorch's Embedding returns it like any other row.
  /// (PyTorch 1.13's nnq.Embedding.from_float cannot build a working 4-bit module; ctq's 4-bit
  /// module computes what PyTorch's quantized::embedding_4bit op computes.)
  template <class QC>
  static auto convert(const nn::Embedding<N, Dim, P>& m, const ConvertInfo&) {
    if constexpr (detail::embedding_qconfig_ok<QC>()) {
      return type_for<QC>(detail::quantize_embedding_weight<typename QC::weight>(m.weight));
    } else {
      return type{};
    }
  }
};

template <index_t N, index_t Dim, nn::bag_mode Mode, bool IncludeLastOffset, index_t P>
struct quantized_module<nn::EmbeddingBag<N, Dim, Mode, IncludeLastOffset, P>> {
  using Float = nn::EmbeddingBag<N, Dim, Mode, IncludeLastOffset, P>;
  /// The module for float_qparams_weight_only_qconfig; type_for<QC> is the one convert<QC> builds.
  using type = nn::quantized::EmbeddingBag<N, Dim, dtype::quint8, IncludeLastOffset>;
  template <class QC>
  using type_for = nn::quantized::EmbeddingBag<N, Dim, QC::weight::dtype, IncludeLastOffset>;
  static constexpr bool needs_qconfig = true;

  /// PyTorch's from_float drops mode, include_last_offset and padding_idx; its quantized bags
  /// always sum. ctq keeps include_last_offset (the quantized ops take it), refuses mean and max
  /// at compile time, and raises when the padding row is not zero (PyTorch's quantized bag adds
  /// that row; a zero row adds exactly nothing, and PyTorch's training keeps it zero).
  template <class QC>
  static auto convert(const Float& m, const ConvertInfo&) {
    static_assert(Mode == nn::bag_mode::sum,
                  "ctq: convert: a quantized EmbeddingBag only sums (PyTorch's quantized ops ignore mode); "
                  "quantize EmbeddingBags with mode sum");
    if constexpr (detail::embedding_qconfig_ok<QC>() && Mode == nn::bag_mode::sum) {
      if constexpr (Float::padding_idx >= 0) {
        const float* row = m.weight.data() + Float::padding_idx * Dim;
        if (!std::all_of(row, row + Dim, [](float v) { return v == 0.0f; })) {
          raise(ctq::detail::message()
                << "ctq: convert: EmbeddingBag's padding row " << Float::padding_idx
                << " is not zero; PyTorch's quantized EmbeddingBag has no padding_idx and would add that row "
                   "to its bags (zero it first)");
        }
      }
      return type_for<QC>(detail::quantize_embedding_weight<typename QC::weight>(m.weight));
    } else {
      return type{};
    }
  }
};

}  // namespace ctq
