// nn::Embedding / nn::EmbeddingBag and their weight-only quantized forms against PyTorch 1.13
// (tests/data/qembedding_reference.json, written by tools/reference/gen_qembedding.py):
//   - float Embedding (1-d, 2-d int32, 3-d indices, padding_idx, empty) and EmbeddingBag (sum, mean,
//     max; offsets with empty bags, include_last_offset, 2-d input, padding_idx, int32 indices,
//     per_sample_weights, NaN and signed zeros): outputs bit for bit;
//   - quantization of 8-bit and 4-bit tables by the float_qparams observers: codes, per-row scales
//     and zero points bit for bit; quantized Embedding / EmbeddingBag outputs (embedding_byte,
//     embedding_4bit, embedding_bag_byte, embedding_bag_4bit with offsets, include_last_offset,
//     per_sample_weights, 2-d input) bit for bit, from PyTorch's codes and from ctq's own;
//   - convert of an EmbeddingBag with padding_idx, and eager PTQ of EmbeddingBag -> QuantStub ->
//     Linear -> DeQuantStub with the embedding's qconfig given by for_type<> and by for_name<>
//     while the Linear takes the qnnpack default: the model output bit for bit;
//   - runtime errors: out-of-range indices, bad offsets, per_sample_weights counts, weight shapes.
// No tolerance anywhere: every sum, product and fma is done in PyTorch's order and precision
// (see the comments in nn/embedding.hpp and nn/quantized/embedding.hpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <ctq/ctq.hpp>
#include <ctq/nn/embedding.hpp>
#include <ctq/nn/quantized/embedding.hpp>
#include <ctq/quantization/mappings/embedding.hpp>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

using namespace ctq;
using json = nlohmann::json;
using nn::bag_mode;

namespace {

const json& data() {
  static const json d = ctq_test::load_reference("qembedding_reference.json");
  return d;
}

template <int R>
Shape<R> shape_of(const json& a) {
  REQUIRE(a.size() == static_cast<std::size_t>(R));
  Shape<R> s{};
  for (int i = 0; i < R; ++i) s[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)].get<index_t>();
  return s;
}

template <class I, int R>
Tensor<I, R> index_tensor(const json& values, const json& shape) {
  const auto v = ctq_test::ints<I>(values);
  return Tensor<I, R>(shape_of<R>(shape), std::span<const I>(v));
}

template <int R>
Tensor<float, R> float_tensor(const json& values, const json& shape) {
  const auto v = ctq_test::floats(values);
  return Tensor<float, R>(shape_of<R>(shape), std::span<const float>(v));
}

void load_weight(Tensor<float, 2>& w, const json& values) {
  const auto v = ctq_test::floats(values);
  REQUIRE(static_cast<index_t>(v.size()) == w.size());
  std::copy(v.begin(), v.end(), w.data());
}

// Bit-for-bit equality (NaN equals NaN, -0 differs from +0), with the first mismatch reported.
template <int R>
void check_same(const Tensor<float, R>& y, const json& expected, const json& shape, const std::string& what) {
  INFO(what);
  const auto e = ctq_test::floats(expected);
  REQUIRE(y.shape() == shape_of<R>(shape));
  REQUIRE(static_cast<std::size_t>(y.size()) == e.size());
  index_t bad = 0;
  for (index_t i = 0; i < y.size(); ++i) {
    if (!ctq_test::same_float(y[i], e[static_cast<std::size_t>(i)])) {
      if (bad == 0) {
        char text[96];
        std::snprintf(text, sizeof text, "first mismatch at %td: ctq %.9g, PyTorch %.9g", i, static_cast<double>(y[i]),
                      static_cast<double>(e[static_cast<std::size_t>(i)]));
        INFO(text);
        CHECK(false);
      }
      ++bad;
    }
  }
  CHECK(bad == 0);
}

index_t padding_of(const json& c) {
  return c["padding_idx"].is_null() ? nn::no_padding_idx : c["padding_idx"].get<index_t>();
}

// --- float Embedding -----------------------------------------------------------------------------

template <class M, class I, int R>
void run_embedding(const json& c) {
  M m;
  load_weight(m.weight, c["weight"]);
  const auto x = index_tensor<I, R>(c["indices"], c["indices_shape"]);
  check_same<R + 1>(m(x), c["output"], c["output_shape"], c["name"].get<std::string>());
}

