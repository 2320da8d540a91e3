// expect: ctq: nn::ConvTranspose: in_channels and out_channels must be divisible by groups
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::ConvTranspose1d<6, 9, 3, 1, 0, 0, /*groups*/ 2> m;
#else
  nn::ConvTranspose1d<6, 8, 3, 1, 0, 0, /*groups*/ 2> m;
#endif
  (void)m(Tensor<float, 3>({1, 5, 6}));
}
