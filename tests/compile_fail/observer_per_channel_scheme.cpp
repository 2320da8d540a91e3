// expect: ctq: observer: this observer is per channel
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::PerChannelMinMaxObserver<{.qscheme = ctq::qscheme::per_tensor_affine}> o;
#else
  ctq::MinMaxObserver<{.qscheme = ctq::qscheme::per_tensor_affine}> o;
#endif
  (void)x;
}
