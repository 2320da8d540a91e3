// expect: ctq: nn::quantized::BatchNorm: 2d or 3d
#include <ctq/nn/quantized/normalization.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using M = nn::quantized::BatchNormT<1, 8>;
#else
using M = nn::quantized::BatchNormT<2, 8>;
#endif
int main() {
  M m;
  (void)m;
}
