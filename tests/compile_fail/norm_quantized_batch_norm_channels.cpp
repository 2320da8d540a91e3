// expect: ctq: nn::quantized::BatchNorm: num_features must be positive
#include <ctq/nn/quantized/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::quantized::BatchNorm3d<0>;
#else
using M = nn::quantized::BatchNorm3d<1>;
#endif
int main() {
  M m;
  (void)m;
}
