// expect: ctq: no child of that name at this dotted path
#include <ctq/ctq.hpp>
using namespace ctq;
using Net = nn::Sequential<nn::named<"conv", nn::Conv2d<3, 8, 3>>, nn::named<"relu", nn::ReLU>>;
int main() {
#ifdef CTQ_SHOULD_FAIL
  auto fused = fuse_modules<fuse<"conv1", "relu">>(Net{});
#else
  auto fused = fuse_modules<fuse<"conv", "relu">>(Net{});
#endif
  (void)fused;
}
