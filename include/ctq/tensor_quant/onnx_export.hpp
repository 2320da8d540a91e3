// export_onnx: a fake-quantized model of Quant modules (quant_modules.hpp) as an ONNX graph with
// QuantizeLinear/DequantizeLinear pairs, the form NVIDIA pytorch_quantization exports for
// TensorRT (TensorQuantizer.use_fb_fake_quant during torch.onnx.export). Optional header: it
// writes the protobuf wire format itself (detail/protobuf.hpp) and needs no ONNX library.
//
// What each enabled quantizer becomes (NVIDIA's _fb_fake_quant, then PyTorch's ONNX symbolic):
//   bound = 127 (255 unsigned); zero point 0 as int8 (uint8 unsigned); full range [-128, 127]
//   ([0, 255]) whatever narrow_range says; amax times scale_amax, then
//   per tensor:  scale = float(double(amax) / bound)        (a scalar QuantizeLinear)
//   per channel: scale[c] = amax[c] / float(bound) in float  (QuantizeLinear with `axis`)
// ctq's TensorQuantizer computes the same with use_fb_fake_quant(). Raises ctq::error for what
// ONNX cannot express: num_bits other than 8, a quantizer without amax (dynamic), an amax of 0,
// an amax that keeps more than one axis.
//
// The graph is channels-first (NCHW, NCL, NCDHW: PyTorch's layout, what TensorRT expects), with
// weights in PyTorch's layout as ctq stores them; ctq's Flatten already uses PyTorch's order.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../core/detail/window.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../nn/activation.hpp"
#include "../nn/conv.hpp"
#include "../nn/conv_transpose.hpp"
#include "../nn/identity.hpp"
#include "../nn/linear.hpp"
#include "../nn/module.hpp"
#include "../nn/pooling.hpp"
#include "../nn/sequential.hpp"
#include "detail/protobuf.hpp"
#include "quant_descriptor.hpp"
#include "tensor_quantizer.hpp"

namespace ctq {

/// How export_onnx writes the model.
struct OnnxExportOptions {
  int opset = 13;  ///< 13..17: QuantizeLinear's `axis` needs 13; ir_version 7 for 13, else 8
  std::string producer_name = "ctq";
  std::string producer_version = std::to_string(CTQ_VERSION_MAJOR) + "." + std::to_string(CTQ_VERSION_MINOR) + "." +
                                 std::to_string(CTQ_VERSION_PATCH);
  std::string graph_name = "ctq";
  std::string input_name = "input";
  std::string output_name = "output";
  bool dynamic_batch = false;  ///< dimension 0 of input and output named "N" instead of fixed
};

namespace detail::onnx {

// onnx.proto's enums.
enum elem_type : std::int32_t { FLOAT = 1, UINT8 = 2, INT8 = 3 };
enum attr_type : std::int32_t { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7 };

struct Attribute {
  std::string name;
  attr_type type;
  float f = 0.0f;
  std::int64_t i = 0;
  std::vector<std::int64_t> ints;
};
inline Attribute attr_int(std::string name, std::int64_t v) { return {std::move(name), ATTR_INT, 0.0f, v, {}}; }
inline Attribute attr_float(std::string name, float v) { return {std::move(name), ATTR_FLOAT, v, 0, {}}; }
inline Attribute attr_ints(std::string name, std::vector<std::int64_t> v) {
  return {std::move(name), ATTR_INTS, 0.0f, 0, std::move(v)};
}

struct Node {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attributes;
};

// Every message below writes its fields in field-number order, as protobuf's own serializers
// do, so a parse-and-reserialize by the onnx package gives the same bytes.
inline protobuf::Writer encode(const Attribute& a) {
  protobuf::Writer w;
  w.bytes_field(1, a.name);                         // name
  if (a.type == ATTR_FLOAT) w.float_field(2, a.f);  // f
  if (a.type == ATTR_INT) w.int_field(3, a.i);      // i
  for (std::int64_t v : a.ints) w.int_field(8, v);  // ints (proto2, not packed)
  w.int_field(20, a.type);                          // type
  return w;
}

inline protobuf::Writer encode(const Node& n) {
  protobuf::Writer w;
  for (const auto& s : n.inputs) w.bytes_field(1, s);
  for (const auto& s : n.outputs) w.bytes_field(2, s);
  w.bytes_field(3, n.name);
  w.bytes_field(4, n.op);
  for (const auto& a : n.attributes) w.message(5, encode(a));
  return w;
}

/// A TensorProto: dims, data_type, float_data (float) or int32_data (int8/uint8), name.
inline protobuf::Writer encode_tensor(const std::string& name, const std::vector<std::int64_t>& dims, elem_type type,
                                      std::span<const float> floats, std::span<const std::int32_t> ints) {
  protobuf::Writer w;
  for (std::int64_t d : dims) w.int_field(1, d);
  w.int_field(2, type);
  if (type == FLOAT) {
    w.packed_floats(4, floats);
  } else {
    w.packed_ints(5, ints);
  }
  w.bytes_field(8, name);
  return w;
}

/// A ValueInfoProto for a float tensor; dimension 0 named `batch_param` when it is not empty.
inline protobuf::Writer encode_value_info(const std::string& name, const std::vector<std::int64_t>& shape,
                                          const std::string& batch_param) {
  protobuf::Writer dims;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    protobuf::Writer dim;
    if (k == 0 && !batch_param.empty()) {
      dim.bytes_field(2, batch_param);  // dim_param
    } else {
      dim.int_field(1, shape[k]);  // dim_value
    }
    dims.message(1, dim);  // TensorShapeProto.dim
  }
  protobuf::Writer tensor;
  tensor.int_field(1, FLOAT);  // elem_type
  tensor.message(2, dims);     // shape
  protobuf::Writer type;
  type.message(1, tensor);  // TypeProto.tensor_type
  protobuf::Writer w;
  w.bytes_field(1, name);
  w.message(2, type);
  return w;
}

/// The graph being built: nodes, initializers and the current value with its NC... shape.
class Graph {
 public:
  std::string value;                // the name of the tensor the next module reads
  std::vector<std::int64_t> shape;  // its shape, channels first
  std::vector<Node> nodes;
  std::vector<protobuf::Writer> initializers;

