// expect: ctq: nn::InstanceNorm: 1d, 2d or 3d
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::InstanceNormNd<4, 8>;
#else
using M = nn::InstanceNormNd<3, 8>;
#endif
int main() {
  M m;
  (void)m;
}
