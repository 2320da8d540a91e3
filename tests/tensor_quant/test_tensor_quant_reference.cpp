// The amax toolkit against tests/data/tensor_quant_reference.json, written by
// tools/reference/gen_tensor_quant.py: a transcription of NVIDIA pytorch_quantization's
// algorithms on PyTorch 1.13 tensors (NVIDIA's package is not available here), generated with
// ATEN_CPU_CAPABILITY=default (PyTorch's AVX2 linspace fuses one product into an FMA).
// Every output, scale, amax, histogram and bin edge is compared bitwise; calibrator amax values
// are the bin edges / centres the reference picks (one documented near-tie accepts either).
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/tensor_quant.hpp>
#include <map>
#include <string>

#include "../support/reference.hpp"

using json = nlohmann::json;
using namespace ctq;

namespace {

const json& cases() {
  static const json data = ctq_test::load_reference("tensor_quant_reference.json");
  return data.at("cases");
}

// Integers from JSON carry no sign of zero: compared by value.
void check_values(const std::vector<float>& expected, const float* got, std::size_t n, const std::string& what) {
  REQUIRE(expected.size() == n);
  int wrong = 0;
  for (std::size_t i = 0; i < n; ++i) wrong += expected[i] != got[i];
  CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " of " << n << " differ");
}

using ctq_test::check_bits;

AxisSet axis_set(const json& axis) {
  AxisSet s;
  if (axis.is_null()) return s;
  if (axis.is_number()) {
    s.values[s.count++] = axis.get<int>();
  } else {
    for (const auto& a : axis) s.values[s.count++] = a.get<int>();
  }
  return s;
}

template <int R>
Amax<R> amax_of(const json& c) {
  const auto values = ctq_test::floats_b64(c.at("amax"));
  const auto& shape = c.at("amax_shape");
  if (shape.empty() || values.size() == 1) {
    REQUIRE(values.size() == 1);
    return Amax<R>::per_tensor(values[0]);
  }
  Amax<R> a;
  REQUIRE(static_cast<int>(shape.size()) == R);
  for (int i = 0; i < R; ++i) a.shape[static_cast<std::size_t>(i)] = shape[static_cast<std::size_t>(i)].get<index_t>();
  a.values = values;
  return a;
}

std::vector<float> ints_as_floats(const json& a) {
  std::vector<float> v;
  for (const auto& e : a) v.push_back(static_cast<float>(e.get<double>()));
  return v;
}

std::map<std::string, int> counts;

}  // namespace

TEST_CASE("the seed document's example: tensor_quant gives [126, 113, ...] with scale 128.0057") {
  for (const auto& c : cases()) {
    if (c.at("op") != "seed_example") continue;
    const auto xv = ctq_test::floats_b64(c.at("x"));
    const Tensor<float, 1> x({10}, std::span<const float>(xv));
    const float amax = reduce_amax(x).values[0];
    CHECK(amax == c.at("amax").get<float>());
    const auto r = tensor_quant(x, amax);
    check_values(ints_as_floats(c.at("doc_q")), r.outputs.data(), 10, "tensor_quant");
    CHECK(r.scale[0] == c.at("scale").get<float>());
    CHECK(r.scale[0] == doctest::Approx(128.0057).epsilon(1e-6));
    const auto fake = fake_tensor_quant(x, amax);
    check_bits(ctq_test::floats_b64(c.at("fake")), fake.data(), 10, "fake_tensor_quant");
    ++counts["seed_example"];
  }
  CHECK(counts["seed_example"] == 1);
}

