// expect: ctq: nn::quantized::dynamic::LinearFp16: in_features and out_features must be positive
#include <ctq/nn/quantized/dynamic/linear.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::quantized::dynamic::LinearFp16<3, 0> layer;
#else
  nn::quantized::dynamic::LinearFp16<3, 4> layer;
#endif
  (void)layer;
}
