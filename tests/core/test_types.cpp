// Core types: dtype traits, qschemes, Tensor and QTensor, parameter validation, errors, float16,
// and choose_qparams on hand-derived cases.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <ctq/ctq.hpp>
#include <limits>
#include <string>

#include "../support/check_error.hpp"

using ctq::dtype;
using ctq::qscheme;

TEST_CASE("dtype traits") {
  static_assert(std::is_same_v<ctq::storage_t<dtype::quint8>, std::uint8_t>);
  static_assert(std::is_same_v<ctq::storage_t<dtype::qint8>, std::int8_t>);
  static_assert(std::is_same_v<ctq::storage_t<dtype::qint32>, std::int32_t>);
  static_assert(std::is_same_v<ctq::storage_t<dtype::quint4x2>, std::uint8_t>);
  static_assert(std::is_same_v<ctq::storage_t<dtype::float16>, ctq::float16_t>);
  static_assert(ctq::dtype_traits<dtype::quint8>::quant_min == 0 && ctq::dtype_traits<dtype::quint8>::quant_max == 255);
  static_assert(ctq::dtype_traits<dtype::qint8>::quant_min == -128 &&
                ctq::dtype_traits<dtype::qint8>::quant_max == 127);
  static_assert(ctq::dtype_traits<dtype::qint32>::quant_min == std::numeric_limits<std::int32_t>::min());
  static_assert(ctq::dtype_traits<dtype::quint4x2>::quant_max == 15);
  static_assert(!ctq::dtype_traits<dtype::quint8>::is_signed && ctq::dtype_traits<dtype::qint8>::is_signed);
  static_assert(ctq::is_quantized_dtype<dtype::quint4x2> && !ctq::is_quantized_dtype<dtype::float16>);
  static_assert(ctq::is_sub_byte_dtype<dtype::quint4x2> && !ctq::is_sub_byte_dtype<dtype::quint8>);
  static_assert(ctq::storage_size<dtype::quint4x2>(5) == 3 && ctq::storage_size<dtype::qint8>(5) == 5);
  CHECK(ctq::dtype_traits<dtype::quint4x2>::name == "quint4x2");
}

TEST_CASE("qscheme properties") {
  static_assert(ctq::is_per_channel(qscheme::per_channel_symmetric) && ctq::is_per_tensor(qscheme::per_tensor_affine));
  static_assert(ctq::is_symmetric(qscheme::per_tensor_symmetric) && !ctq::is_symmetric(qscheme::per_channel_affine));
  static_assert(ctq::has_float_zero_point(qscheme::per_channel_affine_float_qparams));
  static_assert(std::is_same_v<ctq::qparams_for<qscheme::per_tensor_symmetric>, ctq::PerTensorQParams>);
  static_assert(
      std::is_same_v<ctq::qparams_for<qscheme::per_channel_affine_float_qparams>, ctq::PerChannelFloatQParams>);
  CHECK(ctq::name(qscheme::per_channel_affine) == "per_channel_affine");
}

TEST_CASE("Tensor: shape, row-major access, Eigen views") {
  ctq::Tensor<float, 3> t({2, 3, 4});
  CHECK(t.size() == 24);
  CHECK(t.dim(-1) == 4);
  t(1, 2, 3) = 5.0f;
  CHECK(t[23] == 5.0f);
  t(0, 1, 0) = 2.0f;
  CHECK(t[4] == 2.0f);
  CHECK(t.array().sum() == 7.0f);
  ctq::Tensor<float, 2> m({2, 2}, {1, 2, 3, 4});
  CHECK(m.matrix()(1, 0) == 3.0f);
  CHECK((m.matrix() * m.matrix())(0, 0) == 7.0f);
  CHECK_CTQ_ERROR((ctq::Tensor<float, 2>({2, 2}, {1, 2, 3})), "3 values for a shape of 4");
  CHECK_CTQ_ERROR((ctq::Tensor<float, 1>({-1})), "negative dimension");
  ctq::Tensor<float, 0> scalar;
  CHECK(scalar.size() == 1);
}

