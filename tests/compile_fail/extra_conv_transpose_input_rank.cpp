// expect: ctq: nn::ConvTranspose: the input must have rank spatial dims . 2
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
int main() {
  nn::ConvTranspose2d<4, 8, 3> m;
#ifdef CTQ_SHOULD_FAIL
  (void)m(Tensor<float, 3>({1, 5, 4}));
#else
  (void)m(Tensor<float, 4>({1, 5, 5, 4}));
#endif
}
