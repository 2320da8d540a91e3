// expect: ctq: observer: averaging_constant must be in
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MovingAverageMinMaxObserver<{.averaging_constant = 0.0f}> o;
#else
  ctq::MovingAverageMinMaxObserver<{.averaging_constant = 1.0f}> o;
#endif
  (void)x;
}