template <class M>
bool try_embedding(const json& c) {
  if (c["num_embeddings"] != M::num_embeddings || c["dim"] != M::embedding_dim) return false;
  if (padding_of(c) != nn::no_padding_idx &&
      nn::detail::wrap_padding_idx(padding_of(c), M::num_embeddings) != M::padding_idx)
    return false;
  if (padding_of(c) == nn::no_padding_idx && M::padding_idx != -1) return false;
  const bool i32 = c["indices_dtype"] == "int32";
  switch (c["indices_shape"].size()) {
    case 1: i32 ? run_embedding<M, std::int32_t, 1>(c) : run_embedding<M, std::int64_t, 1>(c); break;
    case 2: i32 ? run_embedding<M, std::int32_t, 2>(c) : run_embedding<M, std::int64_t, 2>(c); break;
    case 3: i32 ? run_embedding<M, std::int32_t, 3>(c) : run_embedding<M, std::int64_t, 3>(c); break;
    default: FAIL("unexpected index rank");
  }
  return true;
}

// --- float EmbeddingBag --------------------------------------------------------------------------

template <class M, class I>
void run_bag(const json& c, const json& table) {
  M m;
  load_weight(m.weight, table["values"]);
  const std::string name = c["name"].get<std::string>();
  const bool psw = !c["per_sample_weights"].is_null();
  if (c["indices_shape"].size() == 1) {
    const auto x = index_tensor<I, 1>(c["indices"], c["indices_shape"]);
    const auto off = index_tensor<I, 1>(c["offsets"], json::array({c["offsets"].size()}));
    if (!psw) {
      check_same<2>(m(x, off), c["output"], c["output_shape"], name);
    } else if constexpr (M::mode == bag_mode::sum) {
      const auto w = float_tensor<1>(c["per_sample_weights"], c["indices_shape"]);
      check_same<2>(m(x, off, w), c["output"], c["output_shape"], name);
    }
  } else if constexpr (!M::include_last_offset) {
    const auto x = index_tensor<I, 2>(c["indices"], c["indices_shape"]);
    if (!psw) {
      check_same<2>(m(x), c["output"], c["output_shape"], name);
    } else if constexpr (M::mode == bag_mode::sum) {
      const auto w = float_tensor<2>(c["per_sample_weights"], c["indices_shape"]);
      check_same<2>(m(x, w), c["output"], c["output_shape"], name);
    }
  }
}

constexpr const char* mode_name(bag_mode m) {
  return m == bag_mode::sum ? "sum" : (m == bag_mode::mean ? "mean" : "max");
}

template <class M>
bool try_bag(const json& c) {
  const json& table = data()["tables"][c["table"].get<std::string>()];
  if (table["shape"][0] != M::num_embeddings || table["shape"][1] != M::embedding_dim) return false;
  if (c["mode"] != mode_name(M::mode) || c["include_last_offset"] != M::include_last_offset) return false;
  const index_t p = padding_of(c);
  if ((p == nn::no_padding_idx ? -1 : nn::detail::wrap_padding_idx(p, M::num_embeddings)) != M::padding_idx)
    return false;
  if (c["indices_dtype"] == "int32") {
    run_bag<M, std::int32_t>(c, table);
  } else {
    run_bag<M, std::int64_t>(c, table);
  }
  return true;
}

template <bag_mode Mo>
bool try_bag_20x7(const json& c) {
  return try_bag<nn::EmbeddingBag<20, 7, Mo>>(c) || try_bag<nn::EmbeddingBag<20, 7, Mo, true>>(c) ||
         try_bag<nn::EmbeddingBag<20, 7, Mo, false, 3>>(c) || try_bag<nn::EmbeddingBag<20, 7, Mo, false, -2>>(c);
}

// --- quantized -------------------------------------------------------------------------------------

template <dtype D>
using FloatQParamsObserver =
    std::conditional_t<D == dtype::quint8, default_float_qparams_observer, default_float_qparams_observer_4bit>;
template <dtype D>
using FloatQParamsQConfig =
    std::conditional_t<D == dtype::quint8, float_qparams_weight_only_qconfig, float_qparams_weight_only_qconfig_4bit>;

template <dtype D>
nn::quantized::EmbeddingWeight<D> torch_weight(const json& e) {
  const auto codes = ctq_test::ints<std::uint8_t>(e["int_repr"]);
  PerChannelQParams<float> qp{ctq_test::floats(e["scales"]), ctq_test::floats(e["zero_points"]), 0};
  return nn::quantized::EmbeddingWeight<D>({e["num_embeddings"].get<index_t>(), e["dim"].get<index_t>()}, qp,
                                           std::span<const std::uint8_t>(codes));
}

