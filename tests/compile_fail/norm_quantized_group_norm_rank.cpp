// expect: ctq: nn::quantized::GroupNorm: the input is
#include <ctq/nn/quantized/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using X = nn::quantized::QActivation<2>;
#define SHAPE \
  {1, 8}, PerTensorQParams { 0.1f, 0 }
#else
using X = nn::quantized::QActivation<3>;
#define SHAPE \
  {1, 4, 8}, PerTensorQParams { 0.1f, 0 }
#endif
int main() {
  nn::quantized::GroupNorm<2, 8> m;
  const X x(SHAPE);
  (void)m(x);
}
