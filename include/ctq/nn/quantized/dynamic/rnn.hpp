// nn::quantized::dynamic::LSTM, GRU, RNNCell, LSTMCell, GRUCell: float in, float out; every gate
// projection a dynamic Linear (qint8 weights, the input quantized per call) or a float16-weight
// Linear, the rest of the cell in float (PyTorch 1.13's nnqd recurrent modules, which run
// aten::quantized_lstm / quantized_gru and quantized::quantized_*_cell_dynamic).
//
// Per layer and direction, PyTorch projects the whole input sequence at once (one dynamic
// quantization over all T * N rows: its scale comes from the whole sequence), then per step the
// hidden state h [N, H] (one quantization per step). Both projections carry their bias. The cell
// arithmetic is nn::LSTM's, with PyTorch's AVX2 kernels' rounding: sigmoid is 1 / (1 + exp(-x))
// with Sleef's expf on the first 16 * floor(H / 16) values of each gate row and the C library's
// expf on the rest (ATen's vector body and scalar tail); tanh is Sleef's tanhf_u10 everywhere.
// Modules built by quantize_dynamic pass reduce_range = true, as PyTorch's do (qnnpack ignores it).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../../core/detail/fp.hpp"
#include "../../../core/dtype.hpp"
#include "../../../core/error.hpp"
#include "../../../core/tensor.hpp"
#include "../../../kernels/torch_numerics.hpp"
#include "../../module.hpp"
#include "../../rnn.hpp"
#include "../engine.hpp"
#include "linear.hpp"
#include "torch_math.hpp"

namespace ctq::nn::quantized::dynamic {

/// The qint8 weights of one cell, or of one layer and direction: weight_ih [G * H][in] and
/// weight_hh [G * H][H] as convert quantizes them (per tensor or per gate row), float biases
/// [G * H] (G = 4 for LSTM, 3 for GRU, 1 for RNNCell; PyTorch's gate order).
struct RecurrentWeights {
  QuantizedWeight weight_ih, weight_hh;
  std::vector<float> bias_ih, bias_hh;
};

/// The same for float16 weights: float tensors, rounded to float16 by the module.
struct RecurrentWeightsFp16 {
  Tensor<float, 2> weight_ih, weight_hh;
  std::vector<float> bias_ih, bias_hh;
};

namespace detail {

// --- the projections --------------------------------------------------------------------------

template <dtype W>
constexpr bool check_weight_dtype() {
  static_assert(W == dtype::qint8 || W == dtype::float16,
                "ctq: nn::quantized::dynamic: recurrent modules take qint8 or float16 weights (as PyTorch's)");
  return true;
}

template <dtype W>
using weights_t = std::conditional_t<W == dtype::float16, RecurrentWeightsFp16, RecurrentWeights>;
template <dtype W>
using core_t = std::conditional_t<W == dtype::float16, Fp16LinearCore, DynamicLinearCore>;

/// A projection as the recurrence calls it.
template <class Core>
nn::detail::GateLinear gate_ref(Core& c) {
  return {&c,
          [](void* self, const float* x, index_t rows, float* y) { static_cast<Core*>(self)->forward(x, rows, y); }};
}

inline void check_bias(std::string_view op, std::string_view which, const std::vector<float>& b, index_t rows) {
  if (!b.empty() && static_cast<index_t>(b.size()) != rows) {
    raise(ctq::detail::message() << "ctq: " << op << ": " << which << " has " << b.size() << " values, expected "
                                 << rows << " (gates x hidden_size)");
  }
}

/// The two projections of one cell (or layer and direction): in -> G * H and H -> G * H.
template <dtype W>
struct Projections {
  core_t<W> ih, hh;

  Projections() = default;
  Projections(std::string_view op, const weights_t<W>& w, index_t in, index_t hidden, index_t gates,
              const EngineConfig& engine, bool reduce_range) {
    const index_t rows = gates * hidden;
    check_bias(op, "bias_ih", w.bias_ih, rows);
    check_bias(op, "bias_hh", w.bias_hh, rows);
    if constexpr (W == dtype::float16) {
      (void)engine;
      (void)reduce_range;
      check_shape(op, "weight_ih", w.weight_ih.dim(0), w.weight_ih.dim(1), rows, in);
      check_shape(op, "weight_hh", w.weight_hh.dim(0), w.weight_hh.dim(1), rows, hidden);
      ih = Fp16LinearCore(w.weight_ih.data(), w.bias_ih, in, rows, false);
      hh = Fp16LinearCore(w.weight_hh.data(), w.bias_hh, hidden, rows, false);
    } else {
      check_count(op, "weight_ih", w.weight_ih.values.size(), rows, in);
      check_count(op, "weight_hh", w.weight_hh.values.size(), rows, hidden);
      ih = DynamicLinearCore(w.weight_ih, w.bias_ih, in, rows, engine, reduce_range, false);
      hh = DynamicLinearCore(w.weight_hh, w.bias_hh, hidden, rows, engine, reduce_range, false);
    }
  }

