// expect: ctq: nn::quantized::InstanceNorm: InstanceNorm1d takes
#include <ctq/nn/quantized/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using X = nn::quantized::QActivation<3>;
#define SHAPE \
  {1, 4, 8}, PerTensorQParams { 0.1f, 0 }
#else
using X = nn::quantized::QActivation<4>;
#define SHAPE \
  {1, 2, 2, 8}, PerTensorQParams { 0.1f, 0 }
#endif
int main() {
  nn::quantized::InstanceNorm2d<8> m;
  const X x(SHAPE);
  (void)m(x);
}
