// Quantized Linear, LinearReLU, Conv2d and ConvReLU2d as PyTorch 1.13 computes them on its qnnpack
// and onednn engines (tests/data/qlinear_reference.json, tools/reference/gen_qlinear.py), through
// ctq's GEMM / convolution kernels and the engine's requantization style.
//
// Tolerance: qnnpack, every output exact. onednn, every output exact where the input zero point
// is 0; otherwise at most 1 LSB: oneDNN's AMX matmul kernel (used for larger M and N on CPUs with
// AMX) adds the input zero-point correction in float after the bias instead of in the integer
// accumulator, which moves a rounding tie on rare outputs (the generator's linear_zpcomp_*_M16
// cases are chosen to show it). ctq computes the exact integer form, which oneDNN's other kernels
// (VNNI matmul, every convolution) also produce. The count of non-exact outputs is reported.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <ctq/kernels.hpp>
#include <string>
#include <vector>

#include "../support/reference.hpp"

namespace k = ctq::kernels;
using ctq::index_t;
using ctq_test::floats;
using ctq_test::ints;

namespace {

template <class Arch>
void run_all() {
  const auto ref = ctq_test::load_reference("qlinear_reference.json");
  int cases = 0;
  std::size_t outputs = 0, off_by_one = 0;
  for (const auto& c : ref["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    const bool onednn = c["engine"] == "onednn";
    const auto x = ints<std::uint8_t>(c["x"]);
    const auto w = ints<std::int8_t>(c["w"]);
    const auto w_zps = ints<std::int32_t>(c["w_zps"]);
    const auto w_scales = floats(c["w_scales"]);
    const auto bias = c["bias"].is_null() ? std::vector<float>{} : floats(c["bias"]);
    const auto want = ints<std::uint8_t>(c["y"]);
    const auto x_zp = c["x_zp"].get<std::int32_t>();
    const bool linear = c["op"] == "linear";
    const index_t n = linear ? c["N"].get<index_t>() : c["out_c"].get<index_t>();
    const k::Requantization rq(onednn ? k::requantize_style::onednn : k::requantize_style::qnnpack, n,
                               ctq_test::to_float(c["x_scale"]), w_scales, bias, ctq_test::to_float(c["y_scale"]),
                               c["y_zp"].get<std::int32_t>(), 0, 255, c["relu"].get<bool>());
    std::vector<std::uint8_t> got(want.size(), 0);
    if (linear) {
      const index_t m = c["M"], kk = c["K"];
      const k::PackedWeights<Arch> packed(w.data(), n, kk, kk, w_zps);
      std::vector<std::int32_t> scratch(static_cast<std::size_t>(k::gemm_scratch_size(packed, m)));
      rq.with_pipeline(got.data(), n, [&](const auto& out) { k::gemm(x.data(), m, kk, x_zp, packed, out, scratch); });
    } else {
      k::ConvGeometry<2> g{.batch = c["batch"],
                           .input = {c["in_h"], c["in_w"]},
                           .in_channels = c["in_c"],
                           .out_channels = n,
                           .groups = c["groups"],
                           .kernel = {c["kh"], c["kw"]},
                           .stride = {c["stride"][0], c["stride"][1]},
                           .padding = {c["padding"][0], c["padding"][1]},
                           .dilation = {c["dilation"][0], c["dilation"][1]}};
      REQUIRE(g.output()[0] == c["out_h"].get<index_t>());
      REQUIRE(g.output()[1] == c["out_w"].get<index_t>());
      const k::PackedConvWeights<Arch> packed(g, w.data(), w_zps);
      std::vector<std::byte> scratch(k::conv_scratch_size(packed));
      rq.with_pipeline(got.data(), n, [&](const auto& out) { k::conv(g, x.data(), x_zp, packed, out, scratch); });
    }
    const int tolerance = onednn && x_zp != 0 ? 1 : 0;
    int worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const int d = std::abs(int{got[i]} - int{want[i]});
      worst = std::max(worst, d);
      if (d != 0) ++off_by_one;
    }
    CHECK(worst <= tolerance);
    outputs += want.size();
    ++cases;
  }
  CHECK(cases == 151);
  MESSAGE(std::string(Arch::name()) << ": " << cases << " cases, " << outputs << " outputs, " << off_by_one
                                    << " differ by 1 LSB (onednn, input zero point != 0)");
}

}  // namespace

TEST_CASE("quantized Linear / Conv2d against PyTorch 1.13 (qnnpack and onednn): scalar kernels") {
  run_all<k::arch::scalar>();
}
TEST_CASE("quantized Linear / Conv2d against PyTorch 1.13 (qnnpack and onednn): the best kernels") {
  run_all<k::arch::best>();
}