TEST_CASE("QTensor: parameters are validated against the dtype and the shape") {
  using Q8 = ctq::QTensor<dtype::quint8, qscheme::per_tensor_affine, 2>;
  Q8 q({2, 3}, {0.5f, 7});
  CHECK(q.scale() == 0.5f);
  CHECK(q.zero_point() == 7);
  CHECK(q.int_repr().size() == 6);
  CHECK_CTQ_ERROR((Q8({2, 3}, {0.0f, 0})), "must be a positive finite number");
  CHECK_CTQ_ERROR((Q8({2, 3}, {-1.0f, 0})), "must be a positive finite number");
  CHECK_CTQ_ERROR((Q8({2, 3}, {std::numeric_limits<float>::infinity(), 0})), "positive finite");
  CHECK_CTQ_ERROR((Q8({2, 3}, {1e-45f, 0})), "underflows");
  CHECK_CTQ_ERROR((Q8({2, 3}, {0.1f, 256})), "zero point 256 is outside the dtype's range [0, 255]");
  CHECK_CTQ_ERROR((ctq::QTensor<dtype::qint8, qscheme::per_tensor_affine, 1>({3}, {0.1f, -129})), "outside");

  using PC = ctq::QTensor<dtype::qint8, qscheme::per_channel_symmetric, 2>;
  PC pc({2, 3}, {{0.1f, 0.2f, 0.3f}, {0, 0, 0}, -1});
  CHECK(pc.axis() == 1);  // negative axes are normalised
  CHECK_CTQ_ERROR((PC({2, 3}, {{0.1f, 0.2f}, {0, 0}, 1})), "2 scales for 3 channels");
  CHECK_CTQ_ERROR((PC({2, 3}, {{0.1f, 0.2f, 0.3f}, {0, 0}, 1})), "2 zero points for 3 channels");
  CHECK_CTQ_ERROR((PC({2, 3}, {{0.1f, 0.2f, 0.3f}, {0, 0, 0}, 2})), "axis 2 is out of range");
  CHECK_CTQ_ERROR((PC({2, 3}, {{0.1f, 0.2f, 0.3f}, {0, 0, 0}, -3})), "axis -3 is out of range");
  using FQ = ctq::QTensor<dtype::quint8, qscheme::per_channel_affine_float_qparams, 2>;
  CHECK_CTQ_ERROR((FQ({2, 3}, {{0.1f, 0.2f}, {0.5f, NAN}, 0})), "not finite");

  const std::uint8_t packed[] = {0x21, 0x03};
  ctq::QTensor<dtype::quint4x2, qscheme::per_tensor_affine, 1> q4({3}, {1.0f, 0}, packed);
  CHECK(q4.value(0) == 1);
  CHECK(q4.value(1) == 2);
  CHECK(q4.value(2) == 3);
  const std::int8_t wrong_size[] = {1, 2};
  CHECK_CTQ_ERROR((ctq::QTensor<dtype::qint8, qscheme::per_tensor_affine, 1>({3}, {1.0f, 0}, wrong_size)),
                  "2 stored values for a shape that needs 3");
}

TEST_CASE("quantize: hand-derived values, ties to even, saturation, NaN is an error") {
  ctq::Tensor<float, 1> x({8}, {0.25f, 0.75f, -0.25f, 1.0f, 200.0f, -200.0f, INFINITY, -0.0f});
  // scale 0.5, zero point 10: x / 0.5 = 0.5, 1.5, -0.5, 2, 400, -400, inf, -0
  // nearbyint (half to even) = 0, 2, -0, 2, ...; + 10 = 10, 12, 10, 12; clamp to [0, 255]
  const auto q = ctq::quantize_per_tensor<dtype::quint8>(x, 0.5f, 10);
  const std::uint8_t expected[] = {10, 12, 10, 12, 255, 0, 255, 10};
  for (int i = 0; i < 8; ++i) CHECK(q.int_repr()[static_cast<std::size_t>(i)] == expected[i]);
  ctq::Tensor<float, 1> bad({3}, {1.0f, NAN, 2.0f});
  CHECK_CTQ_ERROR(ctq::quantize_per_tensor<dtype::qint8>(bad, 0.1f, 0), "contains NaN");
  CHECK_CTQ_ERROR(ctq::fake_quantize_per_tensor_affine(bad, 0.1f, 0, -128, 127), "contains NaN");
  CHECK_CTQ_ERROR(ctq::quantize_per_tensor_dynamic<dtype::qint8>(bad, false), "contains NaN");
  CHECK_CTQ_ERROR(ctq::quantize_per_tensor_dynamic<dtype::qint8>(ctq::Tensor<float, 1>({0}), false), "empty");
  CHECK_CTQ_ERROR(ctq::quantize_per_tensor_dynamic<dtype::qint8>(ctq::Tensor<float, 1>({2}, {1.0f, INFINITY}), false),
                  "finite");
  CHECK_CTQ_ERROR(ctq::fake_quantize_per_tensor_affine(x, 0.1f, 300, 0, 255), "zero point 300");
  CHECK_CTQ_ERROR(ctq::fake_quantize_per_tensor_affine(x, 0.1f, 0, 10, 5), "quant_min 10 is greater than quant_max 5");
  const std::vector<float> scales = {0.1f};
  const std::vector<std::int32_t> zps = {0, 0};
  CHECK_CTQ_ERROR(ctq::fake_quantize_per_channel_affine(x, scales, zps, 0, -128, 127), "1 scales and 2 zero points");
}