template <dtype D>
void check_weight(const nn::quantized::EmbeddingWeight<D>& q, const json& e) {
  const auto codes = ctq_test::ints<std::uint8_t>(e["int_repr"]);
  REQUIRE(q.int_repr().size() == codes.size());
  CHECK(std::equal(codes.begin(), codes.end(), q.int_repr().begin()));
  const auto scales = ctq_test::floats(e["scales"]), zps = ctq_test::floats(e["zero_points"]);
  REQUIRE(q.qparams().scales.size() == scales.size());
  for (std::size_t r = 0; r < scales.size(); ++r) {
    CHECK(ctq_test::same_float(q.qparams().scales[r], scales[r]));
    CHECK(ctq_test::same_float(q.qparams().zero_points[r], zps[r]));
  }
}

// Every case of one table, through modules built from `weight`.
template <index_t N, index_t Dim, dtype D>
void run_quantized_cases(const json& e, const nn::quantized::EmbeddingWeight<D>& weight, const std::string& from) {
  const nn::quantized::Embedding<N, Dim, D> emb(weight);
  const nn::quantized::EmbeddingBag<N, Dim, D> bag(weight);
  const nn::quantized::EmbeddingBag<N, Dim, D, true> bag_last(weight);
  int k = 0;
  for (const auto& c : e["cases"]) {
    const std::string what = e["name"].get<std::string>() + " case " + std::to_string(k++) + " " +
                             c["op"].get<std::string>() + ", weight from " + from;
    const bool psw = !c["per_sample_weights"].is_null();
    const std::size_t rank = c["indices_shape"].size();
    if (c["op"] == "embedding") {
      if (rank == 1) {
        check_same<2>(emb(index_tensor<std::int64_t, 1>(c["indices"], c["indices_shape"])), c["output"],
                      c["output_shape"], what);
      } else {
        check_same<3>(emb(index_tensor<std::int64_t, 2>(c["indices"], c["indices_shape"])), c["output"],
                      c["output_shape"], what);
      }
    } else if (rank == 1) {
      const auto x = index_tensor<std::int64_t, 1>(c["indices"], c["indices_shape"]);
      const auto off = index_tensor<std::int64_t, 1>(c["offsets"], json::array({c["offsets"].size()}));
      if (psw) {
        REQUIRE(!c["include_last_offset"].get<bool>());
        check_same<2>(bag(x, off, float_tensor<1>(c["per_sample_weights"], c["indices_shape"])), c["output"],
                      c["output_shape"], what);
      } else if (c["include_last_offset"].get<bool>()) {
        check_same<2>(bag_last(x, off), c["output"], c["output_shape"], what);
      } else {
        check_same<2>(bag(x, off), c["output"], c["output_shape"], what);
      }
    } else {
      const auto x = index_tensor<std::int64_t, 2>(c["indices"], c["indices_shape"]);
      if (psw) {
        check_same<2>(bag(x, float_tensor<2>(c["per_sample_weights"], c["indices_shape"])), c["output"],
                      c["output_shape"], what);
      } else {
        check_same<2>(bag(x), c["output"], c["output_shape"], what);
      }
    }
  }
}

template <index_t N, index_t Dim, dtype D>
bool try_quantized(const json& e) {
  if (e["num_embeddings"] != N || e["dim"] != Dim || e["dtype"] != dtype_traits<D>::name) return false;
  // ctq's quantization of PyTorch's float table (the observer and quantize_per_channel convert runs)
  nn::EmbeddingBag<N, Dim, bag_mode::sum> float_bag;
  load_weight(float_bag.weight, e["float_weight"]);
  const auto mine = detail::quantize_embedding_weight<FloatQParamsObserver<D>>(float_bag.weight);
  check_weight<D>(mine, e);
  run_quantized_cases<N, Dim, D>(e, torch_weight<D>(e), "PyTorch");
  run_quantized_cases<N, Dim, D>(e, mine, "ctq");
  // convert builds the same modules
  const ConvertInfo info{};
  using QC = FloatQParamsQConfig<D>;
  auto qbag = quantized_module<nn::EmbeddingBag<N, Dim, bag_mode::sum>>::template convert<QC>(float_bag, info);
  static_assert(std::is_same_v<decltype(qbag), nn::quantized::EmbeddingBag<N, Dim, D>>);
  check_weight<D>(qbag.weight(), e);
  nn::Embedding<N, Dim> float_emb;
  float_emb.weight = float_bag.weight;
  auto qemb = quantized_module<nn::Embedding<N, Dim>>::template convert<QC>(float_emb, info);
  static_assert(std::is_same_v<decltype(qemb), nn::quantized::Embedding<N, Dim, D>>);
  check_weight<D>(qemb.weight(), e);
  CHECK(qbag.parameter_bytes() == static_cast<std::size_t>(N * (D == dtype::quint8 ? Dim + 8 : Dim / 2 + 4)));
  return true;
}

