// Compiled with single_include/ on the include path and include/ not: the amalgamated header
// must be complete on its own.
#include <doctest/doctest.h>

#include <ctq/ctq.hpp>

#ifndef CTQ_SINGLE_HEADER
#error "this test must see single_include/ctq/ctq.hpp, not include/ctq/ctq.hpp"
#endif

TEST_CASE("the single header quantizes and dequantizes") {
  ctq::Tensor<float, 2> x({2, 2}, {0.1f, -0.2f, 0.35f, 1.0f});
  const auto q = ctq::quantize_per_tensor<ctq::dtype::quint8>(x, 0.1f, 128);
  CHECK(q.int_repr()[1] == 126);
  const auto y = ctq::dequantize(q);
  CHECK(y[3] == doctest::Approx(1.0f));
}
