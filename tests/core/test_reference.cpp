// ctq's core numerics against PyTorch 1.13 (tests/data/core_reference.json, written by
// tools/reference/gen_core.py). Integer outputs must be equal; float outputs must be bitwise equal
// too: every float result here is one correctly rounded operation on exact operands in both
// PyTorch and ctq (docs/numerics.md), so no tolerance is needed.
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/ctq.hpp>
#include <map>
#include <string>

#include "../support/reference.hpp"

using ctq::dtype;
using json = nlohmann::json;

namespace {

const json& cases() {
  static const json data = ctq_test::load_reference("core_reference.json");
  return data.at("cases");
}

// Calls f.template operator()<D>() for the dtype named in the reference data.
template <class F>
void with_dtype(const std::string& name, F&& f) {
  if (name == "quint8") return f.template operator()<dtype::quint8>();
  if (name == "qint8") return f.template operator()<dtype::qint8>();
  if (name == "qint32") return f.template operator()<dtype::qint32>();
  if (name == "quint4x2") return f.template operator()<dtype::quint4x2>();
  FAIL("unknown dtype " << name);
}

template <int R>
ctq::Tensor<float, R> tensor(const json& c, const char* key = "x") {
  return ctq_test::make_tensor<R>(c.at("shape"), ctq_test::floats(c.at(key)));
}

template <class F>
void with_rank(const json& c, F&& f) {
  ctq_test::with_rank(c.at("shape").size(), std::forward<F>(f));
}

template <class Paths, class F>
void for_each_path(F&& f) {
  f(ctq::arch::scalar{});
  f(ctq::arch::best{});
}

std::map<std::string, int> checked_cases;

using ctq_test::check_bits;

}  // namespace

TEST_CASE("reference data is present and large enough") { CHECK(cases().size() >= 200); }

TEST_CASE("quantize_per_tensor and dequantize match PyTorch") {
  int skipped = 0;
  for (const auto& c : cases()) {
    if (c.at("op") != "quantize_per_tensor") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    with_dtype(c.at("dtype"), [&]<dtype D>() {
      with_rank(c, [&]<int R>() {
        const auto x = tensor<R>(c);
        const float scale = c.at("scale").get<float>();
        const auto zp = c.at("zero_point").get<std::int32_t>();
        const auto expected = ctq_test::ints(c.at("q"));
        auto check = [&](auto path) {
          const auto q = ctq::quantize_per_tensor<D>(x, scale, zp, path);
          const auto repr = q.int_repr();
          REQUIRE(repr.size() == expected.size());
          for (std::size_t i = 0; i < repr.size(); ++i) {
            // PyTorch converts nearbyint(x * inv_scale) to int64 even where that is infinite or
            // beyond 2^63 (undefined behaviour; it yields quant_min on x86); ctq saturates to
            // quant_max. Those elements are the only ones excluded, and counted.
            const std::size_t per = ctq::is_sub_byte_dtype<D> ? 2 : 1;
            bool overflow = false;
            for (std::size_t k = i * per; k < std::min((i + 1) * per, static_cast<std::size_t>(x.size())); ++k) {
              const float t = x[static_cast<ctq::index_t>(k)] * (1.0f / scale);
              overflow |= !(std::fabs(t) < 9.2233720368547758e18f);  // 2^63
            }
            if (overflow) {
              ++skipped;
              continue;
            }
            CHECK_MESSAGE(static_cast<std::int64_t>(repr[i]) == expected[i], std::string(path.name())
                                                                                 << " stored element " << i);
          }
          if (c.contains("dq")) {
            const auto y =
                ctq::dequantize(ctq::QTensor<D, ctq::qscheme::per_tensor_affine, R>(
                                    x.shape(), {scale, zp},
                                    std::span<const ctq::storage_t<D>>(ctq_test::ints<ctq::storage_t<D>>(c.at("q")))),
                                path);
            check_bits(ctq_test::floats(c.at("dq")), y.data(), static_cast<std::size_t>(y.size()), "dequantize");
          }
        };
        check(ctq::arch::scalar{});
        check(ctq::arch::best{});
        ++checked_cases["quantize_per_tensor"];
      });
    });
  }
  MESSAGE("elements excluded because x / scale overflows float (PyTorch undefined): " << skipped);
}

