// Recurrent layers: nn::LSTM and nn::GRU (stacked, bidirectional, batch_first) and the cells
// nn::RNNCell, nn::LSTMCell, nn::GRUCell, as PyTorch's torch.nn modules compute them in eval (no
// dropout between layers, no proj_size), with PyTorch's gate order, state_dict names and
// initialisation. Float math through Eigen.
//
// Results mirror PyTorch's tuples:
//   auto [output, hidden] = lstm(x);        // output, (h_n, c_n) = lstm(x)
//   auto next = lstm(x2, hidden);           // hidden.h, hidden.c: [layers * directions, N, H]
//   auto [output, h_n] = gru(x, h0);
//   auto [h1, c1] = lstm_cell(x, {h0, c0});  // LSTMCell; RNNCell and GRUCell return h1
//
// In nn::Sequential a module's result goes unchanged to the next child, as in PyTorch: after an
// LSTM or a GRU the next child receives the whole result (LSTMOutput / GRUOutput). Put
// nn::TakeOutput (the output sequence) or nn::TakeHidden (h_n, or h of an LSTMCell's state) after
// it to continue with a tensor; RNNCell and GRUCell return a tensor and chain directly.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "../core/detail/fp.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "init.hpp"
#include "linear.hpp"
#include "module.hpp"

