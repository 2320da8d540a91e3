// expect: ctq: observer: eps must be positive
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.eps = 0.0f}> o;
#else
  ctq::MinMaxObserver<{.eps = 1e-6f}> o;
#endif
  (void)x;
}
