// ctq's quantized elementwise, activation and pooling kernels against PyTorch 1.13 on its qnnpack
// and onednn engines (tests/data/qops_reference.json, written by tools/reference/gen_qops.py),
// through the scalar and the vector path. Outputs must be equal code for code, with one stated
// tolerance: tanh on the ATen engines takes tanh from the C library where PyTorch's AVX2 code takes
// Sleef's tanhf, so an output may differ by 1 (counted and printed; none did when this was
// written). PyTorch's own scalar remainder, which rounds some outputs differently from its vector
// body, is reported but not followed (gen_qops.py).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <ctq/kernels.hpp>
#include <map>
#include <string>
#include <vector>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

namespace k = ctq::kernels;
using json = nlohmann::json;
using ctq::index_t;
using ctq::PerTensorQParams;

namespace {

const json& reference() {
  static const json data = ctq_test::load_reference("qops_reference.json");
  return data;
}
const json& cases() { return reference().at("cases"); }

template <class T>
std::vector<T> codes(const json& v) {
  const auto b = ctq_test::bytes_b64(v.get<std::string>());
  std::vector<T> out(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) out[i] = static_cast<T>(b[i]);
  return out;
}

template <class T>
std::vector<T> all_codes() {
  std::vector<T> out(256);
  for (std::size_t i = 0; i < 256; ++i) out[i] = k::CodeTable<T>::code(i);
  return out;
}

k::TorchConfig config(const json& c) {
  k::TorchConfig t;
  t.engine = c.at("engine") == "qnnpack" ? k::qengine::qnnpack : k::qengine::onednn;
  t.format = c.value("format", "contiguous") == "channels_last" ? k::memory_format::channels_last
                                                                : k::memory_format::contiguous;
  return t;
}

PerTensorQParams qparams(const json& c, const char* scale = "scale", const char* zero_point = "zero_point") {
  return {c.at(scale).get<float>(), c.at(zero_point).get<std::int32_t>()};
}

template <class F>
void with_dtype(const json& c, F&& f) {
  if (c.at("dtype") == "quint8") return f.template operator()<std::uint8_t>();
  if (c.at("dtype") == "qint8") return f.template operator()<std::int8_t>();
  FAIL("unknown dtype " << c.at("dtype"));
}

// Per op and engine: cases run, outputs compared, outputs off by one where a tolerance applies.
struct Tally {
  int cases = 0, outputs = 0, within_one = 0, pytorch_tail = 0, pytorch_errors = 0;
};
std::map<std::string, Tally>& tallies() {
  static std::map<std::string, Tally> t;
  return t;
}
Tally& tally(const json& c) {
  return tallies()[c.at("op").get<std::string>() + " / " + c.at("engine").get<std::string>()];
}

std::string label(const json& c) {
  return c.at("name").get<std::string>() + (c.contains("format") ? " (" + c.at("format").get<std::string>() + ")" : "");
}

// Compares got with want; tolerance 0 or 1. Reports the first three differences.
template <class T>
void compare(const std::vector<T>& want, const std::vector<T>& got, int tolerance, const std::string& what, Tally& t) {
  REQUIRE(want.size() == got.size());
  int wrong = 0, near = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const int d = std::abs(static_cast<int>(want[i]) - static_cast<int>(got[i]));
    if (d == 0) continue;
    if (d <= tolerance) {
      ++near;
      continue;
    }
    if (++wrong <= 3) MESSAGE(what << " [" << i << "]: PyTorch " << +want[i] << ", ctq " << +got[i]);
  }
  CHECK_MESSAGE(wrong == 0, what << ": " << wrong << " of " << want.size() << " outputs differ");
  t.outputs += static_cast<int>(want.size());
  t.within_one += near;
}

// Runs f(path) -> output for the scalar and the vector path and compares both with want.
template <class T, class F>
void check_paths(const std::vector<T>& want, int tolerance, const std::string& what, Tally& t, F&& f) {
  compare(want, f(ctq::arch::scalar{}), tolerance, what + " (scalar)", t);
  compare(want, f(ctq::arch::best{}), tolerance, what + " (" + ctq::arch::best::name() + ")", t);
}

void print_tallies() {
  for (const auto& [name, t] : tallies()) {
    MESSAGE(name << ": " << t.cases << " cases, " << t.outputs << " outputs compared, " << t.within_one
                 << " within 1 of PyTorch (tolerance), " << t.pytorch_errors << " PyTorch errors, " << t.pytorch_tail
                 << " outputs PyTorch's scalar remainder rounds differently (not followed)");
  }
  tallies().clear();
}

}  // namespace

