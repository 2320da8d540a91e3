// expect: ctq: nn::ConvTranspose: output_padding must be smaller than either stride or dilation
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::ConvTranspose2d<4, 8, 3, /*stride*/ 2, /*padding*/ 1, /*output_padding*/ 2> m;
#else
  nn::ConvTranspose2d<4, 8, 3, /*stride*/ 2, /*padding*/ 1, /*output_padding*/ 1> m;
#endif
  (void)m(Tensor<float, 4>({1, 5, 5, 4}));
}
