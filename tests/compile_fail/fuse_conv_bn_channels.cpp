// expect: ctq: fuse_modules: the BatchNorm's num_features differs from the conv's out_channels
#include <ctq/ctq.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using Net = nn::Sequential<nn::named<"conv", nn::Conv2d<3, 8, 3>>, nn::named<"bn", nn::BatchNorm2d<4>>>;
#else
using Net = nn::Sequential<nn::named<"conv", nn::Conv2d<3, 8, 3>>, nn::named<"bn", nn::BatchNorm2d<8>>>;
#endif
int main() {
  auto fused = fuse_modules<fuse<"conv", "bn">>(Net{});
  (void)fused;
}