  /// A name not used yet: base, or base_2, base_3, ...
  std::string unique(const std::string& base) {
    const int n = ++used_[base];
    return n == 1 ? base : base + "_" + std::to_string(n);
  }

  std::string add_floats(const std::string& base, std::vector<std::int64_t> dims, std::span<const float> v) {
    std::string name = unique(base);
    initializers.push_back(encode_tensor(name, dims, FLOAT, v, {}));
    return name;
  }
  std::string add_ints(const std::string& base, std::vector<std::int64_t> dims, elem_type t,
                       std::span<const std::int32_t> v) {
    std::string name = unique(base);
    initializers.push_back(encode_tensor(name, dims, t, {}, v));
    return name;
  }
  template <int R>
  std::string add_tensor(const std::string& base, const Tensor<float, R>& t) {
    return add_floats(base, std::vector<std::int64_t>(t.shape().begin(), t.shape().end()), t.values());
  }

  /// Adds a node with one output and returns the output's name.
  std::string add_node(const std::string& op, const std::string& path, std::vector<std::string> inputs,
                       std::vector<Attribute> attributes = {}) {
    Node n;
    n.op = op;
    n.name = unique(path + "/" + op);
    n.inputs = std::move(inputs);
    n.outputs = {n.name + "_output"};
    n.attributes = std::move(attributes);
    nodes.push_back(std::move(n));
    return nodes.back().outputs[0];
  }