namespace ctq::nn {

/// The nonlinearity of an Elman RNNCell (PyTorch's nonlinearity='tanh' / 'relu').
enum class rnn_nonlinearity : std::uint8_t { tanh, relu };

/// (h, c) of an LSTM: [layers * directions, N, H] for nn::LSTM (R = 3), [N, H] for nn::LSTMCell (R = 2).
template <int R>
struct LSTMState {
  Tensor<float, R> h;
  Tensor<float, R> c;
};

/// What nn::LSTM returns: output [T, N, directions * H] ([N, T, ...] with batch_first) and (h_n, c_n).
struct LSTMOutput {
  Tensor<float, 3> output;
  LSTMState<3> hidden;
};

/// What nn::GRU returns: output [T, N, directions * H] ([N, T, ...] with batch_first) and h_n.
struct GRUOutput {
  Tensor<float, 3> output;
  Tensor<float, 3> h_n;
};

/// The output sequence of an LSTM or GRU result (PyTorch's `output, _ = rnn(x)`), for Sequential.
struct TakeOutput {
  static constexpr std::string_view name = "TakeOutput";
  Tensor<float, 3> operator()(const LSTMOutput& r) const { return r.output; }
  Tensor<float, 3> operator()(const GRUOutput& r) const { return r.output; }
};

/// The final hidden state: h_n of an LSTM or GRU result, h of an LSTMCell's (h, c).
struct TakeHidden {
  static constexpr std::string_view name = "TakeHidden";
  Tensor<float, 3> operator()(const LSTMOutput& r) const { return r.hidden.h; }
  Tensor<float, 3> operator()(const GRUOutput& r) const { return r.h_n; }
  Tensor<float, 2> operator()(const LSTMState<2>& s) const { return s.h; }
};

namespace detail {

/// The recurrence a cell computes; gates per step: 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n), 1.
enum class rnn_cell_kind : std::uint8_t { lstm, gru, rnn_tanh, rnn_relu };

constexpr index_t gate_count(rnn_cell_kind k) {
  return k == rnn_cell_kind::lstm ? 4 : (k == rnn_cell_kind::gru ? 3 : 1);
}

/// y[rows][gates * H] = x[rows][in] W^T + b: one of a direction's two projections, float (Eigen)
/// or dynamically quantized. A pointer to the projection and a function calling it, so the
/// recurrence below is one non-template function for every layer type.
struct GateLinear {
  void* self = nullptr;
  void (*run)(void* self, const float* x, index_t rows, float* y) = nullptr;
  void operator()(const float* x, index_t rows, float* y) const { run(self, x, rows, y); }
};

/// The elementwise functions of the cells, in place over n contiguous values (one gate of one
/// batch row). The float modules use the C library; the dynamic modules PyTorch's AVX2 arithmetic.
struct RecurrentMath {
  void (*sigmoid)(float* p, index_t n);
  void (*tanh)(float* p, index_t n);
};

inline void std_sigmoid(float* p, index_t n) {
  for (index_t i = 0; i < n; ++i) p[i] = 1.0f / (1.0f + std::exp(-p[i]));
}
inline void std_tanh(float* p, index_t n) {
  for (index_t i = 0; i < n; ++i) p[i] = std::tanh(p[i]);
}
inline constexpr RecurrentMath std_math{&std_sigmoid, &std_tanh};

/// A float projection: y = x W^T (+ b), W [out][in] as PyTorch stores it.
struct FloatGateLinear {
  const float* weight;
  const float* bias;  // null: no bias
  index_t in, out;
  static void call(void* self, const float* x, index_t rows, float* y) {
    const auto& l = *static_cast<const FloatGateLinear*>(self);
    linear_forward(x, rows, l.in, l.out, l.weight, l.bias, y);
  }
  GateLinear ref() { return {this, &call}; }
};

/// Buffers of a recurrent forward pass, reused across calls.
struct RecurrentScratch {
  std::vector<float> input_gates, hidden_gates, h, c, tmp, layer_in, layer_out, next, zeros;
};

/// One step of a cell over `batch` rows, PyTorch's order of operations (each tensor op rounds):
///   ig: input projection with b_ih, hg: hidden projection with b_hh (overwritten), both
///   [batch][G * H]; h, c: state in, h_out, c_out: state out ([batch][H]; c only for LSTM).
///   LSTM: gates = hg + ig; i, f, o = sigmoid, g = tanh; c' = f * c + i * g; h' = o * tanh(c')
///   GRU:  r = sigmoid(hg_r + ig_r), z = sigmoid(hg_z + ig_z), n = tanh(ig_n + hg_n * r),
///         h' = (h - n) * z + n
///   RNN:  h' = tanh(hg + ig) or relu(hg + ig)
inline void cell_step(rnn_cell_kind kind, const RecurrentMath& math, index_t batch, index_t hidden, const float* ig,
                      float* hg, const float* h, const float* c, float* h_out, float* c_out, float* tmp) {
  using ctq::detail::no_contract;
  const index_t H = hidden, G = gate_count(kind);
  for (index_t b = 0; b < batch; ++b) {
    const float* gi = ig + b * G * H;
    float* g = hg + b * G * H;
    const float* hp = h + b * H;
    float* ho = h_out + b * H;
    switch (kind) {
      case rnn_cell_kind::lstm: {
        for (index_t j = 0; j < 4 * H; ++j) g[j] = g[j] + gi[j];
        math.sigmoid(g, H);
        math.sigmoid(g + H, H);
        math.tanh(g + 2 * H, H);
        math.sigmoid(g + 3 * H, H);
        const float* cp = c + b * H;
        float* co = c_out + b * H;
        for (index_t j = 0; j < H; ++j) co[j] = no_contract(g[H + j] * cp[j]) + no_contract(g[j] * g[2 * H + j]);
        std::copy(co, co + H, tmp);
        math.tanh(tmp, H);
        for (index_t j = 0; j < H; ++j) ho[j] = g[3 * H + j] * tmp[j];
        break;
      }
      case rnn_cell_kind::gru: {
        for (index_t j = 0; j < 2 * H; ++j) g[j] = g[j] + gi[j];
        math.sigmoid(g, H);
        math.sigmoid(g + H, H);
        for (index_t j = 0; j < H; ++j) tmp[j] = gi[2 * H + j] + no_contract(g[2 * H + j] * g[j]);
        math.tanh(tmp, H);
        for (index_t j = 0; j < H; ++j) ho[j] = no_contract((hp[j] - tmp[j]) * g[H + j]) + tmp[j];
        break;
      }
      case rnn_cell_kind::rnn_tanh:
        for (index_t j = 0; j < H; ++j) ho[j] = g[j] + gi[j];
        math.tanh(ho, H);
        break;
      case rnn_cell_kind::rnn_relu:
        for (index_t j = 0; j < H; ++j) {
          const float v = g[j] + gi[j];
          ho[j] = v < 0.0f ? 0.0f : v;  // NaN and -0 pass, as ATen's relu
        }
        break;
    }
  }
}

/// One cell application (nn::*Cell): both projections, then cell_step. c, c_out only for LSTM.
inline void cell_forward(rnn_cell_kind kind, const RecurrentMath& math, const GateLinear& ih, const GateLinear& hh,
                         const float* x, index_t batch, index_t hidden, const float* h, const float* c, float* h_out,
                         float* c_out, RecurrentScratch& s) {
  const index_t gh = gate_count(kind) * hidden;
  s.input_gates.resize(static_cast<std::size_t>(batch * gh));
  s.hidden_gates.resize(static_cast<std::size_t>(batch * gh));
  s.tmp.resize(static_cast<std::size_t>(hidden));
  ih(x, batch, s.input_gates.data());
  hh(h, batch, s.hidden_gates.data());
  cell_step(kind, math, batch, hidden, s.input_gates.data(), s.hidden_gates.data(), h, c, h_out, c_out, s.tmp.data());
}

/// One direction of one layer over a time-major sequence x [steps][batch][in]: the input
/// projection of every step at once (as PyTorch does on CPU), then the recurrence. Writes h of
/// step t to out + t * batch * out_stride (row stride out_stride), the final state to h_n, c_n.
inline void rnn_direction(rnn_cell_kind kind, const RecurrentMath& math, const GateLinear& ih, const GateLinear& hh,
                          const float* x, index_t steps, index_t batch, index_t hidden, bool reverse, const float* h0,
                          const float* c0, float* out, index_t out_stride, float* h_n, float* c_n,
                          RecurrentScratch& s) {
  const index_t gh = gate_count(kind) * hidden, bh = batch * hidden;
  const bool lstm = kind == rnn_cell_kind::lstm;
  s.input_gates.resize(static_cast<std::size_t>(steps * batch * gh));
  s.hidden_gates.resize(static_cast<std::size_t>(batch * gh));
  s.h.resize(static_cast<std::size_t>(2 * bh));
  s.c.resize(static_cast<std::size_t>(lstm ? 2 * bh : 0));
  s.tmp.resize(static_cast<std::size_t>(hidden));
  ih(x, steps * batch, s.input_gates.data());
  float* h_cur = s.h.data();
  float* h_next = s.h.data() + bh;
  float* c_cur = lstm ? s.c.data() : nullptr;
  float* c_next = lstm ? s.c.data() + bh : nullptr;
  std::copy(h0, h0 + bh, h_cur);
  if (lstm) std::copy(c0, c0 + bh, c_cur);
  for (index_t k = 0; k < steps; ++k) {
    const index_t t = reverse ? steps - 1 - k : k;
    hh(h_cur, batch, s.hidden_gates.data());
    cell_step(kind, math, batch, hidden, s.input_gates.data() + t * batch * gh, s.hidden_gates.data(), h_cur, c_cur,
              h_next, c_next, s.tmp.data());
    std::swap(h_cur, h_next);
    std::swap(c_cur, c_next);
    for (index_t b = 0; b < batch; ++b) {
      std::copy(h_cur + b * hidden, h_cur + (b + 1) * hidden, out + (t * batch + b) * out_stride);
    }
  }
  std::copy(h_cur, h_cur + bh, h_n);
  if (lstm) std::copy(c_cur, c_cur + bh, c_n);
}

/// The sizes of a stacked recurrent layer.
struct RecurrentShape {
  index_t input_size, hidden_size, layers;
  bool bidirectional, batch_first;
  index_t directions() const { return bidirectional ? 2 : 1; }
};

/// Layers x directions over x ([T, N, I] or, batch_first, [N, T, I]); ih and hh hold one
/// projection per (layer, direction), PyTorch's order (layer-major, forward first). h0, c0:
/// [layers * directions][N][H] or null for zeros; out: as x with directions * H features.
inline void rnn_forward(rnn_cell_kind kind, const RecurrentMath& math, const RecurrentShape& shape,
                        const GateLinear* ih, const GateLinear* hh, const float* x, index_t steps, index_t batch,
                        const float* h0, const float* c0, float* out, float* h_n, float* c_n, RecurrentScratch& s) {
  const index_t H = shape.hidden_size, D = shape.directions(), bh = batch * H;
  const bool lstm = kind == rnn_cell_kind::lstm;
  if (h0 == nullptr || (lstm && c0 == nullptr)) s.zeros.assign(static_cast<std::size_t>(shape.layers * D * bh), 0.0f);
  if (h0 == nullptr) h0 = s.zeros.data();
  if (lstm && c0 == nullptr) c0 = s.zeros.data();
  // Time-major copies: PyTorch transposes a batch_first input, runs, and transposes back.
  auto to_time_major = [&](const float* src, index_t features, std::vector<float>& dst) {
    dst.resize(static_cast<std::size_t>(steps * batch * features));
    for (index_t b = 0; b < batch; ++b) {
      for (index_t t = 0; t < steps; ++t) {
        std::copy(src + (b * steps + t) * features, src + (b * steps + t + 1) * features,
                  dst.data() + (t * batch + b) * features);
      }
    }
  };
  const float* layer_x = x;
  if (shape.batch_first) {
    to_time_major(x, shape.input_size, s.layer_in);
    layer_x = s.layer_in.data();
  }
  const index_t out_features = D * H;
  for (index_t l = 0; l < shape.layers; ++l) {
    const bool last = l + 1 == shape.layers;
    float* layer_out = nullptr;
    if (last && !shape.batch_first) {
      layer_out = out;
    } else {
      s.layer_out.resize(static_cast<std::size_t>(steps * batch * out_features));
      layer_out = s.layer_out.data();
    }
    for (index_t d = 0; d < D; ++d) {
      const index_t k = l * D + d;
      rnn_direction(kind, math, ih[k], hh[k], layer_x, steps, batch, H, d == 1, h0 + k * bh,
                    lstm ? c0 + k * bh : nullptr, layer_out + d * H, out_features, h_n + k * bh,
                    lstm ? c_n + k * bh : nullptr, s);
    }
    if (!last) {
      s.next.assign(s.layer_out.begin(), s.layer_out.end());
      layer_x = s.next.data();
    }
  }
  if (shape.batch_first) {
    for (index_t t = 0; t < steps; ++t) {
      for (index_t b = 0; b < batch; ++b) {
        std::copy(s.layer_out.data() + (t * batch + b) * out_features,
                  s.layer_out.data() + (t * batch + b + 1) * out_features, out + (b * steps + t) * out_features);
      }
    }
  }
}

/// Checks a sequence input and returns (steps, batch).
inline std::array<index_t, 2> check_sequence(std::string_view op, const Shape<3>& x, index_t input_size,
                                             bool batch_first) {
  if (x[2] != input_size) {
    raise(ctq::detail::message() << "ctq: " << op << ": the input's last dimension is " << x[2]
                                 << ", the layer has input_size " << input_size);
  }
  const index_t steps = batch_first ? x[1] : x[0], batch = batch_first ? x[0] : x[1];
  if (steps < 1) {
    raise(ctq::detail::message() << "ctq: " << op << ": the sequence is empty (PyTorch needs at least one step)");
  }
  return {steps, batch};
}

/// Checks an initial state [layers * directions, batch, hidden].
inline void check_state(std::string_view op, std::string_view which, const Shape<3>& s, index_t layers_dirs,
                        index_t batch, index_t hidden) {
  if (s[0] != layers_dirs || s[1] != batch || s[2] != hidden) {
    raise(ctq::detail::message() << "ctq: " << op << ": " << which << " has shape [" << s[0] << ", " << s[1] << ", "
                                 << s[2] << "], expected [" << layers_dirs << ", " << batch << ", " << hidden
                                 << "] (layers * directions, batch, hidden_size)");
  }
}

/// Checks a cell input [N, I] and a state [N, H].
inline void check_cell_input(std::string_view op, const Shape<2>& x, index_t input_size) {
  if (x[1] != input_size) {
    raise(ctq::detail::message() << "ctq: " << op << ": the input's last dimension is " << x[1]
                                 << ", the cell has input_size " << input_size);
  }
}
inline void check_cell_state(std::string_view op, std::string_view which, const Shape<2>& s, index_t batch,
                             index_t hidden) {
  if (s[0] != batch || s[1] != hidden) {
    raise(ctq::detail::message() << "ctq: " << op << ": " << which << " has shape [" << s[0] << ", " << s[1]
                                 << "], expected [" << batch << ", " << hidden << "] (batch, hidden_size)");
  }
}

/// "weight_ih_l0", "bias_hh_l1_reverse", ...: PyTorch's parameter names of a stacked layer.
inline std::string rnn_param_name(std::string_view kind, index_t layer, bool reverse) {
  std::string s(kind);
  s += "_l";
  s += std::to_string(layer);
  if (reverse) s += "_reverse";
  return s;
}

/// The parameters of a stacked recurrent layer, one set per (layer, direction) in PyTorch's order.
template <rnn_cell_kind Kind, index_t In, index_t Hidden, index_t Layers, bool Bias, bool Bidirectional>
class RecurrentParams {
 public:
  static constexpr index_t directions = Bidirectional ? 2 : 1;
  static constexpr index_t gates = gate_count(Kind);
  static constexpr index_t count = Layers * directions;

