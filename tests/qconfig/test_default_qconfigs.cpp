// The named qconfigs and get_default_qconfig / get_default_qat_qconfig per backend, against what
// PyTorch 1.13 instantiates (tests/data/qconfig_reference.json, from tools/reference/gen_qconfigs.py),
// and the backend rules of QConfigFor.
#include <doctest/doctest.h>

#include <ctq/ctq.hpp>
#include <functional>
#include <map>
#include <string>

#include "../support/reference.hpp"

using json = nlohmann::json;
using namespace ctq;

namespace {

std::string dtype_name(dtype d) {
  switch (d) {
    case dtype::quint8: return "quint8";
    case dtype::qint8: return "qint8";
    case dtype::qint32: return "qint32";
    case dtype::quint4x2: return "quint4x2";
    case dtype::float16: return "float16";
    case dtype::float32: return "float32";
  }
  return "?";
}

// The attributes gen_qconfigs.py records, read off a ctq observer or fake-quantizer type.
template <class T>
json describe() {
  json d;
  d["class"] = std::string(T::name);
  if constexpr (requires { typename T::observer_type; }) {
    d["observer"] = describe<typename T::observer_type>();
    return d;
  } else {
    if constexpr (requires { T::dtype; }) d["dtype"] = dtype_name(T::dtype);
    if constexpr (requires { T::compute_dtype; }) {
      if (T::compute_dtype != dtype::float32) d["compute_dtype"] = dtype_name(T::compute_dtype);
    }
    if constexpr (requires { T::args.eps; }) {
      const auto u = detail::uniform_args(T::args);
      d["reduce_range"] = u.reduce_range;
      d["quant_min"] = u.qmin();
      d["quant_max"] = u.qmax();
      d["has_customized_qrange"] = u.has_customized_qrange();
      d["qscheme"] = std::string(name(u.qscheme));
      d["eps"] = u.eps;
    }
    if constexpr (requires { T::args.averaging_constant; }) d["averaging_constant"] = T::args.averaging_constant;
    if constexpr (requires { T::args.ch_axis; }) d["ch_axis"] = T::args.ch_axis;
    if constexpr (requires { T::args.bins; }) {
      d["bins"] = T::args.bins;
      d["upsample_rate"] = T::args.upsample_rate;
    }
    return d;
  }
}

template <class QC>
json describe_qconfig() {
  return {{"activation", describe<typename QC::activation>()}, {"weight", describe<typename QC::weight>()}};
}

// Every key PyTorch reports must be reported by ctq with the same value (floats compared as
// float32: ctq keeps eps and averaging constants in float, as PyTorch's kernels use them).
void check_same(const json& torch, const json& ours, const std::string& where) {
  CAPTURE(where);
  for (const auto& [key, value] : torch.items()) {
    if (key == "compute_dtype" && value == "float32") continue;
    REQUIRE_MESSAGE(ours.contains(key), "ctq does not report " << key);
    if (value.is_object()) {
      check_same(value, ours.at(key), where + "." + key);
    } else if (value.is_number_float() || (key == "averaging_constant" || key == "eps")) {
      CHECK_MESSAGE(static_cast<float>(value.get<double>()) == ours.at(key).get<float>(), key);
    } else {
      CHECK_MESSAGE(value == ours.at(key), key << ": PyTorch " << value.dump() << ", ctq " << ours.at(key).dump());
    }
  }
}

}  // namespace

