// expect: ctq: nn::InstanceNorm: InstanceNorm1d takes
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using X = Tensor<float, 3>;
#define SHAPE \
  { 1, 4, 8 }
#else
using X = Tensor<float, 4>;
#define SHAPE \
  { 1, 2, 2, 8 }
#endif
int main() {
  nn::InstanceNorm2d<8> m;
  const X x(SHAPE);
  (void)m(x);
}
