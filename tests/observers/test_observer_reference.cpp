// Observers against PyTorch 1.13 (tests/data/observer_reference.json, written by
// tools/reference/gen_observers.py). The cases carry their arguments as data, so this test drives
// the observers' runtime cores (the class templates are thin wrappers over them; a few typed
// instantiations are checked against the same cases at the end).
// Requirement: min/max state, histogram and zero points equal; scale within 1 ulp of float32 (the
// count of scales that are not bitwise equal is reported; expected 0).
#include <doctest/doctest.h>

#include <ctq/observers/histogram_observer.hpp>
#include <ctq/observers/min_max_observer.hpp>
#include <ctq/observers/moving_average_min_max_observer.hpp>
#include <ctq/observers/moving_average_per_channel_min_max_observer.hpp>
#include <ctq/observers/per_channel_min_max_observer.hpp>
#include <map>
#include <string>

#include "../support/reference.hpp"

using json = nlohmann::json;
using ctq::dtype;
using ctq::qscheme;

namespace {

const json& cases() {
  static const json data = ctq_test::load_reference("observer_reference.json");
  return data.at("cases");
}

dtype parse_dtype(const std::string& s) {
  if (s == "quint8") return dtype::quint8;
  if (s == "qint8") return dtype::qint8;
  if (s == "qint32") return dtype::qint32;
  if (s == "quint4x2") return dtype::quint4x2;
  throw std::runtime_error("dtype " + s);
}

qscheme parse_qscheme(const std::string& s) {
  if (s == "per_tensor_affine") return qscheme::per_tensor_affine;
  if (s == "per_tensor_symmetric") return qscheme::per_tensor_symmetric;
  if (s == "per_channel_affine") return qscheme::per_channel_affine;
  if (s == "per_channel_symmetric") return qscheme::per_channel_symmetric;
  if (s == "per_channel_affine_float_qparams") return qscheme::per_channel_affine_float_qparams;
  throw std::runtime_error("qscheme " + s);
}

ctq::UniformArgs parse_args(const json& a) {
  ctq::UniformArgs u;
  u.dtype = parse_dtype(a.at("dtype"));
  u.qscheme = parse_qscheme(a.at("qscheme"));
  u.reduce_range = a.at("reduce_range");
  if (!a.at("quant_min").is_null()) u.quant_min = a.at("quant_min").get<std::int64_t>();
  if (!a.at("quant_max").is_null()) u.quant_max = a.at("quant_max").get<std::int64_t>();
  if (a.contains("eps")) u.eps = a.at("eps").get<float>();
  return u;
}

// The compile-time rules of ctq::detail::check_uniform_args, evaluated at run time: a case that
// breaks one cannot be built as a ctq type at all.
const char* rejected_by_ctq(const ctq::UniformArgs& u) {
  if (u.has_customized_qrange() && (u.quant_min < u.dtype_min() || u.quant_max > u.dtype_max()))
    return "custom range outside the dtype";
  if (ctq::is_symmetric(u.qscheme) && u.reduce_range && u.dtype == dtype::quint8)
    return "symmetric quint8 with reduce_range (PyTorch's HistogramObserver accepts it and returns zero point 128 "
           "outside [0, 127])";
  if (u.qscheme == qscheme::per_channel_affine_float_qparams &&
      !(u.dtype == dtype::quint8 || u.dtype == dtype::quint4x2))
    return "float_qparams with a dtype other than quint8/quint4x2";
  return nullptr;
}

template <int R>
ctq::Tensor<float, R> input_tensor(const json& in) {
  return ctq_test::make_tensor<R>(in.at("shape"), ctq_test::floats_b64(in.at("x")));
}

using ctq_test::with_rank;

struct Tally {
  int cases = 0, scales = 0, scales_not_bitwise = 0;
};
std::map<std::string, Tally> tally;
std::map<std::string, int> skipped;
int warnings_seen = 0;

void count_warning(const char*) { ++warnings_seen; }

void check_scales(const json& c, const std::vector<float>& scales, Tally& t) {
  const auto expected = ctq_test::floats(c.at("scale"));
  REQUIRE(expected.size() == scales.size());
  for (std::size_t i = 0; i < scales.size(); ++i) {
    const auto d = ctq_test::ulp_distance(expected[i], scales[i]);
    CHECK_MESSAGE(d <= 1, "scale " << i << ": PyTorch " << expected[i] << ", ctq " << scales[i]);
    ++t.scales;
    t.scales_not_bitwise += d != 0;
  }
}

void check_min_max(const json& c, float mn, float mx) {
  CHECK(ctq_test::same_float(ctq_test::to_float(c.at("min_val")), mn));
  CHECK(ctq_test::same_float(ctq_test::to_float(c.at("max_val")), mx));
}

}  // namespace

