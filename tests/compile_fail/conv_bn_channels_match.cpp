// expect: ctq: nn::intrinsic::ConvBn: the BatchNorm's num_features differs from the conv's out_channels
#include <ctq/ctq.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::intrinsic::ConvBnReLU<nn::Conv2d<1, 8, 3>, nn::BatchNorm2d<4>> m;
#else
  nn::intrinsic::ConvBnReLU<nn::Conv2d<1, 4, 3>, nn::BatchNorm2d<4>> m;
#endif
  (void)m;
}