  RecurrentParams() {
    for (index_t l = 0; l < Layers; ++l) {
      for (index_t d = 0; d < directions; ++d) {
        const auto k = static_cast<std::size_t>(l * directions + d);
        weight_ih[k] = Tensor<float, 2>({gates * Hidden, layer_input_size(l)});
        weight_hh[k] = Tensor<float, 2>({gates * Hidden, Hidden});
        bias_ih[k] = Tensor<float, 1>({Bias ? gates * Hidden : 0});
        bias_hh[k] = Tensor<float, 1>({Bias ? gates * Hidden : 0});
      }
    }
  }

  /// The input features of layer l: input_size, then directions * hidden_size.
  static constexpr index_t layer_input_size(index_t l) { return l == 0 ? In : directions * Hidden; }

  template <class F>
  void visit_state(F&& f) {
    for (index_t l = 0; l < Layers; ++l) {
      for (index_t d = 0; d < directions; ++d) {
        const auto k = static_cast<std::size_t>(l * directions + d);
        const bool rev = d == 1;
        f(std::string_view{rnn_param_name("weight_ih", l, rev)}, weight_ih[k]);
        f(std::string_view{rnn_param_name("weight_hh", l, rev)}, weight_hh[k]);
        if constexpr (Bias) {
          f(std::string_view{rnn_param_name("bias_ih", l, rev)}, bias_ih[k]);
          f(std::string_view{rnn_param_name("bias_hh", l, rev)}, bias_hh[k]);
        }
      }
    }
  }