  static void check_shape(std::string_view op, std::string_view which, index_t r, index_t c, index_t rows,
                          index_t cols) {
    if (r != rows || c != cols) {
      raise(ctq::detail::message() << "ctq: " << op << ": " << which << " is " << r << " x " << c << ", expected "
                                   << rows << " x " << cols << " (gates x hidden_size, input features)");
    }
  }
  static void check_count(std::string_view op, std::string_view which, std::size_t n, index_t rows, index_t cols) {
    if (static_cast<index_t>(n) != rows * cols) {
      raise(ctq::detail::message() << "ctq: " << op << ": " << which << " has " << n << " values, expected " << rows
                                   << " x " << cols << " (gates x hidden_size, input features)");
    }
  }
};

template <dtype W>
constexpr std::string_view weight_kind() {
  return W == dtype::float16 ? "float16" : "dynamic quantized";
}

/// A stacked LSTM or GRU with dynamic projections (the body of dynamic::LSTM and dynamic::GRU).
template <nn::detail::rnn_cell_kind Kind, index_t In, index_t Hidden, index_t Layers, bool BatchFirst,
          bool Bidirectional, dtype W>
class DynamicRecurrent : public ctq::detail::rejects_quantized {
  static_assert(check_weight_dtype<W>());
  static_assert(nn::detail::check_recurrent_sizes<In, Hidden, Layers>());

 public:
  static constexpr index_t input_size = In, hidden_size = Hidden, num_layers = Layers;
  static constexpr bool batch_first = BatchFirst, bidirectional = Bidirectional;
  static constexpr dtype weight_dtype = W;
  static constexpr index_t directions = Bidirectional ? 2 : 1;
  static constexpr index_t count = Layers * directions;
  static constexpr index_t gates = nn::detail::gate_count(Kind);
  using weights_type = weights_t<W>;

  DynamicRecurrent() = default;

  /// One (layer, direction) at index layer * directions + d (d = 1: "_reverse"), PyTorch's order.
  const core_t<W>& projection_ih(index_t layer, bool reverse = false) const { return at(layer, reverse).ih; }
  const core_t<W>& projection_hh(index_t layer, bool reverse = false) const { return at(layer, reverse).hh; }

  /// Bytes of parameters: int8 (or float16) weights, scales, zero points, float biases.
  std::size_t parameter_bytes() const {
    std::size_t n = 0;
    for (const auto& p : proj_) n += p.ih.parameter_bytes() + p.hh.parameter_bytes();
    return n;
  }

 protected:
  DynamicRecurrent(std::string_view op, std::vector<weights_type> weights, const EngineConfig& engine,
                   bool reduce_range) {
    if (static_cast<index_t>(weights.size()) != count) {
      raise(ctq::detail::message() << "ctq: " << op << ": " << weights.size() << " weight sets given, the module needs "
                                   << count << " (num_layers x directions, layer-major, forward first)");
    }
    for (index_t k = 0; k < count; ++k) {
      const index_t layer_in = k < directions ? In : directions * Hidden;
      proj_[static_cast<std::size_t>(k)] =
          Projections<W>(op, weights[static_cast<std::size_t>(k)], layer_in, Hidden, gates, engine, reduce_range);
    }
    built_ = true;
  }