TEST_CASE("the reference data is present and complete") {
  CHECK(cases().size() >= 800);
  CHECK(reference().at("torch_version").get<std::string>().rfind("1.13", 0) == 0);
  MESSAGE("generated with PyTorch " << reference().at("torch_version").get<std::string>() << ", CPU capability "
                                    << reference().at("cpu_capability").get<std::string>());
}

TEST_CASE("activations and scalar ops match PyTorch on every code") {
  for (const auto& c : cases()) {
    const std::string op = c.at("op");
    if (c.contains("pairs") || c.contains("a") || c.contains("x") || c.contains("inputs")) continue;
    const std::string name = label(c);
    CAPTURE(name);
    auto& t = tally(c);
    ++t.cases;
    t.pytorch_tail += c.value("tail_diff", 0);
    const auto torch = config(c);
    with_dtype(c, [&]<class T>() {
      const auto x = all_codes<T>();
      const auto in = qparams(c);
      const auto want = codes<T>(c.at("y"));
      const bool aten = torch.engine != k::qengine::qnnpack || std::is_signed_v<T>;
      const int tolerance = op == "tanh" && aten ? 1 : 0;
      auto run = [&](auto path) {
        std::vector<T> y(256);
        PerTensorQParams out = in;  // the output parameters of the clamps and leaky_relu (functional)
        if (op == "sigmoid") {
          out = k::sigmoid<T>(x, in, y, torch, path);
        } else if (op == "tanh") {
          out = k::tanh<T>(x, in, y, torch, path);
        } else if (op == "hardswish") {
          k::hardswish<T>(x, in, y, qparams(c, "out_scale", "out_zero_point"), torch, path);
        } else if (op == "elu") {
          k::elu<T>(x, in, y, qparams(c, "out_scale", "out_zero_point"), c.at("alpha").get<float>(),
                    c.at("scale_coef").get<float>(), c.at("input_scale_coef").get<float>(), path);
        } else if (op == "leaky_relu") {
          const bool given = c.contains("out_scale") && !c.contains("out_scale_double");
          k::leaky_relu<T>(x, in, y, given ? qparams(c, "out_scale", "out_zero_point") : in,
                           c.at("negative_slope").get<float>(), path);
        } else if (op == "relu") {
          k::relu<T>(x, in, y, path);
        } else if (op == "relu6") {
          k::relu6<T>(x, in, y, path);
        } else if (op == "hardtanh") {
          k::hardtanh<T>(x, in, c.at("min").get<float>(), c.at("max").get<float>(), y, path);
        } else if (op == "add_scalar") {
          out = k::add_scalar<T>(x, in, c.at("scalar").get<double>(), y, path);
        } else if (op == "mul_scalar") {
          out = k::mul_scalar<T>(x, in, c.at("scalar").get<double>(), y, path);
        } else {
          FAIL("unknown op " << op);
        }
        if (c.contains("out_scale_double")) {
          CHECK(out.scale == c.at("out_scale").get<float>());
          CHECK(out.zero_point == c.at("out_zero_point").get<std::int32_t>());
        }
        return y;
      };
      check_paths(want, tolerance, op, t, run);
    });
  }
  print_tallies();
}

TEST_CASE("add, add_relu, mul, mul_relu match PyTorch") {
  for (const auto& c : cases()) {
    const std::string op = c.at("op");
    if (op != "add" && op != "add_relu" && op != "mul" && op != "mul_relu") continue;
    const std::string name = label(c);
    CAPTURE(name);
    auto& t = tally(c);
    ++t.cases;
    const auto torch = config(c);
    with_dtype(c, [&]<class T>() {
      std::vector<T> a, b;
      if (c.contains("pairs")) {
        for (int i = 0; i < 256 * 52; ++i) {
          a.push_back(k::CodeTable<T>::code(static_cast<std::size_t>(i / 52)));
          b.push_back(k::CodeTable<T>::code(static_cast<std::size_t>(5 * (i % 52))));
        }
      } else {
        a = codes<T>(c.at("a"));
        b = codes<T>(c.at("b"));
      }
      const auto qa = qparams(c, "a_scale", "a_zero_point"), qb = qparams(c, "b_scale", "b_zero_point");
      const auto qy = qparams(c, "out_scale", "out_zero_point");
      auto run = [&](auto path) {
        std::vector<T> y(a.size());
        if (op == "add") k::add<T>(a, qa, b, qb, y, qy, torch, path);
        if (op == "add_relu") k::add_relu<T>(a, qa, b, qb, y, qy, torch, path);
        if (op == "mul") k::mul<T>(a, qa, b, qb, y, qy, path);
        if (op == "mul_relu") k::mul_relu<T>(a, qa, b, qb, y, qy, path);
        return y;
      };
      if (c.contains("error")) {
        ++t.pytorch_errors;
        CHECK_CTQ_ERROR(run(ctq::arch::scalar{}), "ctq: " + op + ": ");
        return;
      }
      t.pytorch_tail += c.value("tail_diff", 0);
      check_paths(codes<T>(c.at("y")), 0, op, t, run);
    });
  }
  print_tallies();
}

