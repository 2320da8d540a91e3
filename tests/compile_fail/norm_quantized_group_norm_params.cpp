// expect: ctq: nn::quantized::GroupNorm: num_channels must be a positive multiple of num_groups
#include <ctq/nn/quantized/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::quantized::GroupNorm<3, 8>;
#else
using M = nn::quantized::GroupNorm<2, 8>;
#endif
int main() {
  M m;
  (void)m;
}
