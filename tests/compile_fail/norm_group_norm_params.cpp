// expect: ctq: nn::GroupNorm: num_groups, num_channels and eps must be positive
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::GroupNorm<2, 8, 0.0f>;
#else
using M = nn::GroupNorm<2, 8, 1e-5f>;
#endif
int main() {
  M m;
  (void)m;
}