TEST_CASE("cat matches PyTorch for contiguous and channels-last tensors") {
  for (const auto& c : cases()) {
    if (c.at("op") != "cat") continue;
    const std::string name = label(c);
    CAPTURE(name);
    auto& t = tally(c);
    ++t.cases;
    with_dtype(c, [&]<class T>() {
      std::vector<std::vector<T>> data;
      for (const auto& in : c.at("inputs")) data.push_back(codes<T>(in.at("x")));
      std::vector<k::CatInput<T>> inputs;
      for (std::size_t i = 0; i < data.size(); ++i) {
        const auto& in = c.at("inputs")[i];
        inputs.push_back({data[i], in.at("channels").get<index_t>(), qparams(in)});
      }
      const auto want = codes<T>(c.at("y"));
      check_paths(want, 0, "cat", t, [&](auto path) {
        std::vector<T> y(want.size());
        k::cat<T>(inputs, c.at("n").get<index_t>(), c.at("h").get<index_t>(), c.at("w").get<index_t>(), y,
                  qparams(c, "out_scale", "out_zero_point"), config(c), path);
        return y;
      });
    });
  }
  print_tallies();
}

TEST_CASE("max, average and adaptive average pooling match PyTorch") {
  for (const auto& c : cases()) {
    const std::string op = c.at("op");
    if (op.find("pool") == std::string::npos) continue;
    const std::string name = label(c);
    CAPTURE(name);
    auto& t = tally(c);
    ++t.cases;
    if (c.contains("error")) {
      // PyTorch's qnnpack engine rejects 1 x 1 pooling; ctq computes it with ATen's rules.
      ++t.pytorch_errors;
      continue;
    }
    const auto torch = config(c);
    with_dtype(c, [&]<class T>() {
      const auto x = codes<T>(c.at("x"));
      const auto want = codes<T>(c.at("y"));
      const auto s = c.at("shape").get<std::vector<index_t>>();
      const auto qp = qparams(c);
      auto hw = [&](const char* key) {
        const auto v = c.at(key).get<std::vector<index_t>>();
        return k::HW{v[0], v[1]};
      };
      check_paths(want, 0, op, t, [&](auto path) {
        std::vector<T> y(want.size());
        if (op == "max_pool2d") {
          k::max_pool2d<T>(x, {s[0], s[1], s[2], s[3]}, y,
                           {hw("kernel"), hw("stride"), hw("padding"), hw("dilation"), c.at("ceil_mode").get<bool>()},
                           torch, path);
        } else if (op == "avg_pool2d") {
          k::avg_pool2d<T>(x, {s[0], s[1], s[2], s[3]}, qp, y,
                           {hw("kernel"), hw("stride"), hw("padding"), c.at("ceil_mode").get<bool>(),
                            c.at("count_include_pad").get<bool>(), c.at("divisor_override").get<index_t>()},
                           torch, path);
        } else if (op == "adaptive_avg_pool2d") {
          k::adaptive_avg_pool2d<T>(x, {s[0], s[1], s[2], s[3]}, qp, y, hw("output_size"), torch, path);
        } else if (op == "max_pool1d") {
          k::max_pool1d<T>(
              x, {s[0], s[1], s[2]}, y,
              {c.at("kernel").get<index_t>(), c.at("stride").get<index_t>(), c.at("padding").get<index_t>(),
               c.at("dilation").get<index_t>(), c.at("ceil_mode").get<bool>()},
              torch, path);
        } else if (op == "avg_pool1d") {
          k::avg_pool1d<T>(
              x, {s[0], s[1], s[2]}, qp, y,
              {c.at("kernel").get<index_t>(), c.at("stride").get<index_t>(), c.at("padding").get<index_t>(),
               c.at("ceil_mode").get<bool>(), c.at("count_include_pad").get<bool>()},
              torch, path);
        } else if (op == "adaptive_avg_pool1d") {
          k::adaptive_avg_pool1d<T>(x, {s[0], s[1], s[2]}, qp, y, c.at("output_size").get<index_t>(), torch, path);
        } else {
          FAIL("unknown op " << op);
        }
        return y;
      });
    });
  }
  print_tallies();
}
