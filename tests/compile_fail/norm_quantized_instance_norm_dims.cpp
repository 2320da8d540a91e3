// expect: ctq: nn::quantized::InstanceNorm: 1d, 2d or 3d
#include <ctq/nn/quantized/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::quantized::InstanceNormNd<0, 8>;
#else
using M = nn::quantized::InstanceNormNd<1, 8>;
#endif
int main() {
  M m;
  (void)m;
}
