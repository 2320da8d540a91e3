// expect: ctq: nn::GroupNorm: the input is
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using X = Tensor<float, 1>;
#define SHAPE \
  { 8 }
#else
using X = Tensor<float, 2>;
#define SHAPE \
  { 1, 8 }
#endif
int main() {
  nn::GroupNorm<2, 8> m;
  const X x(SHAPE);
  (void)m(x);
}