TEST_CASE("named qconfigs match PyTorch 1.13's") {
  const std::map<std::string, std::function<json()>> ours = {
      {"default_qconfig", describe_qconfig<default_qconfig>},
      {"default_debug_qconfig", describe_qconfig<default_debug_qconfig>},
      {"default_per_channel_qconfig", describe_qconfig<default_per_channel_qconfig>},
      {"default_dynamic_qconfig", describe_qconfig<default_dynamic_qconfig>},
      {"float16_dynamic_qconfig", describe_qconfig<float16_dynamic_qconfig>},
      {"float16_static_qconfig", describe_qconfig<float16_static_qconfig>},
      {"per_channel_dynamic_qconfig", describe_qconfig<per_channel_dynamic_qconfig>},
      {"float_qparams_weight_only_qconfig", describe_qconfig<float_qparams_weight_only_qconfig>},
      {"float_qparams_weight_only_qconfig_4bit", describe_qconfig<float_qparams_weight_only_qconfig_4bit>},
      {"default_qat_qconfig", describe_qconfig<default_qat_qconfig>},
      {"default_dynamic_qat_qconfig", describe_qconfig<default_dynamic_qat_qconfig>},
      {"default_weight_only_qconfig", describe_qconfig<default_weight_only_qconfig>},
      {"default_activation_only_qconfig", describe_qconfig<default_activation_only_qconfig>},
      {"default_qat_qconfig_v2", describe_qconfig<default_qat_qconfig_v2>},
      {"default_symmetric_qnnpack_qconfig", describe_qconfig<default_symmetric_qnnpack_qconfig>},
      {"default_per_channel_symmetric_qnnpack_qconfig",
       describe_qconfig<default_per_channel_symmetric_qnnpack_qconfig>},
      {"default_symmetric_qnnpack_qat_qconfig", describe_qconfig<default_symmetric_qnnpack_qat_qconfig>},
      {"default_per_channel_symmetric_qnnpack_qat_qconfig",
       describe_qconfig<default_per_channel_symmetric_qnnpack_qat_qconfig>},
      {"default_embedding_qat_qconfig", describe_qconfig<default_embedding_qat_qconfig>},
      {"default_embedding_qat_qconfig_4bit", describe_qconfig<default_embedding_qat_qconfig_4bit>},
      {"get_default_qconfig<fbgemm>", describe_qconfig<get_default_qconfig<backend::fbgemm>>},
      {"get_default_qconfig<x86>", describe_qconfig<get_default_qconfig<backend::x86>>},
      {"get_default_qconfig<qnnpack>", describe_qconfig<get_default_qconfig<backend::qnnpack>>},
      {"get_default_qconfig<onednn>", describe_qconfig<get_default_qconfig<backend::onednn>>},
      {"get_default_qat_qconfig<fbgemm>", describe_qconfig<get_default_qat_qconfig<backend::fbgemm>>},
      {"get_default_qat_qconfig<x86>", describe_qconfig<get_default_qat_qconfig<backend::x86>>},
      {"get_default_qat_qconfig<qnnpack>", describe_qconfig<get_default_qat_qconfig<backend::qnnpack>>},
      {"get_default_qat_qconfig<onednn>", describe_qconfig<get_default_qat_qconfig<backend::onednn>>},
  };
  const json data = ctq_test::load_reference("qconfig_reference.json");
  int checked = 0;
  for (const auto& q : data.at("qconfigs")) {
    const std::string name = q.at("name");
    REQUIRE_MESSAGE(ours.count(name) == 1, "ctq has no " << name);
    const json mine = ours.at(name)();
    check_same(q.at("activation"), mine.at("activation"), name + ".activation");
    check_same(q.at("weight"), mine.at("weight"), name + ".weight");
    ++checked;
  }
  CHECK(checked == static_cast<int>(ours.size()));
}

// The backend rules: what each default runs on, and what it does not (the compile-fail tests
// check the messages of the rules that fail).
static_assert(QConfigFor<backend::x86, get_default_qconfig<backend::x86>>);
static_assert(QConfigFor<backend::fbgemm, get_default_qconfig<backend::fbgemm>>);
static_assert(QConfigFor<backend::qnnpack, get_default_qconfig<backend::qnnpack>>);
static_assert(QConfigFor<backend::onednn, get_default_qconfig<backend::onednn>>);
static_assert(QConfigFor<backend::x86, default_qconfig> && QConfigFor<backend::qnnpack, default_qconfig>);
static_assert(QConfigFor<backend::x86, get_default_qat_qconfig<backend::x86>>);
static_assert(QConfigFor<backend::qnnpack, default_symmetric_qnnpack_qconfig>);
static_assert(!QConfigFor<backend::x86, default_symmetric_qnnpack_qconfig>);     // qint8 activations
static_assert(!QConfigFor<backend::x86, get_default_qconfig<backend::onednn>>);  // 8-bit activations
static_assert(!QConfigFor<backend::onednn, default_dynamic_qconfig>);            // dynamic
static_assert(!QConfigFor<backend::onednn, float_qparams_weight_only_qconfig>);  // embeddings only
static_assert(!QConfigFor<backend::qnnpack, float16_static_qconfig>);            // no int8 parameters
static_assert(!QConfigFor<backend::qnnpack, default_weight_only_qconfig>);       // Identity activation
static_assert(validate_qconfig<backend::x86, default_qat_qconfig>());

TEST_CASE("QConfigFor accepts each backend's defaults") {
  CHECK(QConfigFor<backend::onednn, get_default_qat_qconfig<backend::onednn>>);
  CHECK_FALSE(QConfigFor<backend::fbgemm, get_default_qat_qconfig<backend::qnnpack>>);
}