  /// The forward pass: x [T, N, In] (batch_first: [N, T, In]); h0, c0 null for zeros.
  void run(std::string_view op, const Tensor<float, 3>& x, const Tensor<float, 3>* h0, const Tensor<float, 3>* c0,
           Tensor<float, 3>& out, Tensor<float, 3>& h_n, Tensor<float, 3>* c_n) {
    if (!built_) raise(ctq::detail::message() << "ctq: " << op << ": the module has no weights (default-constructed)");
    const auto [steps, batch] = nn::detail::check_sequence(op, x.shape(), In, BatchFirst);
    if (h0 != nullptr) nn::detail::check_state(op, "h_0", h0->shape(), count, batch, Hidden);
    if (c0 != nullptr) nn::detail::check_state(op, "c_0", c0->shape(), count, batch, Hidden);
    std::array<nn::detail::GateLinear, count> ih{}, hh{};
    for (std::size_t k = 0; k < static_cast<std::size_t>(count); ++k) {
      ih[k] = gate_ref(proj_[k].ih);
      hh[k] = gate_ref(proj_[k].hh);
    }
    auto out_shape = x.shape();
    out_shape[2] = directions * Hidden;
    out = Tensor<float, 3>(out_shape);
    h_n = Tensor<float, 3>({count, batch, Hidden});
    if (c_n != nullptr) *c_n = Tensor<float, 3>({count, batch, Hidden});
    nn::detail::rnn_forward(Kind, torch_math, {In, Hidden, Layers, Bidirectional, BatchFirst}, ih.data(), hh.data(),
                            x.data(), steps, batch, h0 ? h0->data() : nullptr, c0 ? c0->data() : nullptr, out.data(),
                            h_n.data(), c_n ? c_n->data() : nullptr, scratch_);
  }

 private:
  const Projections<W>& at(index_t layer, bool reverse) const {
    if (layer < 0 || layer >= Layers || (reverse && !Bidirectional)) {
      raise(ctq::detail::message() << "ctq: nn::quantized::dynamic: no projection for layer " << layer
                                   << (reverse ? " (reverse)" : ""));
    }
    return proj_[static_cast<std::size_t>(layer * directions + (reverse ? 1 : 0))];
  }

  std::array<Projections<W>, count> proj_{};
  nn::detail::RecurrentScratch scratch_;
  bool built_ = false;
};

/// A cell with dynamic projections (the body of the dynamic cells).
template <nn::detail::rnn_cell_kind Kind, index_t In, index_t Hidden, dtype W>
class DynamicCell : public ctq::detail::rejects_quantized {
  static_assert(check_weight_dtype<W>());
  static_assert(nn::detail::check_recurrent_sizes<In, Hidden, 1>());

 public:
  static constexpr index_t input_size = In, hidden_size = Hidden;
  static constexpr dtype weight_dtype = W;
  static constexpr index_t gates = nn::detail::gate_count(Kind);
  using weights_type = weights_t<W>;

  DynamicCell() = default;

  const core_t<W>& projection_ih() const { return proj_.ih; }
  const core_t<W>& projection_hh() const { return proj_.hh; }
  std::size_t parameter_bytes() const { return proj_.ih.parameter_bytes() + proj_.hh.parameter_bytes(); }

 protected:
  DynamicCell(std::string_view op, const weights_type& w, const EngineConfig& engine, bool reduce_range)
      : proj_(op, w, In, Hidden, gates, engine, reduce_range), built_(true) {}

  void step(std::string_view op, const Tensor<float, 2>& x, const Tensor<float, 2>* h0, const Tensor<float, 2>* c0,
            Tensor<float, 2>& h1, Tensor<float, 2>* c1) {
    if (!built_) raise(ctq::detail::message() << "ctq: " << op << ": the cell has no weights (default-constructed)");
    nn::detail::check_cell_input(op, x.shape(), In);
    const index_t batch = x.dim(0);
    if (h0 != nullptr) nn::detail::check_cell_state(op, c1 != nullptr ? "h_0" : "hx", h0->shape(), batch, Hidden);
    if (c0 != nullptr) nn::detail::check_cell_state(op, "c_0", c0->shape(), batch, Hidden);
    zeros_.assign(static_cast<std::size_t>(batch * Hidden), 0.0f);
    h1 = Tensor<float, 2>({batch, Hidden});
    if (c1 != nullptr) *c1 = Tensor<float, 2>({batch, Hidden});
    nn::detail::cell_forward(Kind, torch_math, gate_ref(proj_.ih), gate_ref(proj_.hh), x.data(), batch, Hidden,
                             h0 != nullptr ? h0->data() : zeros_.data(),
                             c1 == nullptr ? nullptr : (c0 != nullptr ? c0->data() : zeros_.data()), h1.data(),
                             c1 != nullptr ? c1->data() : nullptr, scratch_);
  }