 private:
  std::map<std::string, int> used_;
};

[[noreturn]] inline void fail(std::string_view path, std::string_view what) {
  raise(ctq::detail::message() << "ctq: export_onnx: '" << path << "': " << what);
}
[[noreturn]] inline void fail(std::string_view path, const ctq::detail::message& what) {
  fail(path, std::string_view(what.c_str()));
}

/// The QuantizeLinear/DequantizeLinear pair of quantizer q on tensor x of rank `rank` (see the
/// header comment); x itself when q is disabled or not quantizing.
template <class Q>
std::string quantize(Graph& g, const Q& q, const std::string& x, std::size_t rank, const std::string& path) {
  if (!q.is_enabled() || !q.is_quantizing()) return x;
  constexpr QuantDescriptor D = Q::descriptor;
  if constexpr (D.num_bits != 8) {
    fail(path, "ONNX QuantizeLinear holds 8-bit integers only; this quantizer has another num_bits");
  } else if constexpr (!D.fake_quant) {
    fail(path, "a real (not fake) quantizer outputs integers in float, which a QDQ pair does not express");
  } else {
    AmaxData amax = q.amax();
    std::string in = x;
    if constexpr (D.learn_amax) {
      // The learned range (as the quantizer runs it): x clipped to [clip_min, clip_max], then
      // quantized with amax = max(-clip_min, clip_max) (no scale_amax on this path, as NVIDIA's).
      const float lo = q.clip_min(), hi = q.clip_max();
      const std::string mn = g.add_floats(path + ".clip_min", {}, std::span<const float>(&lo, 1));
      const std::string mx = g.add_floats(path + ".clip_max", {}, std::span<const float>(&hi, 1));
      in = g.add_node("Clip", path, {x, mn, mx});
      amax = AmaxData{{}, {q.learned_amax()}};
    }
    if (amax.empty()) {
      fail(path,
           "the quantizer has no amax (it takes amax from each tensor, which a constant QuantizeLinear scale cannot "
           "do): calibrate it (enable_calibration, forward, load_calib_amax) or give its descriptor an amax");
    }
    const int bound = D.is_unsigned ? 255 : 127;
    const elem_type zp_type = D.is_unsigned ? UINT8 : INT8;
    std::vector<float> scales;
    for (float a : amax.values) {
      if (D.scale_amax != 1.0f && !D.learn_amax) a *= D.scale_amax;
      if (!(a > 0.0f) || !std::isfinite(a)) {
        fail(path, "an amax of 0 (or not finite) gives a QuantizeLinear scale ONNX cannot divide by");
      }
      scales.push_back(amax.values.size() == 1 ? static_cast<float>(static_cast<double>(a) / bound)
                                               : a / static_cast<float>(bound));
    }
    std::vector<Attribute> attributes;
    std::vector<std::int64_t> dims;
    if (scales.size() > 1) {
      int axis = -1;
      for (std::size_t d = 0; d < amax.shape.size(); ++d) {
        if (amax.shape[d] == 1) continue;
        if (axis >= 0) fail(path, "an amax that keeps more than one axis has no ONNX QuantizeLinear (one `axis`)");
        axis = static_cast<int>(d);
      }
      if (amax.shape.size() != rank || axis < 0) {
        fail(path, "a per-channel amax must have the tensor's rank with one axis of size > 1");
      }
      attributes.push_back(attr_int("axis", axis));
      dims = {static_cast<std::int64_t>(scales.size())};
    }
    const std::vector<std::int32_t> zero(scales.size(), 0);
    const std::string scale = g.add_floats(path + ".scale", dims, scales);
    const std::string zero_point = g.add_ints(path + ".zero_point", dims, zp_type, zero);
    const std::string qx = g.add_node("QuantizeLinear", path, {in, scale, zero_point}, attributes);
    return g.add_node("DequantizeLinear", path, {qx, scale, zero_point}, attributes);
  }
}

inline std::vector<std::int64_t> repeat(std::int64_t v, std::size_t n) { return std::vector<std::int64_t>(n, v); }

// --- the float operators, on the module types that carry their parameters ----------------------

/// Is F a module export_onnx writes as ONNX operators? Specialisations provide
///   static void emit(Graph&, const F&, const std::string& path, W weight)
/// where weight(name, rank) returns the tensor that replaces weight initializer `name` (its
/// QDQ output in a Quant module, `name` itself in a float one).
template <class F>
struct onnx_op {
  static constexpr bool supported = false;
};

inline void check_input(Graph& g, const std::string& path, std::size_t rank, std::int64_t channels,
                        std::string_view layer) {
  if (g.shape.size() != rank || (channels > 0 && g.shape[1] != channels)) {
    fail(path, ctq::detail::message() << layer << " needs an input of rank " << rank << " with " << channels
                                      << " channels on axis 1; the input here has rank " << g.shape.size()
                                      << (g.shape.size() >= 2 ? " and " : "") << (g.shape.size() >= 2 ? g.shape[1] : 0)
                                      << (g.shape.size() >= 2 ? " channels" : ""));
  }
}

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t D, index_t G, bool Bias>
struct onnx_op<nn::ConvNd<R, In, Out, K, S, P, D, G, Bias>> {
  static constexpr bool supported = true;
  template <class W>
  static void emit(Graph& g, const nn::ConvNd<R, In, Out, K, S, P, D, G, Bias>& m, const std::string& path,
                   W&& weight) {
    check_input(g, path, R + 2, In, m.name);
    std::vector<std::string> inputs{g.value, weight(g.add_tensor(path + ".weight", m.weight), R + 2)};
    if constexpr (Bias) inputs.push_back(g.add_tensor(path + ".bias", m.bias));
    g.value =
        g.add_node("Conv", path, std::move(inputs),
                   {attr_ints("dilations", repeat(D, R)), attr_int("group", G), attr_ints("kernel_shape", repeat(K, R)),
                    attr_ints("pads", repeat(P, 2 * R)), attr_ints("strides", repeat(S, R))});
    g.shape[1] = Out;
    for (int i = 0; i < R; ++i) {
      auto& s = g.shape[static_cast<std::size_t>(i + 2)];
      s = nn::detail::conv_output_size(s, K, S, P, D, m.name);
    }
  }
};

template <int R, index_t In, index_t Out, index_t K, index_t S, index_t P, index_t OP, index_t G, bool Bias, index_t D>
struct onnx_op<nn::ConvTransposeNd<R, In, Out, K, S, P, OP, G, Bias, D>> {
  static constexpr bool supported = true;
  template <class W>
  static void emit(Graph& g, const nn::ConvTransposeNd<R, In, Out, K, S, P, OP, G, Bias, D>& m, const std::string& path,
                   W&& weight) {
    check_input(g, path, R + 2, In, m.name);
    std::vector<std::string> inputs{g.value, weight(g.add_tensor(path + ".weight", m.weight), R + 2)};
    if constexpr (Bias) inputs.push_back(g.add_tensor(path + ".bias", m.bias));
    std::vector<Attribute> attributes{attr_ints("dilations", repeat(D, R)), attr_int("group", G),
                                      attr_ints("kernel_shape", repeat(K, R))};
    if (OP != 0) attributes.push_back(attr_ints("output_padding", repeat(OP, R)));
    attributes.push_back(attr_ints("pads", repeat(P, 2 * R)));
    attributes.push_back(attr_ints("strides", repeat(S, R)));
    g.value = g.add_node("ConvTranspose", path, std::move(inputs), std::move(attributes));
    g.shape[1] = Out;
    for (int i = 0; i < R; ++i) {
      auto& s = g.shape[static_cast<std::size_t>(i + 2)];
      s = (s - 1) * S - 2 * P + D * (K - 1) + OP + 1;
    }
  }
};

template <index_t In, index_t Out, bool Bias>
struct onnx_op<nn::Linear<In, Out, Bias>> {
  static constexpr bool supported = true;
  // PyTorch's export of a Linear on [N, In]: Gemm(x, W, b) with transB = 1.
  template <class W>
  static void emit(Graph& g, const nn::Linear<In, Out, Bias>& m, const std::string& path, W&& weight) {
    if (g.shape.size() != 2 || g.shape[1] != In) {
      fail(path, ctq::detail::message() << "Linear needs an input [N, " << In << "] (an nn::Flatten before it turns "
                                        << "an image into one); the input here has rank " << g.shape.size());
    }
    std::vector<std::string> inputs{g.value, weight(g.add_tensor(path + ".weight", m.weight), 2)};
    if constexpr (Bias) inputs.push_back(g.add_tensor(path + ".bias", m.bias));
    g.value = g.add_node("Gemm", path, std::move(inputs),
                         {attr_float("alpha", 1.0f), attr_float("beta", 1.0f), attr_int("transB", 1)});
    g.shape[1] = Out;
  }
};

/// MaxPool / AveragePool over `r` spatial dims from ctq's pooling window (1-d pooling keeps its
/// parameters in the window's w fields).
inline void emit_pool(Graph& g, const std::string& path, std::string_view layer, int r, const nn::detail::Window& w,
                      bool average) {
  check_input(g, path, static_cast<std::size_t>(r) + 2, 0, layer);
  const auto pick = [r](index_t h, index_t wv) {
    return r == 1 ? std::vector<std::int64_t>{wv} : std::vector<std::int64_t>{h, wv};
  };
  std::vector<Attribute> attributes{attr_int("ceil_mode", w.ceil_mode ? 1 : 0)};
  if (average) attributes.push_back(attr_int("count_include_pad", w.count_include_pad ? 1 : 0));
  if (!average) attributes.push_back(attr_ints("dilations", pick(w.dh, w.dw)));
  attributes.push_back(attr_ints("kernel_shape", pick(w.kh, w.kw)));
  auto pads = pick(w.ph, w.pw);
  pads.insert(pads.end(), pads.begin(), pads.end());
  attributes.push_back(attr_ints("pads", pads));
  attributes.push_back(attr_ints("strides", pick(w.sh, w.sw)));
  g.value = g.add_node(average ? "AveragePool" : "MaxPool", path, {g.value}, std::move(attributes));
  const auto k = pick(w.kh, w.kw), p = pick(w.ph, w.pw), s = pick(w.sh, w.sw), d = pick(w.dh, w.dw);
  for (int i = 0; i < r; ++i) {
    const auto j = static_cast<std::size_t>(i);
    auto& size = g.shape[j + 2];
    size = ctq::detail::pooling_output_size(size, k[j], p[j], s[j], d[j], w.ceil_mode);
    if (size < 1) fail(path, "the pooling window does not fit the input");
  }
}

template <index_t K, index_t S, index_t P, index_t D, bool C>
struct onnx_op<nn::MaxPool2d<K, S, P, D, C>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M& m, const std::string& path, W&&) {
    emit_pool(g, path, m.name, 2, m.window, false);
  }
};
template <index_t K, index_t S, index_t P, index_t D, bool C>
struct onnx_op<nn::MaxPool1d<K, S, P, D, C>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M& m, const std::string& path, W&&) {
    emit_pool(g, path, m.name, 1, m.window, false);
  }
};
template <index_t K, index_t S, index_t P, bool C, bool I>
struct onnx_op<nn::AvgPool2d<K, S, P, C, I>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M& m, const std::string& path, W&&) {
    emit_pool(g, path, m.name, 2, m.window, true);
  }
};
template <index_t K, index_t S, index_t P, bool C, bool I>
struct onnx_op<nn::AvgPool1d<K, S, P, C, I>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M& m, const std::string& path, W&&) {
    emit_pool(g, path, m.name, 1, m.window, true);
  }
};