// --- the workflow model ------------------------------------------------------------------------------

using WfBag = nn::EmbeddingBag<15, 8, bag_mode::sum>;
using WfNet = nn::Sequential<nn::named<"emb", WfBag>, nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<8, 4>>,
                             nn::named<"dequant", DeQuantStub>>;

template <class Mapping>
void run_workflow(const std::string& what) {
  INFO(what);
  const json& w = data()["workflow"];
  WfNet net;
  nn::StateDict sd;
  for (const auto& [key, values] : w["state"].items()) {
    nn::StateTensor t;
    t.values = ctq_test::floats(values);
    if (key == "emb.weight") t.shape = {15, 8};
    if (key == "fc.weight") t.shape = {4, 8};
    if (key == "fc.bias") t.shape = {4};
    sd.emplace(key, std::move(t));
  }
  nn::load_state_dict(net, sd);
  auto prepared = prepare<Mapping>(net);
  using P = decltype(prepared);
  static_assert(std::is_same_v<nn::module_at_t<P, "emb">, Observed<WfBag, float_qparams_weight_only_qconfig>>);
  static_assert(!Observed<WfBag, float_qparams_weight_only_qconfig>::observing);  // weight-only: nothing observed
  std::vector<Tensor<std::int64_t, 2>> batches;
  for (const auto& b : w["calibration"]) {
    std::vector<std::int64_t> v;
    for (const auto& row : b)
      for (const auto& i : row) v.push_back(i.get<std::int64_t>());
    batches.emplace_back(Shape<2>{static_cast<index_t>(b.size()), 3}, std::span<const std::int64_t>(v));
  }
  calibrate(prepared, batches);
  auto q = convert<backend::qnnpack>(prepared);
  using Q = decltype(q);
  static_assert(std::is_same_v<nn::module_at_t<Q, "emb">, nn::quantized::EmbeddingBag<15, 8>>);
  static_assert(std::is_same_v<nn::module_at_t<Q, "fc">, nn::quantized::Linear<8, 4>>);
  static_assert(fully_quantized<Q>);  // the quantized embedding computes in float but is not a float module
  std::vector<std::int64_t> t;
  for (const auto& row : w["test_indices"])
    for (const auto& i : row) t.push_back(i.get<std::int64_t>());
  const Tensor<std::int64_t, 2> x({static_cast<index_t>(w["test_indices"].size()), 3},
                                  std::span<const std::int64_t>(t));
  check_same<2>(q(x), w["output"], w["output_shape"], what);
}

}  // namespace

TEST_CASE("nn::Embedding matches PyTorch's nn.Embedding bit for bit") {
  int done = 0;
  for (const auto& c : data()["float_embedding"]) {
    const bool ok = try_embedding<nn::Embedding<10, 5>>(c) || try_embedding<nn::Embedding<7, 3>>(c) ||
                    try_embedding<nn::Embedding<10, 4, 2>>(c) || try_embedding<nn::Embedding<6, 4, -1>>(c) ||
                    try_embedding<nn::Embedding<6, 4, 1>>(c) || try_embedding<nn::Embedding<4, 3>>(c);
    CHECK_MESSAGE(ok, c["name"]);
    done += ok;
  }
  CHECK(done == 7);
  static_assert(nn::Embedding<6, 4, -1>::padding_idx == 5);
  static_assert(nn::Embedding<6, 4>::padding_idx == -1);
}

