// expect: ctq: per-channel observer: ch_axis is out of range for the tensor's rank
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});
  ctq::PerChannelMinMaxObserver<{.ch_axis = 2}> o;
#ifdef CTQ_SHOULD_FAIL
  o(x);
#else
  o(ctq::Tensor<float, 3>({2, 3, 4}));
#endif
  (void)x;
}