/// Adaptive average pooling as PyTorch exports it: GlobalAveragePool for output 1 (x 1), an
/// AveragePool when every input size is a multiple of the output size; otherwise raises.
inline void emit_adaptive_avg(Graph& g, const std::string& path, std::string_view layer,
                              const std::vector<std::int64_t>& out) {
  check_input(g, path, out.size() + 2, 0, layer);
  bool global = true, divisible = true;
  for (std::size_t i = 0; i < out.size(); ++i) {
    global = global && out[i] == 1;
    divisible = divisible && g.shape[i + 2] % out[i] == 0;
  }
  if (global) {
    g.value = g.add_node("GlobalAveragePool", path, {g.value});
  } else if (divisible) {
    std::vector<std::int64_t> k;
    for (std::size_t i = 0; i < out.size(); ++i) k.push_back(g.shape[i + 2] / out[i]);
    g.value = g.add_node("AveragePool", path, {g.value},
                         {attr_int("ceil_mode", 0), attr_int("count_include_pad", 1), attr_ints("kernel_shape", k),
                          attr_ints("pads", repeat(0, 2 * k.size())), attr_ints("strides", k)});
  } else {
    fail(path,
         "adaptive average pooling has an ONNX form only for output size 1 or input sizes that are multiples of the "
         "output size (as PyTorch's exporter)");
  }
  for (std::size_t i = 0; i < out.size(); ++i) g.shape[i + 2] = out[i];
}