TEST_CASE("observers match PyTorch 1.13 on every reference case") {
  auto previous = ctq::set_warning_handler(&count_warning);
  int unobserved = 0;
  for (const auto& c : cases()) {
    const std::string kind = c.at("observer"), name = c.at("name");
    CAPTURE(name);
    const auto& a = c.at("args");
    const auto u = parse_args(a);
    if (const char* why = rejected_by_ctq(u)) {
      ++skipped[why];
      continue;
    }
    const auto& inputs = c.at("inputs");
    unobserved += inputs.empty();
    Tally& t = tally[kind];
    ++t.cases;
    if (kind == "MinMaxObserver" || kind == "MovingAverageMinMaxObserver" || kind == "HistogramObserver") {
      ctq::PerTensorQParams qp;
      if (kind == "HistogramObserver") {
        ctq::detail::HistogramImpl h(a.at("bins"), a.at("upsample_rate"), u);
        for (const auto& in : inputs) {
          const auto v = ctq_test::floats_b64(in.at("x"));
          h.observe(v.data(), static_cast<ctq::index_t>(v.size()), "HistogramObserver");
        }
        check_min_max(c, h.state.min_val, h.state.max_val);
        const auto hist = ctq_test::floats_b64(c.at("histogram"));
        REQUIRE(hist.size() == h.state.histogram.size());
        int differ = 0;
        for (std::size_t i = 0; i < hist.size(); ++i) differ += !ctq_test::same_float(hist[i], h.state.histogram[i]);
        CHECK_MESSAGE(differ == 0, differ << " histogram bins differ");
        qp = h.qparams("HistogramObserver");
      } else if (kind == "MinMaxObserver") {
        ctq::detail::MinMaxImpl m;
        for (const auto& in : inputs) {
          const auto v = ctq_test::floats_b64(in.at("x"));
          m.observe(v.data(), static_cast<ctq::index_t>(v.size()), kind);
        }
        check_min_max(c, m.state.min_val, m.state.max_val);
        qp = ctq::detail::per_tensor_qparams(u, m.state, kind);
      } else {
        ctq::detail::MovingAverageImpl m{a.at("averaging_constant").get<float>()};
        for (const auto& in : inputs) {
          const auto v = ctq_test::floats_b64(in.at("x"));
          m.observe(v.data(), static_cast<ctq::index_t>(v.size()), kind);
        }
        check_min_max(c, m.state.range.min_val, m.state.range.max_val);
        qp = ctq::detail::per_tensor_qparams(u, m.state.range, kind);
      }
      check_scales(c, {qp.scale}, t);
      CHECK(c.at("zero_point").at(0).get<std::int64_t>() == qp.zero_point);
    } else {
      const float c_avg = a.contains("averaging_constant") ? a.at("averaging_constant").get<float>() : 0.0f;
      ctq::detail::PerChannelImpl impl{c_avg};
      const int ch_axis = a.at("ch_axis");
      for (const auto& in : inputs) {
        with_rank(in.at("shape").size(), [&]<int R>() {
          const int axis = ch_axis < 0 ? ch_axis + R : ch_axis;
          impl.observe(input_tensor<R>(in), axis, kind);
        });
      }
      const auto mins = ctq_test::floats(c.at("min_val")), maxs = ctq_test::floats(c.at("max_val"));
      CHECK(mins == impl.ranges.min_val);
      CHECK(maxs == impl.ranges.max_val);
      std::vector<float> scales;
      std::vector<double> zps;
      auto collect = [&]<qscheme S>() {
        const auto qp = ctq::detail::per_channel_qparams<S>(u, impl.ranges, ch_axis, kind);
        scales = qp.scales;
        for (auto z : qp.zero_points) zps.push_back(static_cast<double>(z));
      };
      if (u.qscheme == qscheme::per_channel_affine_float_qparams) {
        collect.template operator()<qscheme::per_channel_affine_float_qparams>();
      } else {
        collect.template operator()<qscheme::per_channel_affine>();
      }
      check_scales(c, scales, t);
      const auto& ez = c.at("zero_point");
      REQUIRE(ez.size() == zps.size());
      for (std::size_t i = 0; i < zps.size(); ++i) {
        if (ez[i].is_number_integer()) {
          CHECK(ez[i].get<std::int64_t>() == static_cast<std::int64_t>(zps[i]));
        } else {
          // float zero points: -min / scale in float32, compared bitwise
          CHECK(ctq_test::same_float(ez[i].get<float>(), static_cast<float>(zps[i])));
        }
      }
    }
  }
  ctq::set_warning_handler(previous);
  int total = 0;
  for (const auto& [kind, t] : tally) {
    MESSAGE(kind << ": " << t.cases << " cases, " << t.scales << " scales, " << t.scales_not_bitwise
                 << " not bitwise equal (within 1 ulp)");
    total += t.cases;
  }
  for (const auto& [why, n] : skipped) MESSAGE("not buildable in ctq (" << why << "): " << n << " cases");
  CHECK(total >= 300);
  CHECK(tally["HistogramObserver"].cases >= 20);
  // calculate_qparams before any data warns, as PyTorch does
  CHECK(warnings_seen == unobserved);
}