TEST_CASE("tensor_quant, fake_tensor_quant and the STE mask match the reference") {
  for (const auto& c : cases()) {
    if (c.at("op") != "tensor_quant") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    ctq_test::with_rank(c.at("shape").size(), [&]<int R>() {
      const auto x = ctq_test::make_tensor<R>(c.at("shape"), ctq_test::floats_b64(c.at("x")));
      const auto amax = amax_of<R>(c);
      if (c.at("amax_source") == "reduce_amax") {
        const auto computed = reduce_amax(x, axis_set(c.at("axis")));
        check_bits(amax.values, computed.values.data(), computed.values.size(), "reduce_amax");
      }
      const int bits = c.at("num_bits");
      const bool is_unsigned = c.at("unsigned"), narrow = c.at("narrow_range");
      const auto r = tensor_quant(x, amax, bits, is_unsigned, narrow);
      check_values(ints_as_floats(c.at("q")), r.outputs.data(), static_cast<std::size_t>(r.outputs.size()), "q");
      check_bits(ctq_test::floats_b64(c.at("scale")), r.scale.data(), r.scale.size(), "scale");
      const auto fake = fake_tensor_quant(x, amax, bits, is_unsigned, narrow);
      check_bits(ctq_test::floats_b64(c.at("fake")), fake.data(), static_cast<std::size_t>(fake.size()), "fake");
      Tensor<float, R> ones(x.shape());
      for (auto& v : ones.values()) v = 1.0f;
      const auto g = tensor_quant_backward(ones, x, amax);
      check_values(ints_as_floats(c.at("grad_mask")), g.data(), static_cast<std::size_t>(g.size()), "grad mask");
    });
    ++counts["tensor_quant"];
  }
  CHECK(counts["tensor_quant"] >= 40);
}

TEST_CASE("use_fb_fake_quant: PyTorch's fake quantize with scale amax / bound") {
  for (const auto& c : cases()) {
    if (c.at("op") != "fb_fake_quant") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    ctq_test::with_rank(c.at("shape").size(), [&]<int R>() {
      const auto x = ctq_test::make_tensor<R>(c.at("shape"), ctq_test::floats_b64(c.at("x")));
      const auto y = detail::fb_fake_quant(x, amax_of<R>(c), c.at("num_bits").get<int>(), c.at("unsigned").get<bool>());
      check_bits(ctq_test::floats_b64(c.at("y")), y.data(), static_cast<std::size_t>(y.size()), "y");
    });
    ++counts["fb_fake_quant"];
  }
  CHECK(counts["fb_fake_quant"] == 5);
}

namespace {
template <QuantDescriptor D>
void run_quantizer(const json& c) {
  ctq_test::with_rank(c.at("shape").size(), [&]<int R>() {
    const auto x = ctq_test::make_tensor<R>(c.at("shape"), ctq_test::floats_b64(c.at("x")));
    TensorQuantizer<D> q;
    const auto amax = q.get_amax(x);
    check_bits(ctq_test::floats_b64(c.at("amax")), amax.values.data(), amax.values.size(), "amax");
    const auto y = q(x);
    check_bits(ctq_test::floats_b64(c.at("y")), y.data(), static_cast<std::size_t>(y.size()), "y");
    if (!c.at("scale").is_null()) {
      check_bits(ctq_test::floats_b64(c.at("scale")), q.scale().data(), q.scale().size(), "scale");
    }
  });
}
}  // namespace

TEST_CASE("TensorQuantizer<Descriptor> matches the reference") {
  const std::map<std::string, void (*)(const json&)> quantizers = {
      {"default_desc_dynamic_fake_full_range", run_quantizer<QuantDescriptor{}>},
      {"default_desc_dynamic_real_narrow", run_quantizer<QuantDescriptor{.fake_quant = false}>},
      {"fake_narrow_true", run_quantizer<QuantDescriptor{.narrow_range = true}>},
      {"axis0_dynamic_fake", run_quantizer<QuantDescriptor{.axis = axes(0)}>},
      {"axis2_dynamic_real_4bit", run_quantizer<QuantDescriptor{.num_bits = 4, .fake_quant = false, .axis = axes(2)}>},
      {"given_amax_scale_amax", run_quantizer<QuantDescriptor{.amax = 1.25f, .scale_amax = 0.5f}>},
      {"unsigned_4bit_axis0_real",
       run_quantizer<QuantDescriptor{.num_bits = 4, .fake_quant = false, .axis = axes(0), .is_unsigned = true}>},
  };
  int skipped = 0;
  for (const auto& c : cases()) {
    if (c.at("op") != "tensor_quantizer") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    if (!c.at("desc").at("amax").is_null() && c.at("desc").at("amax").is_array()) {
      ++skipped;  // a descriptor amax is one number in ctq; per-channel amax comes from calibration
      continue;
    }
    REQUIRE_MESSAGE(quantizers.count(name) == 1, "no ctq descriptor for " << name);
    quantizers.at(name)(c);
    ++counts["tensor_quantizer"];
  }
  MESSAGE("tensor_quantizer cases with a list amax in the descriptor (not expressible): " << skipped);
  CHECK(counts["tensor_quantizer"] == 7);
}

