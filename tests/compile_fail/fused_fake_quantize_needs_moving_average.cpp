// expect: ctq: FusedMovingAvgObsFakeQuantize: the observer must be MovingAverageMinMaxObserver
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::FusedMovingAvgObsFakeQuantize<ctq::MinMaxObserver<>> f;
#else
  ctq::FusedMovingAvgObsFakeQuantize<ctq::MovingAverageMinMaxObserver<>> f;
#endif
  (void)x;
}