 private:
  Projections<W> proj_{};
  bool built_ = false;
  std::vector<float> zeros_;
  nn::detail::RecurrentScratch scratch_;
};

}  // namespace detail

/// PyTorch's nnqd.LSTM: nn::LSTM's computation with dynamic projections. W = qint8 (construct
/// with the quantized weights, the engine and reduce_range) or float16 (with float weights).
/// weights: NumLayers * directions sets, layer-major, forward before reverse.
template <index_t InputSize, index_t HiddenSize, index_t NumLayers = 1, bool BatchFirst = false,
          bool Bidirectional = false, dtype W = dtype::qint8>
class LSTM : public detail::DynamicRecurrent<nn::detail::rnn_cell_kind::lstm, InputSize, HiddenSize, NumLayers,
                                             BatchFirst, Bidirectional, W> {
  using Base = detail::DynamicRecurrent<nn::detail::rnn_cell_kind::lstm, InputSize, HiddenSize, NumLayers, BatchFirst,
                                        Bidirectional, W>;
  static constexpr std::string_view op =
      W == dtype::float16 ? "nn::quantized::dynamic::LSTM (float16)" : "nn::quantized::dynamic::LSTM";

 public:
  static constexpr std::string_view name = W == dtype::float16 ? "LSTM (dynamic float16)" : "LSTM (dynamic quantized)";
  using weights_type = typename Base::weights_type;

  LSTM() = default;
  LSTM(std::vector<weights_type> weights, EngineConfig engine, bool reduce_range = true)
  requires(W == dtype::qint8) : Base(op, std::move(weights), engine, reduce_range) {}
  explicit LSTM(std::vector<weights_type> weights) requires(W == dtype::float16)
      : Base(op, std::move(weights), EngineConfig{}, false) {}

  using ctq::detail::rejects_quantized::operator();
  LSTMOutput operator()(const Tensor<float, 3>& x) { return forward(x, nullptr); }
  LSTMOutput operator()(const Tensor<float, 3>& x, const LSTMState<3>& hx) { return forward(x, &hx); }

 private:
  LSTMOutput forward(const Tensor<float, 3>& x, const LSTMState<3>* hx) {
    LSTMOutput r;
    this->run(op, x, hx ? &hx->h : nullptr, hx ? &hx->c : nullptr, r.output, r.hidden.h, &r.hidden.c);
    return r;
  }
};

/// PyTorch's nnqd.GRU: nn::GRU's computation with dynamic projections (see dynamic::LSTM).
template <index_t InputSize, index_t HiddenSize, index_t NumLayers = 1, bool BatchFirst = false,
          bool Bidirectional = false, dtype W = dtype::qint8>
class GRU : public detail::DynamicRecurrent<nn::detail::rnn_cell_kind::gru, InputSize, HiddenSize, NumLayers,
                                            BatchFirst, Bidirectional, W> {
  using Base = detail::DynamicRecurrent<nn::detail::rnn_cell_kind::gru, InputSize, HiddenSize, NumLayers, BatchFirst,
                                        Bidirectional, W>;
  static constexpr std::string_view op =
      W == dtype::float16 ? "nn::quantized::dynamic::GRU (float16)" : "nn::quantized::dynamic::GRU";

 public:
  static constexpr std::string_view name = W == dtype::float16 ? "GRU (dynamic float16)" : "GRU (dynamic quantized)";
  using weights_type = typename Base::weights_type;

  GRU() = default;
  GRU(std::vector<weights_type> weights, EngineConfig engine, bool reduce_range = true)
  requires(W == dtype::qint8) : Base(op, std::move(weights), engine, reduce_range) {}
  explicit GRU(std::vector<weights_type> weights) requires(W == dtype::float16)
      : Base(op, std::move(weights), EngineConfig{}, false) {}

  using ctq::detail::rejects_quantized::operator();
  GRUOutput operator()(const Tensor<float, 3>& x) { return forward(x, nullptr); }
  GRUOutput operator()(const Tensor<float, 3>& x, const Tensor<float, 3>& h0) { return forward(x, &h0); }

 private:
  GRUOutput forward(const Tensor<float, 3>& x, const Tensor<float, 3>* h0) {
    GRUOutput r;
    this->run(op, x, h0, nullptr, r.output, r.h_n, nullptr);
    return r;
  }
};

/// PyTorch's nnqd.RNNCell (quantized_rnn_tanh_cell_dynamic / _relu_): x [N, In], h [N, Hidden].
template <index_t In, index_t Hidden, rnn_nonlinearity Nonlinearity = rnn_nonlinearity::tanh, dtype W = dtype::qint8>
class RNNCell : public detail::DynamicCell<Nonlinearity == rnn_nonlinearity::tanh ? nn::detail::rnn_cell_kind::rnn_tanh
                                                                                  : nn::detail::rnn_cell_kind::rnn_relu,
                                           In, Hidden, W> {
  using Base = detail::DynamicCell<Nonlinearity == rnn_nonlinearity::tanh ? nn::detail::rnn_cell_kind::rnn_tanh
                                                                          : nn::detail::rnn_cell_kind::rnn_relu,
                                   In, Hidden, W>;
  static constexpr std::string_view op = "nn::quantized::dynamic::RNNCell";

 public:
  static constexpr std::string_view name =
      W == dtype::float16 ? "RNNCell (dynamic float16)" : "RNNCell (dynamic quantized)";
  static constexpr rnn_nonlinearity nonlinearity = Nonlinearity;
  using weights_type = typename Base::weights_type;

  RNNCell() = default;
  RNNCell(const weights_type& w, EngineConfig engine, bool reduce_range = true) requires(W == dtype::qint8)
      : Base(op, w, engine, reduce_range) {}
  explicit RNNCell(const weights_type& w) requires(W == dtype::float16) : Base(op, w, EngineConfig{}, false) {}

  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 2> operator()(const Tensor<float, 2>& x) { return forward(x, nullptr); }
  Tensor<float, 2> operator()(const Tensor<float, 2>& x, const Tensor<float, 2>& h) { return forward(x, &h); }

 private:
  Tensor<float, 2> forward(const Tensor<float, 2>& x, const Tensor<float, 2>* h) {
    Tensor<float, 2> h1;
    this->step(op, x, h, nullptr, h1, nullptr);
    return h1;
  }
};

/// PyTorch's nnqd.LSTMCell (quantized_lstm_cell_dynamic): x [N, In], (h, c) [N, Hidden].
template <index_t In, index_t Hidden, dtype W = dtype::qint8>
class LSTMCell : public detail::DynamicCell<nn::detail::rnn_cell_kind::lstm, In, Hidden, W> {
  using Base = detail::DynamicCell<nn::detail::rnn_cell_kind::lstm, In, Hidden, W>;
  static constexpr std::string_view op = "nn::quantized::dynamic::LSTMCell";

