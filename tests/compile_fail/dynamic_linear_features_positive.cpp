// expect: ctq: nn::quantized::dynamic::Linear: in_features and out_features must be positive
#include <ctq/nn/quantized/dynamic/linear.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::quantized::dynamic::Linear<0, 4> layer;
#else
  nn::quantized::dynamic::Linear<3, 4> layer;
#endif
  (void)layer;
}