template <index_t OH, index_t OW>
struct onnx_op<nn::AdaptiveAvgPool2d<OH, OW>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M& m, const std::string& path, W&&) {
    emit_adaptive_avg(g, path, m.name, {OH, OW});
  }
};
template <index_t O>
struct onnx_op<nn::AdaptiveAvgPool1d<O>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M& m, const std::string& path, W&&) {
    emit_adaptive_avg(g, path, m.name, {O});
  }
};

/// An elementwise module as one ONNX operator without parameters.
template <fixed_string Op>
struct elementwise_op {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M&, const std::string& path, W&&) {
    g.value = g.add_node(std::string(Op.view()), path, {g.value});
  }
};
template <>
struct onnx_op<nn::ReLU> : elementwise_op<"Relu"> {};
template <>
struct onnx_op<nn::Sigmoid> : elementwise_op<"Sigmoid"> {};
template <>
struct onnx_op<nn::Tanh> : elementwise_op<"Tanh"> {};

template <float A>
struct onnx_op<nn::LeakyReLU<A>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M&, const std::string& path, W&&) {
    g.value = g.add_node("LeakyRelu", path, {g.value}, {attr_float("alpha", A)});
  }
};

/// Clip(x, lo, hi) with scalar bounds (opset 11+ takes them as inputs).
inline void emit_clip(Graph& g, const std::string& path, float lo, float hi) {
  const std::string min = g.add_floats(path + ".min", {}, std::span<const float>(&lo, 1));
  const std::string max = g.add_floats(path + ".max", {}, std::span<const float>(&hi, 1));
  g.value = g.add_node("Clip", path, {g.value, min, max});
}
template <>
struct onnx_op<nn::ReLU6> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M&, const std::string& path, W&&) {
    emit_clip(g, path, 0.0f, 6.0f);
  }
};
template <float Lo, float Hi>
struct onnx_op<nn::Hardtanh<Lo, Hi>> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M&, const std::string& path, W&&) {
    emit_clip(g, path, Lo, Hi);
  }
};

