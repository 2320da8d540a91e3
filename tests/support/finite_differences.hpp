// Central finite differences for checking backward passes: one value's difference quotient, and
// every value of a tensor against its analytic gradient.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>

namespace ctq_test {

/// (f() at v + h - f() at v - h) over the step actually taken, (float)(v + h) - (float)(v - h),
/// so the rounding of v +- h adds no error; v is restored.
template <class F>
double central_difference(float& v, float h, F&& f) {
  const float v0 = v;
  v = v0 + h;
  const double up = f(), step_up = v;
  v = v0 - h;
  const double down = f(), step_down = v;
  v = v0;
  return (up - down) / (step_up - step_down);
}

/// Every value of v by central differences of f() (step h) against analytic:
/// |numeric - analytic| <= tolerance * max(max |analytic|, 1) (the caller states why).
template <class F>
void check_central_differences(std::span<float> v, std::span<const float> analytic, F&& f, float h, double tolerance,
                               const std::string& what) {
  REQUIRE(v.size() == analytic.size());
  float max_abs = 0.0f;
  for (float a : analytic) max_abs = std::max(max_abs, std::abs(a));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double numeric = central_difference(v[i], h, f);
    INFO(what << "[" << i << "]: analytic " << analytic[i] << ", numeric " << numeric);
    CHECK(std::abs(numeric - analytic[i]) <= tolerance * std::max(max_abs, 1.0f));
  }
}

}  // namespace ctq_test