// learn_amax: the quantizer starts from the descriptor's amax (clip range [-amax, amax]); the
// reference runs NVIDIA's Clip + fake_tensor_quant with autograd. Outputs and the input gradient
// are exact (a clamp, a mask); the clip bounds' gradients are sums of the output gradient over the
// clipped inputs, which torch adds in float32 and ctq in double (then rounds once): within (n + 1) * 2^-24 * sum |g|.
template <QuantDescriptor D>
void run_learn_amax(const json& c) {
  TensorQuantizer<D> q;
  CHECK(q.learned_amax() == D.amax);
  const float lo = ctq_test::to_float(c.at("clip_min")), hi = ctq_test::to_float(c.at("clip_max"));
  q.set_clip_range(lo, hi);
  const Tensor<float, 2> x = ctq_test::make_tensor<2>(c.at("shape"), ctq_test::floats_b64(c.at("x")));
  const Tensor<float, 2> y = q(x);
  check_values(ctq_test::floats_b64(c.at("y")), y.data(), static_cast<std::size_t>(y.size()), "y");
  const Tensor<float, 2> g = ctq_test::make_tensor<2>(c.at("shape"), ctq_test::floats_b64(c.at("grad_output")));
  const auto grads = q.backward(g);
  check_values(ctq_test::floats_b64(c.at("grad_input")), grads.input.data(),
               static_cast<std::size_t>(grads.input.size()), "grad_input");
  double magnitude = 0.0;
  for (index_t i = 0; i < g.size(); ++i) magnitude += std::abs(g[i]);
  const double bound = static_cast<double>(g.size() + 1) * std::ldexp(1.0, -24) * magnitude;
  CHECK(std::abs(grads.clip_min - ctq_test::to_float(c.at("grad_clip_min"))) <= bound);
  CHECK(std::abs(grads.clip_max - ctq_test::to_float(c.at("grad_clip_max"))) <= bound);
  // With the clip stage off, the range is not learned: the same output, no bound gradients.
  q.disable_clip();
  const Tensor<float, 2> y2 = q(x);
  check_values(ctq_test::floats_b64(c.at("y")), y2.data(), static_cast<std::size_t>(y2.size()), "y, clip off");
  const auto frozen = q.backward(g);
  CHECK(frozen.clip_min == 0.0f);
  CHECK(frozen.clip_max == 0.0f);
  ++counts["learn_amax"];
}

TEST_CASE("learn_amax: the clip stage and its gradients match NVIDIA's Clip on the reference") {
  for (const auto& c : cases()) {
    if (c.at("op") != "learn_amax") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    if (c.at("narrow_range").get<bool>()) {
      run_learn_amax<QuantDescriptor{.amax = 1.5f, .learn_amax = true, .narrow_range = true}>(c);
    } else {
      run_learn_amax<QuantDescriptor{.amax = 1.5f, .learn_amax = true}>(c);
    }
  }
  CHECK(counts["learn_amax"] == 3);
  // init_learn_amax: the range from a loaded per-channel amax starts at its largest value.
  TensorQuantizer<QuantDescriptor{.amax = 1.0f, .learn_amax = true}> q;
  q.set_amax({{3}, {0.5f, 2.5f, 1.0f}});
  q.init_learn_amax();
  CHECK(q.clip_min() == -2.5f);
  CHECK(q.clip_max() == 2.5f);
  CHECK_THROWS_AS(q.set_clip_range(1.0f, -1.0f), ctq::error);
}

