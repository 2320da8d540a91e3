// expect: ctq: FusedMovingAvgObsFakeQuantize: per-channel observation needs ch_axis 0
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::FusedMovingAvgObsFakeQuantize<ctq::MovingAveragePerChannelMinMaxObserver<{.ch_axis = 1}>> f;
#else
  ctq::FusedMovingAvgObsFakeQuantize<ctq::MovingAveragePerChannelMinMaxObserver<{.ch_axis = 0}>> f;
#endif
  (void)x;
}
