// expect: ctq: nn::ConvTranspose: channels, kernel, stride, dilation and groups must be positive
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::ConvTranspose2d<4, 8, 3, /*stride*/ 0> m;
#else
  nn::ConvTranspose2d<4, 8, 3, /*stride*/ 1> m;
#endif
  (void)m(Tensor<float, 4>({1, 5, 5, 4}));
}