 public:
  static constexpr std::string_view name =
      W == dtype::float16 ? "LSTMCell (dynamic float16)" : "LSTMCell (dynamic quantized)";
  using weights_type = typename Base::weights_type;

  LSTMCell() = default;
  LSTMCell(const weights_type& w, EngineConfig engine, bool reduce_range = true) requires(W == dtype::qint8)
      : Base(op, w, engine, reduce_range) {}
  explicit LSTMCell(const weights_type& w) requires(W == dtype::float16) : Base(op, w, EngineConfig{}, false) {}

  using ctq::detail::rejects_quantized::operator();
  LSTMState<2> operator()(const Tensor<float, 2>& x) { return forward(x, nullptr); }
  LSTMState<2> operator()(const Tensor<float, 2>& x, const LSTMState<2>& hc) { return forward(x, &hc); }

 private:
  LSTMState<2> forward(const Tensor<float, 2>& x, const LSTMState<2>* hc) {
    LSTMState<2> r;
    this->step(op, x, hc ? &hc->h : nullptr, hc ? &hc->c : nullptr, r.h, &r.c);
    return r;
  }
};

/// PyTorch's nnqd.GRUCell (quantized_gru_cell_dynamic): x [N, In], h [N, Hidden].
template <index_t In, index_t Hidden, dtype W = dtype::qint8>
class GRUCell : public detail::DynamicCell<nn::detail::rnn_cell_kind::gru, In, Hidden, W> {
  using Base = detail::DynamicCell<nn::detail::rnn_cell_kind::gru, In, Hidden, W>;
  static constexpr std::string_view op = "nn::quantized::dynamic::GRUCell";

 public:
  static constexpr std::string_view name =
      W == dtype::float16 ? "GRUCell (dynamic float16)" : "GRUCell (dynamic quantized)";
  using weights_type = typename Base::weights_type;

  GRUCell() = default;
  GRUCell(const weights_type& w, EngineConfig engine, bool reduce_range = true) requires(W == dtype::qint8)
      : Base(op, w, engine, reduce_range) {}
  explicit GRUCell(const weights_type& w) requires(W == dtype::float16) : Base(op, w, EngineConfig{}, false) {}

  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 2> operator()(const Tensor<float, 2>& x) { return forward(x, nullptr); }
  Tensor<float, 2> operator()(const Tensor<float, 2>& x, const Tensor<float, 2>& h) { return forward(x, &h); }

 private:
  Tensor<float, 2> forward(const Tensor<float, 2>& x, const Tensor<float, 2>* h) {
    Tensor<float, 2> h1;
    this->step(op, x, h, nullptr, h1, nullptr);
    return h1;
  }
};

}  // namespace ctq::nn::quantized::dynamic
