// expect: ctq: nn::quantized::dynamic::LinearFp16: the input needs at least one dimension
#include <ctq/nn/quantized/dynamic/linear.hpp>
using namespace ctq;
int main() {
  Tensor<float, 2> w({4, 3});
  nn::quantized::dynamic::LinearFp16<3, 4> layer(w, {});
#ifdef CTQ_SHOULD_FAIL
  Tensor<float, 0> x;
#else
  Tensor<float, 1> x({3});
#endif
  auto y = layer(x);
  (void)y;
}
