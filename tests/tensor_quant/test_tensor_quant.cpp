// The amax toolkit's types and errors: descriptors, TensorQuantizer modes and calibration flow,
// calibrator merge, hand-derived values.
#include <doctest/doctest.h>

#include <ctq/tensor_quant.hpp>

#include "../support/check_error.hpp"

using namespace ctq;

static_assert(QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL.axis == axes(0));
static_assert(QUANT_DESC_UNSIGNED_8BIT_PER_TENSOR.is_unsigned && QUANT_DESC_8BIT_PER_TENSOR.axis.empty());
static_assert(std::is_same_v<TensorQuantizer<QuantDescriptor{.calib_method = calib_method::histogram}>::calibrator_type,
                             HistogramCalibrator>);

TEST_CASE("tensor_quant: hand-derived values") {
  // amax 2, 8 bits signed, narrow range: scale = 127 / 2 = 63.5; 1 * 63.5 = 63.5 rounds half to
  // even to 64; -2 * 63.5 = -127; 3 * 63.5 = 190.5 clamps to 127.
  Tensor<float, 1> x({3}, {1.0f, -2.0f, 3.0f});
  const auto r = tensor_quant(x, 2.0f);
  CHECK(r.scale[0] == 63.5f);
  CHECK(r.outputs == Tensor<float, 1>({3}, {64.0f, -127.0f, 127.0f}));
  // full range: min bound -128 is reachable
  CHECK(tensor_quant(Tensor<float, 1>({1}, {-3.0f}), 2.0f, 8, false, false).outputs[0] == -128.0f);
  // unsigned 8 bits: max bound 255, scale = 255 / 2
  CHECK(tensor_quant(Tensor<float, 1>({1}, {1.0f}), 2.0f, 8, true).outputs[0] == 128.0f);  // 127.5 -> 128
  // amax 0: everything 0, scale reported as 1
  const auto z = tensor_quant(x, 0.0f);
  CHECK(z.scale[0] == 1.0f);
  CHECK(z.outputs[2] == 0.0f);
  // gradient passes where |x| <= amax
  const auto g = tensor_quant_backward(Tensor<float, 1>({3}, {1, 1, 1}), x, Amax<1>::per_tensor(2.0f));
  CHECK(g == Tensor<float, 1>({3}, {1.0f, 1.0f, 0.0f}));
}

TEST_CASE("tensor_quant: errors") {
  Tensor<float, 1> x({2}, {-1.0f, 1.0f});
  CHECK_CTQ_ERROR(tensor_quant(x, -1.0f), "amax -1 must be finite and >= 0");
  CHECK_CTQ_ERROR(tensor_quant(x, 1.0f, 8, true), "negative values in unsigned quantization");
  CHECK_CTQ_ERROR(tensor_quant(x, 1.0f, 1), "num_bits 1 is not in 2..16");
  CHECK_CTQ_ERROR(tensor_quant(Tensor<float, 1>({1}, {NAN}), 1.0f), "NaN");
  Amax<2> wrong;
  wrong.shape = {3, 1};
  wrong.values = {1, 1, 1};
  CHECK_CTQ_ERROR(tensor_quant(Tensor<float, 2>({2, 2}), wrong), "does not broadcast");
}

TEST_CASE("TensorQuantizer: calibrate with max, load, then quantize with the calibrated amax") {
  TensorQuantizer<QUANT_DESC_8BIT_CONV2D_WEIGHT_PER_CHANNEL> q;
  Tensor<float, 2> w({2, 3}, {0.5f, -1.0f, 0.25f, 4.0f, -2.0f, 1.0f});
  q.disable_quant();
  q.enable_calib();
  CHECK(q(w) == w);  // calibrating only: the data passes through
  CHECK_CTQ_ERROR(q.load_calib_amax("entropy"), "max calibrator");
  q.load_calib_amax();
  CHECK(q.amax().values == std::vector<float>{1.0f, 4.0f});  // per row
  q.disable_calib();
  q.enable_quant();
  const auto y = q(w);
  CHECK(y[1] == -1.0f);  // -1 * 127 / 1 = -127 -> -127 / 127
  CHECK(y[3] == 4.0f);
  q.disable();
  CHECK(q(w) == w);
}

TEST_CASE("TensorQuantizer: histogram calibration methods; errors before data") {
  TensorQuantizer<QuantDescriptor{.calib_method = calib_method::histogram}> q;
  CHECK_CTQ_ERROR(q.load_calib_amax("percentile"), "before any data");
  q.enable_calib();
  Tensor<float, 1> x({1000});
  for (index_t i = 0; i < 1000; ++i) x[i] = static_cast<float>(i) / 100.0f;  // uniform on [0, 9.99]
  q(x);
  q.load_calib_amax("percentile", 50.0);
  // half of the mass lies below 5: the amax is the left edge of the bin where the cdf reaches 0.5
  CHECK(q.amax().values[0] == doctest::Approx(4.99).epsilon(0.01));
  q.load_calib_amax("mse");
  CHECK(q.amax().values[0] > 9.0f);  // uniform data: clipping costs more than rounding
  q.load_calib_amax("entropy");
  CHECK(q.amax().values[0] > 0.0f);
  CHECK_CTQ_ERROR(q.load_calib_amax("median"), "\"entropy\", \"percentile\" and \"mse\"");
}

TEST_CASE("HistogramCalibrator merge: same bin width sums; the range grows as collect does") {
  Tensor<float, 1> a({4}, {0.0f, 1.0f, 2.0f, 4.0f}), b({3}, {0.5f, 3.0f, 4.0f});
  HistogramCalibrator x(8, false, 8), y(8, false, 8), both(8, false, 8);
  x.collect(a);
  y.collect(b);  // the same range [0, 4]: the same edges
  both.collect(a);
  both.collect(b);
  x.merge(y);
  CHECK(x.histogram() == both.histogram());
  CHECK(x.bin_edges() == both.bin_edges());
  HistogramCalibrator wide(8, false, 8);
  wide.collect(Tensor<float, 1>({2}, {1.0f, 8.0f}));
  x.merge(wide);
  double total = 0;
  for (float c : x.histogram()) total += c;
  CHECK(total == 9.0);  // every count kept
  CHECK(x.bin_edges().back() >= 8.0f);
  MaxCalibrator m;
  CHECK(m.compute_amax().empty());
}
