// check_close: a tensor against reference values within rel times the reference's largest
// magnitude (for values whose float sums run in a different order from PyTorch's).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

namespace ctq_test {

/// |got - want| <= rel * max(max|want|, floor) for every value; reports the first three outside.
inline void check_close(std::span<const float> got, const std::vector<float>& want, float rel, const std::string& what,
                        float floor = 1e-6f) {
  REQUIRE(got.size() == want.size());
  float scale = 0.0f;
  for (float v : want) scale = std::max(scale, std::abs(v));
  int bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::abs(got[i] - want[i]) > rel * std::max(scale, floor)) {
      if (++bad <= 3) FAIL_CHECK(what << "[" << i << "]: ctq " << got[i] << ", PyTorch " << want[i]);
    }
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " values outside " << rel << " x " << scale);
}

}  // namespace ctq_test
