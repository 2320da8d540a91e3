// expect: ctq: nn::GroupNorm: num_channels must be divisible by num_groups
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::GroupNorm<3, 8>;
#else
using M = nn::GroupNorm<4, 8>;
#endif
int main() {
  M m;
  (void)m;
}