template <>
struct onnx_op<nn::Flatten> {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph& g, const M&, const std::string& path, W&&) {
    if (g.shape.size() < 2) fail(path, "Flatten needs an input of rank 2 or more");
    g.value = g.add_node("Flatten", path, {g.value}, {attr_int("axis", 1)});
    std::int64_t features = 1;
    for (std::size_t i = 1; i < g.shape.size(); ++i) features *= g.shape[i];
    g.shape = {g.shape[0], features};
  }
};

/// Modules that export to nothing (evaluation-mode identities).
struct no_op {
  static constexpr bool supported = true;
  template <class M, class W>
  static void emit(Graph&, const M&, const std::string&, W&&) {}
};
template <>
struct onnx_op<nn::Identity> : no_op {};
template <float P>
struct onnx_op<nn::Dropout<P>> : no_op {};

// --- modules -------------------------------------------------------------------------------------

template <class M>
inline constexpr bool is_sequential = false;
template <class... I>
inline constexpr bool is_sequential<nn::Sequential<I...>> = true;

/// A Quant module of quant_modules.hpp: a float module with an input quantizer (and a weight one).
template <class M>
concept QuantModule = requires(const M& m) {
  typename M::float_module;
  typename M::input_quantizer_type;
  m.input_quantizer();
};

template <class M>
inline constexpr bool exportable = [] {
  if constexpr (is_sequential<M>) {
    return true;
  } else if constexpr (QuantModule<M>) {
    return onnx_op<typename M::float_module>::supported;
  } else {
    return onnx_op<M>::supported;
  }
}();

template <class M>
constexpr bool check_exportable() {
  static_assert(exportable<M>,
                "ctq: export_onnx: this module has no ONNX export (its type and dotted path are in the 'required "
                "from' lines above); supported: Sequential, QuantLinear, QuantConv1d/2d/3d, QuantConvTranspose1d/2d/"
                "3d, quant and float pooling, Linear, ConvNd, ReLU, ReLU6, Hardtanh, LeakyReLU, Sigmoid, Tanh, "
                "Flatten, Identity, Dropout");
  return exportable<M>;
}

template <fixed_string Path, class M>
void emit_module(Graph& g, M& m) {
  if constexpr (!check_exportable<M>()) {
    return;
  } else {
    const std::string path = Path.empty() ? std::string(M::name) : std::string(Path.view());
    const auto float_weight = [](const std::string& name, std::size_t) { return name; };
    if constexpr (is_sequential<M>) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (emit_module<ctq::detail::join_path<Path, nn::child_name<M, I>>()>(g, nn::child<I>(m)), ...);
      }
      (std::make_index_sequence<nn::child_count<M>>{});
    } else if constexpr (QuantModule<M>) {
      using F = typename M::float_module;
      // Activation quantizers are per tensor (quant_nn's rule), so the NCHW graph needs no axis mapping.
      g.value = quantize(g, m.input_quantizer(), g.value, g.shape.size(), path + "._input_quantizer");
      if constexpr (requires { m.weight_quantizer(); }) {
        const auto quantized_weight = [&](const std::string& name, std::size_t rank) {
          return quantize(g, m.weight_quantizer(), name, rank, path + "._weight_quantizer");
        };
        onnx_op<F>::emit(g, static_cast<const F&>(m), path, quantized_weight);
      } else {
        onnx_op<F>::emit(g, static_cast<const F&>(m), path, float_weight);
      }
    } else {
      onnx_op<M>::emit(g, m, path, float_weight);
    }
  }
}

