// expect: ctq: HistogramObserver: bins must be positive
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::HistogramObserver<{.bins = 0}> o;
#else
  ctq::HistogramObserver<{.bins = 16}> o;
#endif
  (void)x;
}