TEST_CASE("nn::EmbeddingBag matches PyTorch's F.embedding_bag bit for bit (sum, mean, max)") {
  int done = 0;
  for (const auto& c : data()["float_embedding_bag"]) {
    const bool ok =
        try_bag_20x7<bag_mode::sum>(c) || try_bag_20x7<bag_mode::mean>(c) || try_bag_20x7<bag_mode::max>(c) ||
        try_bag<nn::EmbeddingBag<20, 7, bag_mode::sum, false, 19>>(c) ||
        try_bag<nn::EmbeddingBag<10, 32, bag_mode::sum>>(c) || try_bag<nn::EmbeddingBag<8, 64, bag_mode::mean>>(c) ||
        try_bag<nn::EmbeddingBag<5, 3, bag_mode::max>>(c) || try_bag<nn::EmbeddingBag<5, 3, bag_mode::sum>>(c);
    CHECK_MESSAGE(ok, c["name"]);
    done += ok;
  }
  CHECK(done == 29);
}

TEST_CASE("quantized Embedding and EmbeddingBag: codes, row parameters and outputs match PyTorch bit for bit") {
  int done = 0;
  for (const auto& e : data()["quantized"]) {
    const bool ok = try_quantized<12, 10, dtype::quint8>(e) || try_quantized<8, 32, dtype::quint8>(e) ||
                    try_quantized<12, 10, dtype::quint4x2>(e) || try_quantized<8, 32, dtype::quint4x2>(e);
    CHECK_MESSAGE(ok, e["name"]);
    done += ok;
  }
  CHECK(done == 4);
}

TEST_CASE("convert of an EmbeddingBag with padding_idx: the zero padding row adds nothing, as in PyTorch") {
  const json& p = data()["padding_convert"];
  using Bag = nn::EmbeddingBag<9, 6, bag_mode::sum, false, 4>;
  REQUIRE(p["padding_idx"] == Bag::padding_idx);
  Bag m;
  load_weight(m.weight, p["float_weight"]);
  const auto x = index_tensor<std::int64_t, 1>(p["indices"], json::array({p["indices"].size()}));
  const auto off = index_tensor<std::int64_t, 1>(p["offsets"], json::array({p["offsets"].size()}));
  const json shape = json::array({p["offsets"].size(), 6});
  check_same<2>(m(x, off), p["float_output"], shape, "float");
  auto q = quantized_module<Bag>::convert<float_qparams_weight_only_qconfig>(m, ConvertInfo{});
  check_same<2>(q(x, off), p["quantized_output"], shape, "quantized");
  // a padding row holding values: PyTorch's quantized bag would add it, so convert refuses
  m.weight(4, 2) = 0.5f;
  CHECK_CTQ_ERROR(quantized_module<Bag>::convert<float_qparams_weight_only_qconfig>(m, ConvertInfo{}),
                  "padding row 4 is not zero");
}

TEST_CASE("eager PTQ: an EmbeddingBag gets float_qparams_weight_only_qconfig by type or by name, the rest qnnpack's") {
  using QC = get_default_qconfig<backend::qnnpack>;
  run_workflow<QConfigMapping<QC, for_type<WfBag, float_qparams_weight_only_qconfig>>>("for_type");
  run_workflow<QConfigMapping<QC, for_name<"emb", float_qparams_weight_only_qconfig>>>("for_name");
}

TEST_CASE("4-bit tables through prepare and convert") {
  using Net = nn::Sequential<nn::named<"emb", nn::Embedding<6, 4>>,
                             nn::named<"bag", nn::EmbeddingBag<6, 4, bag_mode::sum, true>>>;
  Net net;
  nn::reset_parameters(net, 3);
  auto q = convert(prepare<float_qparams_weight_only_qconfig_4bit>(net));
  static_assert(std::is_same_v<nn::module_at_t<decltype(q), "emb">, nn::quantized::Embedding<6, 4, dtype::quint4x2>>);
  static_assert(
      std::is_same_v<nn::module_at_t<decltype(q), "bag">, nn::quantized::EmbeddingBag<6, 4, dtype::quint4x2, true>>);
  // every code of a row is within [0, 15] and a row's extremes dequantize near its float extremes
  const auto& w = nn::module_at<"bag">(q).weight();
  for (index_t i = 0; i < w.size(); ++i) CHECK(w.value(i) <= 15);
}