inline std::int64_t ir_version(int opset) {
  if (opset < 13 || opset > 17) {
    raise(ctq::detail::message() << "ctq: export_onnx: opset " << opset
                                 << " is not supported (13..17: QuantizeLinear's per-channel `axis` needs 13)");
  }
  return opset == 13 ? 7 : 8;  // ONNX 1.8 (opset 13) came with IR 7; 1.10..1.12 (15..17) with IR 8
}

}  // namespace detail::onnx

/// The ONNX ModelProto bytes of `model` for an input of `input_shape`, channels first ([N, C, H,
/// W], [N, C, L], [N, C, D, H, W]) or [N, features]. Raises ctq::error for what ONNX cannot
/// express (see the header comment) and for shapes the modules reject.
template <class Model>
std::string to_onnx(Model& model, const std::vector<index_t>& input_shape, const OnnxExportOptions& options = {}) {
  namespace ox = detail::onnx;
  const std::int64_t ir = ox::ir_version(options.opset);
  if (input_shape.size() < 2) raise("ctq: export_onnx: the input shape needs a batch dimension and at least one more");
  for (index_t d : input_shape) {
    if (d < 1) raise("ctq: export_onnx: every input dimension must be at least 1");
  }
  if (options.input_name == options.output_name || options.input_name.empty() || options.output_name.empty()) {
    raise("ctq: export_onnx: input_name and output_name must be different and not empty");
  }
  ox::Graph g;
  g.unique(options.input_name);
  g.unique(options.output_name);
  g.value = options.input_name;
  g.shape.assign(input_shape.begin(), input_shape.end());
  ox::emit_module<fixed_string{""}>(g, model);

  // The last node's output becomes the graph output (an Identity when the model computes nothing).
  if (g.nodes.empty() || g.value == options.input_name) {
    g.value = g.add_node("Identity", "output", {g.value});
  }
  for (auto& n : g.nodes) {
    for (auto& s : n.outputs) {
      if (s == g.value) s = options.output_name;
    }
  }
  const std::string batch = options.dynamic_batch ? "N" : "";
  detail::protobuf::Writer graph;
  for (const auto& n : g.nodes) graph.message(1, ox::encode(n));
  graph.bytes_field(2, options.graph_name);
  for (const auto& t : g.initializers) graph.message(5, t);
  graph.message(11, ox::encode_value_info(options.input_name,
                                          std::vector<std::int64_t>(input_shape.begin(), input_shape.end()), batch));
  graph.message(12, ox::encode_value_info(options.output_name, g.shape, batch));

  detail::protobuf::Writer opset;
  opset.bytes_field(1, "");  // the default domain, ai.onnx
  opset.int_field(2, options.opset);
  detail::protobuf::Writer model_proto;
  model_proto.int_field(1, ir);
  model_proto.bytes_field(2, options.producer_name);
  model_proto.bytes_field(3, options.producer_version);
  model_proto.message(7, graph);
  model_proto.message(8, opset);
  return model_proto.bytes();
}

/// Writes the ONNX model of `model` (see to_onnx) to `out`.
template <class Model>
void export_onnx(Model& model, const std::vector<index_t>& input_shape, std::ostream& out,
                 const OnnxExportOptions& options = {}) {
  const std::string bytes = to_onnx(model, input_shape, options);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) raise("ctq: export_onnx: writing the model failed");
}

/// Writes the ONNX model of `model` (see to_onnx) to the file at `path`.
template <class Model>
void export_onnx(Model& model, const std::vector<index_t>& input_shape, const std::filesystem::path& path,
                 const OnnxExportOptions& options = {}) {
  const std::string bytes = to_onnx(model, input_shape, options);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) raise(ctq::detail::message() << "ctq: export_onnx: cannot write " << path.string());
}

}  // namespace ctq