  /// Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (PyTorch's RNNBase.reset_parameters).
  void reset_parameters(std::mt19937& g) {
    visit_state([&](std::string_view, auto& t) { fill_uniform_fan_in(t, Hidden, g); });
  }

  /// weight_ih_l{layer}{_reverse}: [gates * hidden_size][layer input], and so on; index layer * directions + d.
  std::array<Tensor<float, 2>, count> weight_ih, weight_hh;
  std::array<Tensor<float, 1>, count> bias_ih, bias_hh;  ///< empty when Bias is false

 protected:
  /// The float projections of every (layer, direction).
  void float_projections(std::array<FloatGateLinear, count>& fl_ih, std::array<FloatGateLinear, count>& fl_hh,
                         std::array<GateLinear, count>& ih, std::array<GateLinear, count>& hh) const {
    for (index_t l = 0; l < Layers; ++l) {
      for (index_t d = 0; d < directions; ++d) {
        const auto k = static_cast<std::size_t>(l * directions + d);
        fl_ih[k] = {weight_ih[k].data(), Bias ? bias_ih[k].data() : nullptr, layer_input_size(l), gates * Hidden};
        fl_hh[k] = {weight_hh[k].data(), Bias ? bias_hh[k].data() : nullptr, Hidden, gates * Hidden};
        ih[k] = fl_ih[k].ref();
        hh[k] = fl_hh[k].ref();
      }
    }
  }
};

/// The parameters of a cell: weight_ih [G * H][I], weight_hh [G * H][H], bias_ih, bias_hh [G * H].
template <rnn_cell_kind Kind, index_t In, index_t Hidden, bool Bias>
class CellParams {
 public:
  static constexpr index_t gates = gate_count(Kind);