TEST_CASE("MaxCalibrator matches the reference; merge equals one calibrator over all batches") {
  for (const auto& c : cases()) {
    if (c.at("op") != "max_calibrator") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    MaxCalibrator cal(axis_set(c.at("axis")), 8, c.at("unsigned").get<bool>(), true);
    MaxCalibrator first_half(axis_set(c.at("axis"))), second_half(axis_set(c.at("axis")));
    const auto& batches = c.at("batches");
    for (std::size_t b = 0; b < batches.size(); ++b) {
      ctq_test::with_rank(batches[b].at("shape").size(), [&]<int R>() {
        const auto x = ctq_test::make_tensor<R>(batches[b].at("shape"), ctq_test::floats_b64(batches[b].at("x")));
        cal.collect(x);
        (b < batches.size() / 2 ? first_half : second_half).collect(x);
      });
    }
    check_bits(ctq_test::floats_b64(c.at("amax")), cal.compute_amax().values.data(), cal.compute_amax().values.size(),
               "amax");
    REQUIRE(cal.amaxs().size() == c.at("amaxs").size());
    for (std::size_t b = 0; b < cal.amaxs().size(); ++b) {
      check_bits(ctq_test::floats_b64(c.at("amaxs")[b]), cal.amaxs()[b].values.data(), cal.amaxs()[b].values.size(),
                 "batch amax");
    }
    first_half.merge(second_half);
    CHECK(first_half.compute_amax() == cal.compute_amax());
    ++counts["max_calibrator"];
  }
  CHECK(counts["max_calibrator"] == 7);
}

TEST_CASE("HistogramCalibrator: histogram, bin edges, entropy / percentile / mse amax match the reference") {
  int near_ties = 0;
  for (const auto& c : cases()) {
    if (c.at("op") != "histogram_calibrator") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    HistogramCalibrator cal(8, c.at("unsigned").get<bool>(), c.at("num_bins").get<int>(),
                            c.at("skip_zeros").get<bool>());
    for (const auto& b : c.at("batches")) {
      ctq_test::with_rank(b.at("shape").size(), [&]<int R>() {
        cal.collect(ctq_test::make_tensor<R>(b.at("shape"), ctq_test::floats_b64(b.at("x"))));
      });
    }
    REQUIRE(cal.histogram().size() == c.at("final_num_bins").get<std::size_t>());
    check_values(ints_as_floats(c.at("hist")), cal.histogram().data(), cal.histogram().size(), "histogram");
    const auto edges = ctq_test::floats_b64(c.at("bin_edges"));
    check_bits(edges, cal.bin_edges().data(), cal.bin_edges().size(), "bin edges");
    for (const auto& r : c.at("results")) {
      const std::string method = r.at("method");
      CAPTURE(method);
      const float expected = r.at("amax").get<float>();
      if (method == "percentile") {
        CHECK(cal.compute_amax_percentile(r.at("percentile").get<double>()) == expected);
        continue;
      }
      HistogramCalibrator with_bits(r.at("num_bits").get<int>(), r.at("unsigned").get<bool>());
      with_bits.merge(cal);  // same statistics, the method's bit width and signedness
      if (method == "entropy") {
        CHECK(with_bits.compute_amax_entropy(r.at("stride"), r.at("start_bin")) == expected);
      } else {
        const float got = with_bits.compute_amax_mse(r.at("stride"), r.at("start_bin"));
        // A relative gap below 1e-6 between the best and second-best MSE is within float32
        // summation order: either candidate is accepted there (and counted).
        const double best = r.at("best_mse"), second = r.at("runner_up_mse");
        if (got != expected && std::fabs(second - best) <= 1e-6 * best) {
          ++near_ties;
        } else {
          CHECK(got == expected);
        }
      }
    }
    ++counts["histogram_calibrator"];
  }
  MESSAGE("mse near-ties resolved the other way: " << near_ties);
  CHECK(counts["histogram_calibrator"] == 24);
}
