// expect: ctq: not an Observer
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  static_assert(ctq::require_observer<int>());
#else
  static_assert(ctq::require_observer<ctq::MinMaxObserver<> >());
#endif
  (void)x;
}