TEST_CASE("quint4x2 packs element 2i into the low nibble, flat over the tensor") {
  ctq::Tensor<float, 2> x({3, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8});
  const auto q = ctq::quantize_per_tensor<dtype::quint4x2>(x, 1.0f, 0);
  // PyTorch's int_repr of the same tensor is [16, 50, 84, 118, 8]: 0|1<<4, 2|3<<4, ...
  const std::uint8_t expected[] = {16, 50, 84, 118, 8};
  REQUIRE(q.int_repr().size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(q.int_repr()[static_cast<std::size_t>(i)] == expected[i]);
  const auto y = ctq::dequantize(q);
  for (int i = 0; i < 9; ++i) CHECK(y[i] == static_cast<float>(i));
}

TEST_CASE("fake_quantize_backward passes the gradient only inside the range") {
  ctq::Tensor<float, 1> x({4}, {-1.0f, 0.0f, 12.7f, 13.0f});
  // scale 0.1, zp 0, [-10, 127]: x / 0.1 = -10, 0, 127, 130 -> inside, inside, inside, clamped
  const auto r = ctq::fake_quantize_per_tensor_affine_cachemask(x, 0.1f, 0, -10, 127);
  const std::uint8_t mask[] = {1, 1, 1, 0};
  for (int i = 0; i < 4; ++i) CHECK(r.mask[i] == mask[i]);
  const auto g = ctq::fake_quantize_backward(ctq::Tensor<float, 1>({4}, {1, 2, 3, 4}), r.mask);
  CHECK(g == ctq::Tensor<float, 1>({4}, {1, 2, 3, 0}));
  CHECK_CTQ_ERROR(ctq::fake_quantize_backward(ctq::Tensor<float, 1>({3}), r.mask), "different shapes");
}

TEST_CASE("choose_qparams: hand-derived cases") {
  // [-1, 2] into [0, 255]: scale = 3/255; zero point from min = 0 + 1/scale = 85 exactly.
  auto p = ctq::choose_qparams(-1.0f, 2.0f, 0, 255);
  CHECK(p.scale == doctest::Approx(3.0 / 255.0).epsilon(1e-15));
  CHECK(p.zero_point == 85);
  // Only positive values: the range is widened to [0, max], zero point qmin.
  p = ctq::choose_qparams(0.5f, 2.55f, 0, 255);
  CHECK(p.zero_point == 0);
  // All zero: scale falls back to 0.1; for [-128, 127] the max side has the smaller error, zp 127.
  p = ctq::choose_qparams(0.0f, 0.0f, -128, 127);
  CHECK(p.scale == 0.1);
  CHECK(p.zero_point == 127);
  // reduce_range halves the range: [0, 127].
  p = ctq::choose_qparams(0.0f, 1.27f, 0, 255, false, false, true);
  CHECK(static_cast<float>(p.scale) == doctest::Approx(0.01f));
  // A tiny range is cut off at scale 6.1e-5 (as a float).
  p = ctq::choose_qparams(0.0f, 1e-6f, 0, 255);
  CHECK(p.scale == static_cast<double>(6.1e-5f));
  CHECK_CTQ_ERROR(ctq::choose_qparams(1.0f, 0.0f, 0, 255), "min <= max");
  CHECK_CTQ_ERROR(ctq::choose_qparams(NAN, 0.0f, 0, 255), "finite");
}

TEST_CASE("float16 conversion: rounding, subnormals, overflow") {
  using h = ctq::float16_t;
  CHECK(h::from_float(1.0f).bits == 0x3c00);
  CHECK(h::from_float(-2.0f).bits == 0xc000);
  CHECK(h::from_float(65504.0f).bits == 0x7bff);
  CHECK(h::from_float(65520.0f).bits == 0x7c00);  // the tie above the largest half rounds to inf
  CHECK(h::from_float(65519.0f).bits == 0x7bff);
  CHECK(h::from_float(5.9604645e-8f).bits == 0x0001);          // 2^-24, the smallest subnormal
  CHECK(h::from_float(2.98023224e-8f).bits == 0x0000);         // 2^-25: tie, rounds to even (0)
  CHECK(h::from_float(1.0f + 1.0f / 2048.0f).bits == 0x3c00);  // tie between 1 and 1+2^-10: even
  CHECK(h::from_float(1.0f + 3.0f / 2048.0f).bits == 0x3c02);  // tie: rounds up to even
  CHECK(std::isnan(h::from_float(NAN).to_float()));
  CHECK(h::from_float(-0.0f).bits == 0x8000);
  for (std::uint32_t b = 0; b < 0x10000; ++b) {  // every half value survives a round trip
    const auto v = h::from_bits(static_cast<std::uint16_t>(b));
    if ((b & 0x7c00) == 0x7c00 && (b & 0x3ff)) continue;  // NaN payloads
    if (h::from_float(v.to_float()).bits != v.bits) FAIL("round trip of half bits " << b);
  }
}

TEST_CASE("errors name the operation") {
  ctq::Tensor<float, 2> x({2, 2});
  CHECK_CTQ_ERROR(ctq::quantize_per_channel<dtype::qint8>(x, {0.1f}, std::vector<std::int32_t>{0}, 0),
                  "1 scales for 2 channels along axis 0");
  CHECK_CTQ_ERROR(ctq::quantize_per_channel<dtype::qint8>(x, {0.1f, 0.1f}, std::vector<std::int32_t>{0, 0}, 5),
                  "QTensor: axis 5 is out of range");
  CHECK_CTQ_ERROR(ctq::quantize_per_tensor<dtype::quint8>(x, 0.0f, 0), "scale 0 must be a positive");
}
