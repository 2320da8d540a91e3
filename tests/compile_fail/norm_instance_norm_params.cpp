// expect: ctq: nn::InstanceNorm: num_features and eps must be positive
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::InstanceNorm2d<0>;
#else
using M = nn::InstanceNorm2d<1>;
#endif
int main() {
  M m;
  (void)m;
}
