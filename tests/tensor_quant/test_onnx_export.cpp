// ONNX export of Quant-module models (tensor_quant/onnx_export.hpp): the protobuf writer against
// encodings derived by hand from the wire-format rules, the errors for what ONNX cannot express,
// and two calibrated models written with their inputs and ctq's outputs for the checks that run
// after this program (tests/tensor_quant/onnx/check_onnx.py with the onnx package,
// run_ort.js with ONNX Runtime). The files go to $CTQ_ONNX_EXPORT_DIR (the CTest case sets it),
// else to a folder under the system's temporary directory.
//
// Reference outputs: ctq's forward with use_fb_fake_quant() on every quantizer, the PyTorch fake
// quantization NVIDIA switches on for export (scale = amax / bound, zero point 0, full range),
// which is what the exported QDQ nodes compute; the default fake_tensor_quant outputs are written
// too, for information only (they round x * (bound / amax) and divide, a different float path).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <ctq/nn.hpp>
#include <ctq/tensor_quant.hpp>
#include <ctq/tensor_quant/onnx_export.hpp>
#include <ctq/tensor_quant/quant_modules.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/check_error.hpp"

using namespace ctq;
namespace pb = ctq::detail::protobuf;

namespace {

std::vector<unsigned char> bytes_of(const pb::Writer& w) { return {w.bytes().begin(), w.bytes().end()}; }
using B = std::vector<unsigned char>;

// Deterministic values in [-1, 1) without a library distribution (those differ between standard
// libraries): a fixed-point fraction of a 32-bit LCG.
struct Lcg {
  std::uint32_t state;
  float next() {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
};

template <int R>
void fill(Tensor<float, R>& t, Lcg& g, float gain) {
  for (auto& v : t.values()) v = gain * g.next();
}

std::filesystem::path output_dir() {
  const char* env = std::getenv("CTQ_ONNX_EXPORT_DIR");
  std::filesystem::path dir = env != nullptr && *env != '\0'
                                  ? std::filesystem::path(env)
                                  : std::filesystem::temp_directory_path() / "ctq_onnx_export";
  std::filesystem::create_directories(dir);
  return dir;
}

/// [N, spatial..., C] (ctq) to [N, C, spatial...] (ONNX), flat.
template <int R>
std::vector<float> channels_first(const Tensor<float, R>& x) {
  const index_t n = x.dim(0), c = x.dim(R - 1), pixels = x.size() / (n * c);
  std::vector<float> y(static_cast<std::size_t>(x.size()));
  for (index_t b = 0; b < n; ++b)
    for (index_t p = 0; p < pixels; ++p)
      for (index_t ch = 0; ch < c; ++ch)
        y[static_cast<std::size_t>((b * c + ch) * pixels + p)] = x[(b * pixels + p) * c + ch];
  return y;
}

template <class Model>
void set_fb_fake_quant(Model& m, bool on) {
  for_each_quantizer(m, [&](const std::string&, auto& q) { q.use_fb_fake_quant(on); });
}

/// The quantizers as export_onnx writes them, for check_onnx.py to compare with the file.
template <class Model>
nlohmann::json quantizer_table(Model& m) {
  nlohmann::json table = nlohmann::json::array();
  for_each_quantizer(m, [&](const std::string& path, auto& q) {
    constexpr QuantDescriptor D = std::remove_cvref_t<decltype(q)>::descriptor;
    table.push_back({{"name", path},
                     {"amax", q.amax().values},
                     {"amax_shape", q.amax().shape},
                     {"unsigned", D.is_unsigned},
                     {"num_bits", D.num_bits}});
  });
  return table;
}

/// Calibrates m on the calibration batches, then writes model, inputs and ctq's outputs.
template <class Model, int R>
nlohmann::json calibrate_and_export(Model& m, const std::string& file, const std::vector<Tensor<float, R>>& calib,
                                    const Tensor<float, R>& x, const std::vector<index_t>& onnx_shape,
                                    const OnnxExportOptions& options = {}) {
  enable_calibration(m);
  for (const auto& b : calib) (void)m(b);
  load_calib_amax(m);
  disable_calibration(m);

  const auto reference_tq = m(x);
  set_fb_fake_quant(m, true);
  const auto reference = m(x);
  set_fb_fake_quant(m, false);

  export_onnx(m, onnx_shape, output_dir() / file, options);
  return {{"file", file},
          {"input_shape", onnx_shape},
          {"input", channels_first(x)},
          {"output_shape", std::vector<index_t>(reference.shape().begin(), reference.shape().end())},
          {"output", channels_first(reference)},
          {"output_fake_tensor_quant", channels_first(reference_tq)},
          {"quantizers", quantizer_table(m)},
          {"dynamic_batch", options.dynamic_batch}};
}

}  // namespace

// Each expected byte string follows https://protobuf.dev/programming-guides/encoding/: a key is
// the varint (field << 3) | wire type (0 varint, 2 length-delimited, 5 fixed32); a varint is
// 7 bits per byte, low group first, 0x80 on every byte but the last.
TEST_CASE("protobuf writer: hand-derived encodings") {
  pb::Writer w;
  w.varint(1);
  CHECK(bytes_of(w) == B{0x01});

  // 150 = 0b1'0010110: low group 0010110 = 0x16 with the continuation bit -> 0x96, then 1.
  // Key of field 1, varint: (1 << 3) | 0 = 0x08 (the encoding guide's first example).
  pb::Writer f;
  f.int_field(1, 150);
  CHECK(bytes_of(f) == B{0x08, 0x96, 0x01});

  // 300 = 0b10'0101100: 0101100 | 0x80 = 0xac, then 0b10 = 0x02.
  pb::Writer v300;
  v300.varint(300);
  CHECK(bytes_of(v300) == B{0xac, 0x02});

  // -1 as int64: 2^64 - 1, nine groups of seven 1-bits (0xff) and a last group of one bit (0x01).
  pb::Writer neg;
  neg.int_field(1, -1);
  CHECK(bytes_of(neg) == B{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});

  // Field 2, fixed32: key (2 << 3) | 5 = 0x15; 1.0f = 0x3f800000, little endian 00 00 80 3f.
  pb::Writer fl;
  fl.float_field(2, 1.0f);
  CHECK(bytes_of(fl) == B{0x15, 0x00, 0x00, 0x80, 0x3f});

  // Field 2, string "testing": key (2 << 3) | 2 = 0x12, length 7, the ASCII bytes.
  pb::Writer s;
  s.bytes_field(2, "testing");
  CHECK(bytes_of(s) == B{0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'});

  // A message {1: 150} inside field 3: key 0x1a, length 3, then 08 96 01.
  pb::Writer outer;
  outer.message(3, f);
  CHECK(bytes_of(outer) == B{0x1a, 0x03, 0x08, 0x96, 0x01});

  // Packed field 4 = [3, 270, 86942]: key 0x22, 6 bytes of varints: 03; 270 = 0b10'0001110 ->
  // 8e 02; 86942 = 0b101'0100111'0011110 -> 9e a7 05.
  pb::Writer packed;
  const std::int64_t ints[] = {3, 270, 86942};
  packed.packed_ints(4, ints);
  CHECK(bytes_of(packed) == B{0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05});
  // The same values as int32 encode alike; -2 as int32 is sign-extended to 64 bits (10 bytes).
  pb::Writer packed32;
  const std::int32_t ints32[] = {3, -2};
  packed32.packed_ints(5, ints32);
  CHECK(bytes_of(packed32) == B{0x2a, 0x0b, 0x03, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});

  // Packed floats [1, -2] in field 4: 8 bytes; -2.0f = 0xc0000000 -> 00 00 00 c0.
  pb::Writer pf;
  const float floats[] = {1.0f, -2.0f};
  pf.packed_floats(4, floats);
  CHECK(bytes_of(pf) == B{0x22, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0});
}

TEST_CASE("onnx: a TensorProto and an AttributeProto, field by field") {
  namespace ox = ctq::detail::onnx;
  // TensorProto {dims: 2 (field 1), data_type: FLOAT = 1 (field 2), float_data: [0.5, 1] packed
  // (field 4), name: "w" (field 8, key (8 << 3) | 2 = 0x42)}; 0.5f = 0x3f000000.
  const float w[] = {0.5f, 1.0f};
  CHECK(bytes_of(ox::encode_tensor("w", {2}, ox::FLOAT, w, {})) ==
        B{0x08, 0x02, 0x10, 0x01, 0x22, 0x08, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x42, 0x01, 'w'});
  // A scalar int8 zero point: no dims, data_type INT8 = 3, int32_data [0] packed (field 5, 0x2a).
  const std::int32_t zp[] = {0};
  CHECK(bytes_of(ox::encode_tensor("z", {}, ox::INT8, {}, zp)) == B{0x10, 0x03, 0x2a, 0x01, 0x00, 0x42, 0x01, 'z'});
  // AttributeProto {name "k" (field 1), ints [3, 3] unpacked (field 8, key 0x40 each),
  // type INTS = 7 (field 20: key (20 << 3) | 0 = 160 = varint a0 01)}.
  CHECK(bytes_of(ox::encode(ox::attr_ints("k", {3, 3}))) ==
        B{0x0a, 0x01, 'k', 0x40, 0x03, 0x40, 0x03, 0xa0, 0x01, 0x07});
}

namespace {

using quant_nn::QuantAdaptiveAvgPool2d;
using quant_nn::QuantConv2d;
using quant_nn::QuantLinear;
using quant_nn::QuantMaxPool2d;

using ConvNet = nn::Sequential<nn::named<"conv1", QuantConv2d<1, 4, 3, 1, 1>>, nn::named<"relu1", nn::ReLU>,
                               nn::named<"pool", QuantMaxPool2d<2>>, nn::named<"conv2", QuantConv2d<4, 8, 3, 1, 1>>,
                               nn::named<"relu2", nn::ReLU>, nn::named<"gap", QuantAdaptiveAvgPool2d<1>>,
                               nn::named<"flatten", nn::Flatten>, nn::named<"drop", nn::Dropout<>>,
                               nn::named<"fc", QuantLinear<8, 10>>>;

// 1-d layers, an unsigned input quantizer after ReLU6, a transposed conv, per-tensor weights.
using SeqNet = nn::Sequential<
    quant_nn::QuantConv1d<2, 4, 3, 1, 1>, nn::ReLU6,
    quant_nn::QuantAvgPool1d<2, 0, 0, false, true, QUANT_DESC_UNSIGNED_8BIT_PER_TENSOR>,
    quant_nn::QuantConvTranspose1d<4, 3, 2, 2>, nn::Flatten,
    nn::Sequential<QuantLinear<24, 5, true, QUANT_DESC_8BIT_PER_TENSOR, QUANT_DESC_8BIT_PER_TENSOR>, nn::Tanh>>;

ConvNet make_conv_net() {
  ConvNet net;
  Lcg g{1};
  auto& c1 = nn::module_at<"conv1">(net);
  auto& c2 = nn::module_at<"conv2">(net);
  auto& fc = nn::module_at<"fc">(net);
  fill(c1.weight, g, 0.5f);
  fill(c1.bias, g, 0.1f);
  fill(c2.weight, g, 0.2f);
  fill(c2.bias, g, 0.1f);
  fill(fc.weight, g, 0.4f);
  fill(fc.bias, g, 0.1f);
  return net;
}

SeqNet make_seq_net() {
  SeqNet net;
  Lcg g{7};
  auto& c = nn::child<0>(net);
  auto& t = nn::child<3>(net);
  auto& fc = nn::child<0>(nn::child<5>(net));
  fill(c.weight, g, 0.6f);
  fill(c.bias, g, 0.1f);
  fill(t.weight, g, 0.5f);
  fill(t.bias, g, 0.1f);
  fill(fc.weight, g, 0.3f);
  fill(fc.bias, g, 0.1f);
  return net;
}

}  // namespace

TEST_CASE("export_onnx: calibrated models for check_onnx.py and run_ort.js") {
  nlohmann::json manifest;

  {
    ConvNet net = make_conv_net();
    Lcg g{42};
    std::vector<Tensor<float, 4>> calib(3, Tensor<float, 4>({2, 8, 8, 1}));
    for (auto& b : calib) fill(b, g, 1.0f);
    Tensor<float, 4> x({4, 8, 8, 1});
    fill(x, g, 1.2f);  // some values beyond the calibrated range: they clip
    manifest["models"].push_back(calibrate_and_export(net, "conv_net.onnx", calib, x, {4, 1, 8, 8}));
    // Eight quantizers: conv1 (2), pool (1), conv2 (2), gap (1), fc (2).
    CHECK(manifest["models"][0]["quantizers"].size() == 8);
  }
  {
    SeqNet net = make_seq_net();
    Lcg g{5};
    std::vector<Tensor<float, 3>> calib(2, Tensor<float, 3>({3, 8, 2}));
    for (auto& b : calib) fill(b, g, 2.0f);
    Tensor<float, 3> x({3, 8, 2});
    fill(x, g, 2.0f);
    OnnxExportOptions options;
    options.dynamic_batch = true;
    manifest["models"].push_back(calibrate_and_export(net, "seq_net.onnx", calib, x, {3, 2, 8}, options));
  }
  const auto path = output_dir() / "reference.json";
  std::ofstream(path) << manifest.dump(1);
  MESSAGE("wrote " << path.string());
  CHECK(std::filesystem::file_size(path) > 0);
}

TEST_CASE("export_onnx: what ONNX cannot express raises ctq::error") {
  {  // no amax: the quantizers were never calibrated
    ConvNet net = make_conv_net();
    CHECK_CTQ_ERROR(to_onnx(net, {1, 1, 8, 8}), "'conv1._input_quantizer': the quantizer has no amax");
  }
  {  // 4-bit quantizer
    nn::Sequential<QuantLinear<4, 2, true, QuantDescriptor{.num_bits = 4, .amax = 1.0f}>> net;
    CHECK_CTQ_ERROR(to_onnx(net, {1, 4}), "'0._input_quantizer': ONNX QuantizeLinear holds 8-bit integers only");
  }
  {  // an amax keeping two axes
    QuantLinear<4, 2, true, QuantDescriptor{.amax = 1.0f}, QuantDescriptor{.axis = axes(0, 1)}> fc;
    fc.weight_quantizer().set_amax({{2, 4}, std::vector<float>(8, 1.0f)});
    CHECK_CTQ_ERROR(to_onnx(fc, {1, 4}), "more than one axis");
  }
  {  // amax 0
    QuantLinear<4, 2, true, QuantDescriptor{.amax = 0.0f}, QuantDescriptor{.amax = 1.0f}> fc;
    CHECK_CTQ_ERROR(to_onnx(fc, {1, 4}), "an amax of 0");
  }
  {  // a Linear on an image (no Flatten), a conv given the wrong channel count
    nn::Sequential<nn::Conv2d<1, 2, 3>, nn::Linear<2, 3>> net;
    CHECK_CTQ_ERROR(to_onnx(net, {1, 1, 5, 5}), "'1': Linear needs an input [N, 2]");
    CHECK_CTQ_ERROR(to_onnx(net, {1, 3, 5, 5}), "'0': Conv2d needs an input of rank 4 with 1 channels");
  }
  {  // adaptive pooling to 3 x 3 of an 8 x 8 input; opset 12
    nn::Sequential<nn::AdaptiveAvgPool2d<3>> net;
    CHECK_CTQ_ERROR(to_onnx(net, {1, 1, 8, 8}), "adaptive average pooling has an ONNX form only");
    OnnxExportOptions old;
    old.opset = 12;
    CHECK_CTQ_ERROR(to_onnx(net, {1, 1, 6, 6}, old), "opset 12 is not supported");
  }
  {  // disabled quantizers export nothing; the float model is an ONNX model too
    QuantLinear<4, 2> fc;
    fc.input_quantizer().disable();
    fc.weight_quantizer().disable();
    const std::string bytes = to_onnx(fc, {1, 4});
    CHECK(bytes.find("QuantizeLinear") == std::string::npos);
    CHECK(bytes.find("Gemm") != std::string::npos);
    // ModelProto starts with ir_version (field 1, varint 7) and producer_name "ctq" (field 2).
    CHECK(B(bytes.begin(), bytes.begin() + 7) == B{0x08, 0x07, 0x12, 0x03, 'c', 't', 'q'});
  }
}
