// expect: ctq: nn::LayerNorm: the input has fewer dimensions than normalized_shape
#include <ctq/nn/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using X = Tensor<float, 1>;
#define SHAPE \
  { 4 }
#else
using X = Tensor<float, 2>;
#define SHAPE \
  { 3, 4 }
#endif
int main() {
  nn::LayerNorm<nn::dims<3, 4>> m;
  const X x(SHAPE);
  (void)m(x);
}
