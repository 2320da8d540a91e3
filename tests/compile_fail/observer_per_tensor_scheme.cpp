// expect: ctq: observer: this observer is per tensor
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.qscheme = ctq::qscheme::per_channel_affine}> o;
#else
  ctq::PerChannelMinMaxObserver<{.qscheme = ctq::qscheme::per_channel_affine}> o;
#endif
  (void)x;
}