TEST_CASE("reset_parameters: N(0, 1) rows and a zero padding row; the state is 'weight'") {
  nn::EmbeddingBag<50, 8, bag_mode::sum, false, -3> m;
  std::mt19937 g(7);
  m.reset_parameters(g);
  for (index_t j = 0; j < 8; ++j) CHECK(m.weight(47, j) == 0.0f);
  double sum = 0.0, sq = 0.0;
  for (float v : m.weight.values()) {
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double n = 49.0 * 8.0;
  CHECK(std::abs(sum / n) < 0.2);
  CHECK(std::abs(sq / n - 1.0) < 0.25);
  nn::Embedding<5, 2> e;
  const auto sd = nn::state_dict(e);
  REQUIRE(sd.size() == 1);
  CHECK(sd.begin()->first == "weight");
  CHECK(sd.begin()->second.shape == std::vector<index_t>{5, 2});
}

TEST_CASE("bad indices, offsets and weights raise ctq::error naming the problem") {
  nn::Embedding<10, 3> emb;
  const Tensor<std::int64_t, 1> bad({3}, {1, 10, 2});
  CHECK_CTQ_ERROR(emb(bad), "index 10 (at position 1 of the input) is out of range for 10 embeddings");
  const Tensor<std::int32_t, 2> negative({1, 2}, {0, -1});
  CHECK_CTQ_ERROR(emb(negative), "index -1 (at position 1");

  nn::EmbeddingBag<10, 3, bag_mode::sum> bag;
  const Tensor<std::int64_t, 1> x({4}, {1, 2, 3, 4});
  CHECK_CTQ_ERROR(bag(x, Tensor<std::int64_t, 1>({2}, {0, 11})), "offsets[1] is 11");
  CHECK_CTQ_ERROR(bag(x, Tensor<std::int64_t, 1>({2}, {1, 2})), "offsets[0] is 1; the first bag must start at index 0");
  CHECK_CTQ_ERROR(bag(x, Tensor<std::int64_t, 1>({3}, {0, 3, 2})), "offsets[2] is 2; offsets must not decrease");
  CHECK_CTQ_ERROR(bag(x, Tensor<std::int64_t, 1>({1}, {0}), Tensor<float, 1>({3}, {1, 2, 3})),
                  "3 per_sample_weights for 4 indices");
  CHECK_CTQ_ERROR(bag(Tensor<std::int64_t, 2>({1, 2}, {0, 2}), Tensor<float, 2>({2, 1}, {1, 2})),
                  "per_sample_weights must have the shape of the 2-d indices");
  CHECK_CTQ_ERROR(bag(Tensor<std::int64_t, 1>({2}, {0, 12}), Tensor<std::int64_t, 1>({1}, {0})), "index 12");

  nn::EmbeddingBag<10, 3, bag_mode::max, true> last;
  CHECK_CTQ_ERROR(last(x, Tensor<std::int64_t, 1>({0})), "include_last_offset needs at least one offset");
  CHECK_CTQ_ERROR(last(x, Tensor<std::int64_t, 1>({2}, {0, 3})), "must equal the number of indices (4), got 3");
  CHECK(last(x, Tensor<std::int64_t, 1>({2}, {0, 4})).shape() == Shape<2>{1, 3});

  nn::quantized::EmbeddingBag<10, 4, dtype::quint4x2> qbag;
  CHECK_CTQ_ERROR(qbag(Tensor<std::int64_t, 1>({1}, {10}), Tensor<std::int64_t, 1>({1}, {0})),
                  "nn::quantized::EmbeddingBag: index 10");
  CHECK_CTQ_ERROR(qbag(x, Tensor<std::int64_t, 1>({2}, {2, 4})), "offsets[0] is 2");
  // no offsets: no bags (PyTorch's non-FBGEMM kernel reads offsets[0] of the empty tensor and crashes)
  CHECK(qbag(x, Tensor<std::int64_t, 1>({0})).shape() == Shape<2>{0, 4});
  nn::quantized::Embedding<10, 4> qemb;
  CHECK_CTQ_ERROR(qemb(Tensor<std::int64_t, 1>({1}, {-2})), "nn::quantized::Embedding: index -2");

  using W = nn::quantized::EmbeddingWeight<dtype::quint8>;
  const W wrong({4, 4}, PerChannelQParams<float>{std::vector<float>(4, 1.0f), std::vector<float>(4, 0.0f), 0});
  CHECK_CTQ_ERROR((nn::quantized::Embedding<10, 4>(wrong)), "the weight is [4, 4], the module is [10, 4]");
  const W columns({10, 4}, PerChannelQParams<float>{std::vector<float>(4, 1.0f), std::vector<float>(4, 0.0f), 1});
  CHECK_CTQ_ERROR((nn::quantized::Embedding<10, 4>(columns)), "quantized per row (axis 0)");
}