  CellParams()
      : weight_ih({gates * Hidden, In}),
        weight_hh({gates * Hidden, Hidden}),
        bias_ih({Bias ? gates * Hidden : 0}),
        bias_hh({Bias ? gates * Hidden : 0}) {}

  template <class F>
  void visit_state(F&& f) {
    f(std::string_view{"weight_ih"}, weight_ih);
    f(std::string_view{"weight_hh"}, weight_hh);
    if constexpr (Bias) {
      f(std::string_view{"bias_ih"}, bias_ih);
      f(std::string_view{"bias_hh"}, bias_hh);
    }
  }
  /// Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (PyTorch's RNNCellBase.reset_parameters).
  void reset_parameters(std::mt19937& g) {
    visit_state([&](std::string_view, auto& t) { fill_uniform_fan_in(t, Hidden, g); });
  }

  Tensor<float, 2> weight_ih, weight_hh;
  Tensor<float, 1> bias_ih, bias_hh;  ///< empty when Bias is false

 protected:
  /// h1 (and c1) from x [N, I] and (h0, c0) [N, H] with the float projections.
  void run(std::string_view op, const Tensor<float, 2>& x, const Tensor<float, 2>* h0, const Tensor<float, 2>* c0,
           Tensor<float, 2>& h1, Tensor<float, 2>* c1) const {
    check_cell_input(op, x.shape(), In);
    const index_t batch = x.dim(0);
    std::vector<float> zeros;
    if (h0 != nullptr) check_cell_state(op, c1 != nullptr ? "h_0" : "hx", h0->shape(), batch, Hidden);
    if (c0 != nullptr) check_cell_state(op, "c_0", c0->shape(), batch, Hidden);
    if (h0 == nullptr || (c1 != nullptr && c0 == nullptr)) zeros.assign(static_cast<std::size_t>(batch * Hidden), 0.0f);
    FloatGateLinear fih{weight_ih.data(), Bias ? bias_ih.data() : nullptr, In, gates * Hidden};
    FloatGateLinear fhh{weight_hh.data(), Bias ? bias_hh.data() : nullptr, Hidden, gates * Hidden};
    h1 = Tensor<float, 2>({batch, Hidden});
    if (c1 != nullptr) *c1 = Tensor<float, 2>({batch, Hidden});
    RecurrentScratch s;
    cell_forward(Kind, std_math, fih.ref(), fhh.ref(), x.data(), batch, Hidden,
                 h0 != nullptr ? h0->data() : zeros.data(),
                 c1 == nullptr ? nullptr : (c0 != nullptr ? c0->data() : zeros.data()), h1.data(),
                 c1 != nullptr ? c1->data() : nullptr, s);
  }
};

template <index_t In, index_t Hidden, index_t Layers>
constexpr bool check_recurrent_sizes() {
  static_assert(In >= 1 && Hidden >= 1, "ctq: nn: recurrent layers need a positive input_size and hidden_size");
  static_assert(Layers >= 1, "ctq: nn: recurrent layers need num_layers >= 1");
  return true;
}

}  // namespace detail

/// A stacked LSTM (PyTorch's nn.LSTM in eval): x [T, N, InputSize] ([N, T, InputSize] with
/// BatchFirst), optional (h_0, c_0) [NumLayers * directions, N, HiddenSize] (zeros when absent).
/// Per step and direction, gates = x W_ih^T + b_ih + h W_hh^T + b_hh split into i, f, g, o;
/// c' = sigmoid(f) * c + sigmoid(i) * tanh(g), h' = sigmoid(o) * tanh(c'). A bidirectional layer
/// runs a second set of weights ("_reverse") from the last step to the first and concatenates.
template <index_t InputSize, index_t HiddenSize, index_t NumLayers = 1, bool Bias = true, bool BatchFirst = false,
          bool Bidirectional = false>
class LSTM : public ctq::detail::rejects_quantized,
             public detail::RecurrentParams<detail::rnn_cell_kind::lstm, InputSize, HiddenSize, NumLayers, Bias,
                                            Bidirectional> {
  static_assert(detail::check_recurrent_sizes<InputSize, HiddenSize, NumLayers>());
  using Params =
      detail::RecurrentParams<detail::rnn_cell_kind::lstm, InputSize, HiddenSize, NumLayers, Bias, Bidirectional>;

 public:
  static constexpr std::string_view name = "LSTM";
  static constexpr index_t input_size = InputSize, hidden_size = HiddenSize, num_layers = NumLayers;
  static constexpr bool has_bias = Bias, batch_first = BatchFirst, bidirectional = Bidirectional;

  using ctq::detail::rejects_quantized::operator();
  LSTMOutput operator()(const Tensor<float, 3>& x) const { return run(x, nullptr); }
  LSTMOutput operator()(const Tensor<float, 3>& x, const LSTMState<3>& hx) const { return run(x, &hx); }

 private:
  LSTMOutput run(const Tensor<float, 3>& x, const LSTMState<3>* hx) const {
    constexpr std::string_view op = "nn::LSTM";
    const auto [steps, batch] = detail::check_sequence(op, x.shape(), InputSize, BatchFirst);
    if (hx != nullptr) {
      detail::check_state(op, "h_0", hx->h.shape(), Params::count, batch, HiddenSize);
      detail::check_state(op, "c_0", hx->c.shape(), Params::count, batch, HiddenSize);
    }
    std::array<detail::FloatGateLinear, Params::count> fih{}, fhh{};
    std::array<detail::GateLinear, Params::count> ih{}, hh{};
    this->float_projections(fih, fhh, ih, hh);
    LSTMOutput r;
    auto out_shape = x.shape();
    out_shape[2] = Params::directions * HiddenSize;
    r.output = Tensor<float, 3>(out_shape);
    r.hidden.h = Tensor<float, 3>({Params::count, batch, HiddenSize});
    r.hidden.c = Tensor<float, 3>({Params::count, batch, HiddenSize});
    detail::RecurrentScratch s;
    detail::rnn_forward(detail::rnn_cell_kind::lstm, detail::std_math,
                        {InputSize, HiddenSize, NumLayers, Bidirectional, BatchFirst}, ih.data(), hh.data(), x.data(),
                        steps, batch, hx ? hx->h.data() : nullptr, hx ? hx->c.data() : nullptr, r.output.data(),
                        r.hidden.h.data(), r.hidden.c.data(), s);
    return r;
  }
};

/// A stacked GRU (PyTorch's nn.GRU in eval): x as for nn::LSTM, optional h_0
/// [NumLayers * directions, N, HiddenSize]. Per step r = sigmoid(ir + hr), z = sigmoid(iz + hz),
/// n = tanh(in + r * hn) (hn includes b_hn), h' = (1 - z) * n + z * h, computed as (h - n) * z + n.
template <index_t InputSize, index_t HiddenSize, index_t NumLayers = 1, bool Bias = true, bool BatchFirst = false,
          bool Bidirectional = false>
class GRU : public ctq::detail::rejects_quantized,
            public detail::RecurrentParams<detail::rnn_cell_kind::gru, InputSize, HiddenSize, NumLayers, Bias,
                                           Bidirectional> {
  static_assert(detail::check_recurrent_sizes<InputSize, HiddenSize, NumLayers>());
  using Params =
      detail::RecurrentParams<detail::rnn_cell_kind::gru, InputSize, HiddenSize, NumLayers, Bias, Bidirectional>;

 public:
  static constexpr std::string_view name = "GRU";
  static constexpr index_t input_size = InputSize, hidden_size = HiddenSize, num_layers = NumLayers;
  static constexpr bool has_bias = Bias, batch_first = BatchFirst, bidirectional = Bidirectional;

  using ctq::detail::rejects_quantized::operator();
  GRUOutput operator()(const Tensor<float, 3>& x) const { return run(x, nullptr); }
  GRUOutput operator()(const Tensor<float, 3>& x, const Tensor<float, 3>& h0) const { return run(x, &h0); }

 private:
  GRUOutput run(const Tensor<float, 3>& x, const Tensor<float, 3>* h0) const {
    constexpr std::string_view op = "nn::GRU";
    const auto [steps, batch] = detail::check_sequence(op, x.shape(), InputSize, BatchFirst);
    if (h0 != nullptr) detail::check_state(op, "h_0", h0->shape(), Params::count, batch, HiddenSize);
    std::array<detail::FloatGateLinear, Params::count> fih{}, fhh{};
    std::array<detail::GateLinear, Params::count> ih{}, hh{};
    this->float_projections(fih, fhh, ih, hh);
    GRUOutput r;
    auto out_shape = x.shape();
    out_shape[2] = Params::directions * HiddenSize;
    r.output = Tensor<float, 3>(out_shape);
    r.h_n = Tensor<float, 3>({Params::count, batch, HiddenSize});
    detail::RecurrentScratch s;
    detail::rnn_forward(detail::rnn_cell_kind::gru, detail::std_math,
                        {InputSize, HiddenSize, NumLayers, Bidirectional, BatchFirst}, ih.data(), hh.data(), x.data(),
                        steps, batch, h0 ? h0->data() : nullptr, nullptr, r.output.data(), r.h_n.data(), nullptr, s);
    return r;
  }
};

/// An Elman cell (PyTorch's nn.RNNCell): h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu);
/// x [N, In], h [N, Hidden] (zeros when absent).
template <index_t In, index_t Hidden, bool Bias = true, rnn_nonlinearity Nonlinearity = rnn_nonlinearity::tanh>
class RNNCell : public ctq::detail::rejects_quantized,
                public detail::CellParams<Nonlinearity == rnn_nonlinearity::tanh ? detail::rnn_cell_kind::rnn_tanh
                                                                                 : detail::rnn_cell_kind::rnn_relu,
                                          In, Hidden, Bias> {
  static_assert(detail::check_recurrent_sizes<In, Hidden, 1>());

 public:
  static constexpr std::string_view name = "RNNCell";
  static constexpr index_t input_size = In, hidden_size = Hidden;
  static constexpr bool has_bias = Bias;
  static constexpr rnn_nonlinearity nonlinearity = Nonlinearity;

  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 2> operator()(const Tensor<float, 2>& x) const { return step(x, nullptr); }
  Tensor<float, 2> operator()(const Tensor<float, 2>& x, const Tensor<float, 2>& h) const { return step(x, &h); }

 private:
  Tensor<float, 2> step(const Tensor<float, 2>& x, const Tensor<float, 2>* h) const {
    Tensor<float, 2> h1;
    this->run("nn::RNNCell", x, h, nullptr, h1, nullptr);
    return h1;
  }
};

/// An LSTM cell (PyTorch's nn.LSTMCell): x [N, In], (h, c) [N, Hidden] (zeros when absent);
/// returns (h', c') with nn::LSTM's step.
template <index_t In, index_t Hidden, bool Bias = true>
class LSTMCell : public ctq::detail::rejects_quantized,
                 public detail::CellParams<detail::rnn_cell_kind::lstm, In, Hidden, Bias> {
  static_assert(detail::check_recurrent_sizes<In, Hidden, 1>());

 public:
  static constexpr std::string_view name = "LSTMCell";
  static constexpr index_t input_size = In, hidden_size = Hidden;
  static constexpr bool has_bias = Bias;

  using ctq::detail::rejects_quantized::operator();
  LSTMState<2> operator()(const Tensor<float, 2>& x) const { return step(x, nullptr); }
  LSTMState<2> operator()(const Tensor<float, 2>& x, const LSTMState<2>& hc) const { return step(x, &hc); }

 private:
  LSTMState<2> step(const Tensor<float, 2>& x, const LSTMState<2>* hc) const {
    LSTMState<2> r;
    this->run("nn::LSTMCell", x, hc ? &hc->h : nullptr, hc ? &hc->c : nullptr, r.h, &r.c);
    return r;
  }
};

/// A GRU cell (PyTorch's nn.GRUCell): x [N, In], h [N, Hidden] (zeros when absent); nn::GRU's step.
template <index_t In, index_t Hidden, bool Bias = true>
class GRUCell : public ctq::detail::rejects_quantized,
                public detail::CellParams<detail::rnn_cell_kind::gru, In, Hidden, Bias> {
  static_assert(detail::check_recurrent_sizes<In, Hidden, 1>());

 public:
  static constexpr std::string_view name = "GRUCell";
  static constexpr index_t input_size = In, hidden_size = Hidden;
  static constexpr bool has_bias = Bias;

  using ctq::detail::rejects_quantized::operator();
  Tensor<float, 2> operator()(const Tensor<float, 2>& x) const { return step(x, nullptr); }
  Tensor<float, 2> operator()(const Tensor<float, 2>& x, const Tensor<float, 2>& h) const { return step(x, &h); }

 private:
  Tensor<float, 2> step(const Tensor<float, 2>& x, const Tensor<float, 2>* h) const {
    Tensor<float, 2> h1;
    this->run("nn::GRUCell", x, h, nullptr, h1, nullptr);
    return h1;
  }
};

}  // namespace ctq::nn
