// The dynamic mapping of the recurrent modules (PyTorch's DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS):
// nn::LSTM, GRU, RNNCell, LSTMCell, GRUCell -> nn::quantized::dynamic::LSTM, ... with qint8 weights
// (the qconfig's weight observer run on each weight matrix: per tensor, or per gate row with a
// per-channel observer) or float16 weights, biases kept in float (PyTorch's RNNBase.from_float /
// RNNCellBase.from_float). Like PyTorch, the mapping needs bias = true.
#pragma once

#include <vector>

#include "../../core/dtype.hpp"
#include "../../nn/quantized/dynamic/rnn.hpp"
#include "../../nn/rnn.hpp"
#include "../traits.hpp"

namespace ctq {

namespace detail {

template <class QC, bool Bias>
constexpr bool check_dynamic_rnn() {
  static_assert(Bias,
                "ctq: quantize_dynamic: PyTorch's dynamic LSTM, GRU and cells need bias = true (from_float asserts "
                "mod.bias)");
  static_assert(QC::weight::dtype == dtype::qint8 || QC::weight::dtype == dtype::float16,
                "ctq: quantize_dynamic: recurrent modules take qint8 or float16 weights (the qconfig's weight "
                "observer), as PyTorch's");
  return Bias && (QC::weight::dtype == dtype::qint8 || QC::weight::dtype == dtype::float16);
}

/// One set of dynamic weights from float ones: quantized by the qconfig's weight observer (qint8) or
/// kept in float for the module to round to float16.
template <class QC>
auto dynamic_rnn_weights(const Tensor<float, 2>& w_ih, const Tensor<float, 2>& w_hh, const Tensor<float, 1>& b_ih,
                         const Tensor<float, 1>& b_hh) {
  std::vector<float> bi(b_ih.values().begin(), b_ih.values().end());
  std::vector<float> bh(b_hh.values().begin(), b_hh.values().end());
  if constexpr (QC::weight::dtype == dtype::float16) {
    return nn::quantized::dynamic::RecurrentWeightsFp16{w_ih, w_hh, std::move(bi), std::move(bh)};
  } else {
    return nn::quantized::dynamic::RecurrentWeights{quantize_weight<typename QC::weight>(w_ih),
                                                    quantize_weight<typename QC::weight>(w_hh), std::move(bi),
                                                    std::move(bh)};
  }
}

/// A stacked LSTM / GRU: one weight set per (layer, direction), then the module for the dtype.
template <class Q, class QC, class F>
Q dynamic_stacked(const F& m, const DynamicConvertInfo& info) {
  std::vector<typename Q::weights_type> sets;
  for (std::size_t k = 0; k < m.weight_ih.size(); ++k) {
    sets.push_back(dynamic_rnn_weights<QC>(m.weight_ih[k], m.weight_hh[k], m.bias_ih[k], m.bias_hh[k]));
  }
  if constexpr (QC::weight::dtype == dtype::float16) {
    return Q(std::move(sets));
  } else {
    return Q(std::move(sets), info.engine, info.reduce_range);
  }
}

/// A cell: its one weight set, then the module for the dtype.
template <class Q, class QC, class F>
Q dynamic_cell(const F& m, const DynamicConvertInfo& info) {
  auto w = dynamic_rnn_weights<QC>(m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh);
  if constexpr (QC::weight::dtype == dtype::float16) {
    return Q(w);
  } else {
    return Q(w, info.engine, info.reduce_range);
  }
}

}  // namespace detail

template <index_t I, index_t H, index_t L, bool B, bool BF, bool Bi>
struct dynamic_kind_of<nn::LSTM<I, H, L, B, BF, Bi>> {
  using type = dynamic_kind::lstm;
};
template <index_t I, index_t H, index_t L, bool B, bool BF, bool Bi>
struct dynamic_kind_of<nn::GRU<I, H, L, B, BF, Bi>> {
  using type = dynamic_kind::gru;
};
template <index_t I, index_t H, bool B, nn::rnn_nonlinearity N>
struct dynamic_kind_of<nn::RNNCell<I, H, B, N>> {
  using type = dynamic_kind::rnn_cell;
};
template <index_t I, index_t H, bool B>
struct dynamic_kind_of<nn::LSTMCell<I, H, B>> {
  using type = dynamic_kind::lstm_cell;
};
template <index_t I, index_t H, bool B>
struct dynamic_kind_of<nn::GRUCell<I, H, B>> {
  using type = dynamic_kind::gru_cell;
};

template <index_t I, index_t H, index_t L, bool B, bool BF, bool Bi>
struct dynamic_quantized_module<nn::LSTM<I, H, L, B, BF, Bi>> {
  /// The module for qint8 weights; type_for<QC> is the one convert<QC> builds (float16 weights too).
  using type = nn::quantized::dynamic::LSTM<I, H, L, BF, Bi>;
  template <class QC>
  using type_for = nn::quantized::dynamic::LSTM<I, H, L, BF, Bi, QC::weight::dtype>;
  template <class QC>
  static auto convert(const nn::LSTM<I, H, L, B, BF, Bi>& m, const DynamicConvertInfo& info) {
    if constexpr (detail::check_dynamic_rnn<QC, B>()) {
      return detail::dynamic_stacked<type_for<QC>, QC>(m, info);
    } else {
      return type{};
    }
  }
};

template <index_t I, index_t H, index_t L, bool B, bool BF, bool Bi>
struct dynamic_quantized_module<nn::GRU<I, H, L, B, BF, Bi>> {
  using type = nn::quantized::dynamic::GRU<I, H, L, BF, Bi>;
  template <class QC>
  using type_for = nn::quantized::dynamic::GRU<I, H, L, BF, Bi, QC::weight::dtype>;
  template <class QC>
  static auto convert(const nn::GRU<I, H, L, B, BF, Bi>& m, const DynamicConvertInfo& info) {
    if constexpr (detail::check_dynamic_rnn<QC, B>()) {
      return detail::dynamic_stacked<type_for<QC>, QC>(m, info);
    } else {
      return type{};
    }
  }
};

template <index_t I, index_t H, bool B, nn::rnn_nonlinearity N>
struct dynamic_quantized_module<nn::RNNCell<I, H, B, N>> {
  using type = nn::quantized::dynamic::RNNCell<I, H, N>;
  template <class QC>
  using type_for = nn::quantized::dynamic::RNNCell<I, H, N, QC::weight::dtype>;
  template <class QC>
  static auto convert(const nn::RNNCell<I, H, B, N>& m, const DynamicConvertInfo& info) {
    if constexpr (detail::check_dynamic_rnn<QC, B>()) {
      return detail::dynamic_cell<type_for<QC>, QC>(m, info);
    } else {
      return type{};
    }
  }
};

template <index_t I, index_t H, bool B>
struct dynamic_quantized_module<nn::LSTMCell<I, H, B>> {
  using type = nn::quantized::dynamic::LSTMCell<I, H>;
  template <class QC>
  using type_for = nn::quantized::dynamic::LSTMCell<I, H, QC::weight::dtype>;
  template <class QC>
  static auto convert(const nn::LSTMCell<I, H, B>& m, const DynamicConvertInfo& info) {
    if constexpr (detail::check_dynamic_rnn<QC, B>()) {
      return detail::dynamic_cell<type_for<QC>, QC>(m, info);
    } else {
      return type{};
    }
  }
};

template <index_t I, index_t H, bool B>
struct dynamic_quantized_module<nn::GRUCell<I, H, B>> {
  using type = nn::quantized::dynamic::GRUCell<I, H>;
  template <class QC>
  using type_for = nn::quantized::dynamic::GRUCell<I, H, QC::weight::dtype>;
  template <class QC>
  static auto convert(const nn::GRUCell<I, H, B>& m, const DynamicConvertInfo& info) {
    if constexpr (detail::check_dynamic_rnn<QC, B>()) {
      return detail::dynamic_cell<type_for<QC>, QC>(m, info);
    } else {
      return type{};
    }
  }
};

}  // namespace ctq