TEST_CASE("quantize_per_channel and dequantize match PyTorch") {
  for (const auto& c : cases()) {
    const std::string op = c.at("op");
    const bool float_qparams = op == "quantize_per_channel_float_qparams";
    if (op != "quantize_per_channel" && !float_qparams) continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    with_dtype(c.at("dtype"), [&]<dtype D>() {
      with_rank(c, [&]<int R>() {
        const auto x = tensor<R>(c);
        const auto scales = ctq_test::floats(c.at("scales"));
        const int axis = c.at("axis");
        const auto expected = ctq_test::ints(c.at("q"));
        auto run = [&](auto zero_points, auto path) {
          if constexpr (std::is_same_v<typename decltype(zero_points)::value_type, float> &&
                        !(D == dtype::quint8 || D == dtype::quint4x2)) {
            FAIL("float qparams with " << ctq::dtype_traits<D>::name);
          } else {
            const auto q = ctq::quantize_per_channel<D>(x, scales, zero_points, axis, path);
            const auto repr = q.int_repr();
            REQUIRE(repr.size() == expected.size());
            for (std::size_t i = 0; i < repr.size(); ++i) {
              CHECK_MESSAGE(static_cast<std::int64_t>(repr[i]) == expected[i], std::string(path.name())
                                                                                   << " element " << i);
            }
            const auto y = ctq::dequantize(q, path);
            check_bits(ctq_test::floats(c.at("dq")), y.data(), static_cast<std::size_t>(y.size()), "dequantize");
          }
        };
        for_each_path<void>([&](auto path) {
          if (float_qparams) {
            run(ctq_test::floats(c.at("zero_points")), path);
          } else {
            run(ctq_test::ints<std::int32_t>(c.at("zero_points")), path);
          }
        });
        ++checked_cases[op];
      });
    });
  }
}

TEST_CASE("fake_quantize forward and straight-through gradient match PyTorch") {
  for (const auto& c : cases()) {
    const std::string op = c.at("op");
    if (op != "fake_quantize_per_tensor" && op != "fake_quantize_per_channel") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    with_rank(c, [&]<int R>() {
      const auto x = tensor<R>(c);
      const auto g = tensor<R>(c, "grad_output");
      const std::int64_t qmin = c.at("quant_min"), qmax = c.at("quant_max");
      for_each_path<void>([&](auto path) {
        ctq::FakeQuantizeResult<R> r;
        if (op == "fake_quantize_per_tensor") {
          r = ctq::fake_quantize_per_tensor_affine_cachemask(x, c.at("scale").get<float>(),
                                                             c.at("zero_point").get<std::int32_t>(), qmin, qmax, path);
          const auto plain = ctq::fake_quantize_per_tensor_affine(
              x, c.at("scale").get<float>(), c.at("zero_point").get<std::int32_t>(), qmin, qmax, path);
          CHECK(plain == r.output);
        } else {
          const auto scales = ctq_test::floats(c.at("scales"));
          const auto zps = ctq_test::ints<std::int32_t>(c.at("zero_points"));
          r = ctq::fake_quantize_per_channel_affine_cachemask(x, scales, zps, c.at("axis").get<int>(), qmin, qmax,
                                                              path);
        }
        check_bits(ctq_test::floats(c.at("y")), r.output.data(), static_cast<std::size_t>(r.output.size()),
                   std::string(path.name()) + " fake_quantize output");
        const auto gi = ctq::fake_quantize_backward(g, r.mask);
        check_bits(ctq_test::floats(c.at("grad_input")), gi.data(), static_cast<std::size_t>(gi.size()),
                   std::string(path.name()) + " fake_quantize gradient");
      });
      ++checked_cases[op];
    });
  }
}

