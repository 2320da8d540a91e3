// A network of MobileNetV2's depth as one static type: the stem, the 17 inverted-residual blocks
// of MobileNetV2 (expansion 6, channels 16 to 320, 10 of them residual), the 1x1 head conv and the
// classifier, written like torchvision's quantizable MobileNetV2 (ConvBNReLU units, residual adds
// through FloatFunctional). The test builds the float model, fuses all 52 conv+bn(+relu) groups
// by dotted path, prepares it, calibrates, converts it for this CPU's default backend and checks
// the int8 model against the float one. Its compile time is what the build-time target measures.
#include <doctest/doctest.h>

#include <cmath>
#include <ctq/ctq.hpp>
#include <random>

#include "mobilenet_v2.hpp"

using namespace ctq;

using ctq_models::MobileNetV2;

TEST_CASE("MobileNetV2-depth network: fuse, prepare, calibrate, convert and run as static types") {
  MobileNetV2 net;
  nn::reset_parameters(net, 5);
  auto fused = ctq_models::fuse_mobilenet(net);
  // every conv+bn(+relu) folded: no BatchNorm state is left
  int bn_left = 0, convs = 0;
  nn::visit_state(fused, [&](const std::string& key, auto&) {
    bn_left += key.ends_with("running_mean");
    convs += key.ends_with("weight");
  });
  CHECK(bn_left == 0);
  CHECK(convs == 1 + 17 * 3 - 1 + 1 + 1);  // stem, 3 convs per block (2 in the first), head, classifier

  std::mt19937 g(1);
  std::normal_distribution<float> normal;
  Tensor<float, 4> x({2, 32, 32, 3});
  for (auto& v : x.values()) v = normal(g);
  const Tensor<float, 2> y_float = net(x);
  const Tensor<float, 2> y_fused = fused(x);
  float fold = 0.0f;
  for (index_t i = 0; i < y_float.size(); ++i) fold = std::max(fold, std::abs(y_float[i] - y_fused[i]));
  CHECK(fold < 1e-4f);  // BatchNorm folding changes only float rounding

  auto prepared = prepare<get_default_qconfig<default_backend>>(fused);
  for (int b = 0; b < 2; ++b) {
    Tensor<float, 4> c({2, 32, 32, 3});
    for (auto& v : c.values()) v = normal(g);
    prepared(c);
  }
  prepared(x);
  auto q = convert(prepared);
  const Tensor<float, 2> y = q(x);
  REQUIRE(y.shape() == y_float.shape());
  double err = 0.0, ref = 0.0;
  for (index_t i = 0; i < y.size(); ++i) {
    err += (y[i] - y_float[i]) * (y[i] - y_float[i]);
    ref += y_float[i] * y_float[i];
  }
  const double sqnr = 10.0 * std::log10(ref / std::max(err, 1e-30));
  MESSAGE("MobileNetV2-depth int8 vs float: SQNR " << sqnr << " dB over " << y.size() << " outputs");
  // 54 quantized layers calibrated on 3 random batches: a broken layer gives ~0 dB
  CHECK(sqnr > 15.0);
}
