// expect: ctq: nn::LayerNorm: normalized_shape's sizes and eps must be positive
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::LayerNorm<nn::dims<4, 0>>;
#else
using M = nn::LayerNorm<nn::dims<4, 2>>;
#endif
int main() {
  M m;
  (void)m;
}