TEST_CASE("quantize_per_tensor_dynamic matches PyTorch on qnnpack and onednn") {
  for (const auto& c : cases()) {
    if (c.at("op") != "quantize_per_tensor_dynamic") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    with_dtype(c.at("dtype"), [&]<dtype D>() {
      if constexpr (D == dtype::quint8 || D == dtype::qint8) {
        with_rank(c, [&]<int R>() {
          const auto x = tensor<R>(c);
          // ctq has no global engine: qnnpack's behaviour is reduce_range = false.
          const bool reduce_range = c.at("effective_reduce_range");
          const auto expected = ctq_test::ints(c.at("q"));
          for_each_path<void>([&](auto path) {
            const auto q = ctq::quantize_per_tensor_dynamic<D>(x, reduce_range, path);
            CHECK(q.scale() == c.at("scale").get<float>());
            CHECK(q.zero_point() == c.at("zero_point").get<std::int32_t>());
            const auto repr = q.int_repr();
            REQUIRE(repr.size() == expected.size());
            for (std::size_t i = 0; i < repr.size(); ++i) CHECK(static_cast<std::int64_t>(repr[i]) == expected[i]);
          });
          // The double scale PyTorch reports is the one choose_qparams returns.
          const auto v = x.array();
          const auto chosen = ctq::choose_qparams(
              v.minCoeff(), v.maxCoeff(), static_cast<std::int32_t>(ctq::dtype_traits<D>::quant_min),
              static_cast<std::int32_t>(ctq::dtype_traits<D>::quant_max), false, false, reduce_range);
          CHECK(chosen.scale == c.at("scale_double").get<double>());
          ++checked_cases["quantize_per_tensor_dynamic"];
        });
      } else {
        FAIL("dynamic quantization with " << ctq::dtype_traits<D>::name);
      }
    });
  }
}

TEST_CASE("requantize matches quantize(dequantize(q)) in PyTorch") {
  for (const auto& c : cases()) {
    if (c.at("op") != "requantize") continue;
    const std::string name = c.at("name");
    CAPTURE(name);
    with_dtype(c.at("src_dtype"), [&]<dtype S>() {
      with_dtype(c.at("dst_dtype"), [&]<dtype D>() {
        const auto in = ctq_test::ints<ctq::storage_t<S>>(c.at("q_in"));
        const ctq::QTensor<S, ctq::qscheme::per_tensor_affine, 1> q(
            {static_cast<ctq::index_t>(in.size())},
            {c.at("src_scale").get<float>(), c.at("src_zero_point").get<std::int32_t>()},
            std::span<const ctq::storage_t<S>>(in));
        const auto expected = ctq_test::ints(c.at("q"));
        for_each_path<void>([&](auto path) {
          const auto r =
              ctq::requantize<D>(q, {c.at("dst_scale").get<float>(), c.at("dst_zero_point").get<std::int32_t>()}, path);
          for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(r.value(static_cast<ctq::index_t>(i)) == expected[i]);
          }
        });
        ++checked_cases["requantize"];
      });
    });
  }
}

TEST_CASE("to_float16 rounds like PyTorch's x.to(torch.float16)") {
  for (const auto& c : cases()) {
    if (c.at("op") != "to_float16") continue;
    const auto x = tensor<1>(c);
    const auto bits = ctq_test::ints(c.at("bits"));
    const auto h = ctq::to_float16(x);
    REQUIRE(h.size() == bits.size());
    for (std::size_t i = 0; i < h.size(); ++i) {
      CHECK_MESSAGE(h[i].bits == bits[i], "x=" << x[static_cast<ctq::index_t>(i)]);
      // Back to float is exact: the value must round-trip through float16 again.
      CHECK(ctq::float16_t::from_float(h[i].to_float()).bits == h[i].bits);
    }
    ++checked_cases["to_float16"];
  }
}

TEST_CASE("summary: every reference case was checked") {
  int total = 0;
  for (const auto& [op, n] : checked_cases) {
    MESSAGE(op << ": " << n << " cases");
    total += n;
  }
  CHECK(total == static_cast<int>(cases().size()));
}
