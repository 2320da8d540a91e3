// nn/safetensors.hpp: reading a file laid out by tools/reference/gen_safetensors.py from PyTorch
// 1.13 tensors of every dtype ctq reads (values compared exactly with torch's own conversion to
// float32), writing and reading back a model's state, loading a checkpoint into a model by name,
// and the errors on malformed files.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctq/nn.hpp>
#include <ctq/nn/safetensors.hpp>
#include <string>

#include "../support/check_error.hpp"
#include "../support/reference.hpp"

using namespace ctq;

namespace {
std::string data_path(const char* file) { return std::string(CTQ_TEST_DATA_DIR) + "/" + file; }

std::string with_header(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}
}  // namespace

TEST_CASE("safetensors: every dtype of a PyTorch-written file reads as torch's float32 values") {
  const nn::StateDict d = nn::read_safetensors(data_path("safetensors_reference.safetensors"));
  const auto want = ctq_test::load_reference("safetensors_reference.json");
  CHECK(d.size() == want.size());
  for (const auto& [name, e] : want.items()) {
    CAPTURE(name);
    const auto it = d.find(name);
    REQUIRE(it != d.end());
    const auto shape = ctq_test::ints(e["shape"]);
    CHECK(it->second.shape == std::vector<index_t>(shape.begin(), shape.end()));
    const auto values = ctq_test::floats(e["values"]);
    REQUIRE(it->second.values.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(ctq_test::same_float(it->second.values[i], values[i]));
  }
}

TEST_CASE("safetensors: a model's state round-trips, and a checkpoint loads by dotted names") {
  using Net = nn::Sequential<nn::named<"conv", nn::Conv2d<1, 4, 3>>, nn::named<"bn", nn::BatchNorm2d<4>>,
                             nn::named<"fc", nn::Linear<4, 3>>>;
  Net a, b;
  nn::reset_parameters(a, 1);
  nn::reset_parameters(b, 2);
  nn::module_at<"bn">(a).running_var[2] = 0.75f;
  const std::string bytes = nn::serialize_safetensors(nn::state_dict(a));
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  CHECK((8 + header_len) % 8 == 0);  // the data starts 8-byte aligned
  nn::load_state_dict(b, nn::parse_safetensors(bytes));
  const auto sa = nn::state_dict(a), sb = nn::state_dict(b);
  REQUIRE(sa.size() == sb.size());
  for (const auto& [name, t] : sa) {
    CAPTURE(name);
    CHECK(sb.at(name).shape == t.shape);
    CHECK(std::memcmp(sb.at(name).values.data(), t.values.data(), 4 * t.values.size()) == 0);
  }
  // Through a file, with the model-level helpers.
  const std::string tmp = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                          "/ctq_test_safetensors_" + std::to_string(reinterpret_cast<std::uintptr_t>(&a)) + ".st";
  nn::save_safetensors(a, tmp);
  Net c;
  nn::load_safetensors(c, tmp);
  CHECK(nn::module_at<"bn">(c).running_var[2] == 0.75f);
  std::remove(tmp.c_str());
  // A PyTorch checkpoint's extra num_batches_tracked: strict loading names it.
  nn::StateDict extra = sa;
  extra["bn.num_batches_tracked"] = {{}, {3.0f}};
  CHECK_THROWS_WITH_AS(nn::load_state_dict(c, extra), doctest::Contains("bn.num_batches_tracked"), ctq::error);
  nn::load_state_dict(c, extra, /*strict=*/false);
}

TEST_CASE("safetensors: malformed files are clear errors") {
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(nn::parse_safetensors("abc"), Contains("shorter than its 8-byte header length"), ctq::error);
  CHECK_THROWS_WITH_AS(nn::parse_safetensors(with_header("{", "").substr(0, 8) + std::string(1, '{')),
                       Contains("bad header"), ctq::error);
  std::string big(8, '\0');
  big[0] = 100;
  CHECK_THROWS_WITH_AS(nn::parse_safetensors(big + "{}"), Contains("exceeds the file"), ctq::error);
  CHECK_THROWS_WITH_AS(nn::parse_safetensors(with_header(
                           R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0'))),
                       Contains("has dtype F8_E4M3"), ctq::error);
  CHECK_THROWS_WITH_AS(nn::parse_safetensors(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})",
                                                         std::string(8, '\0'))),
                       Contains("do not hold 2 F32 values"), ctq::error);
  CHECK_THROWS_WITH_AS(nn::parse_safetensors(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})",
                                                         std::string(4, '\0'))),
                       Contains("do not hold"), ctq::error);
  CHECK_THROWS_WITH_AS(nn::parse_safetensors(with_header(R"({"w":{"dtype":"F32","shape":[1]}})", "")),
                       Contains("needs dtype, shape and two data_offsets"), ctq::error);
  CHECK_THROWS_WITH_AS(nn::parse_safetensors(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x)",
                                                         std::string(4, '\0'))),
                       Contains("text after the header object"), ctq::error);
  CHECK_THROWS_WITH_AS(nn::read_safetensors("/nonexistent/ctq.safetensors"), Contains("cannot open"), ctq::error);
  // An empty header object is a valid, empty file.
  CHECK(nn::parse_safetensors(with_header("{}", "")).empty());
}
