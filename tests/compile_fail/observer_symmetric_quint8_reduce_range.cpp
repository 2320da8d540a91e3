// expect: ctq: observer: reduce_range is not supported for symmetric quint8
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.qscheme = ctq::qscheme::per_tensor_symmetric, .reduce_range = true}> o;
#else
  ctq::MinMaxObserver<{.qscheme = ctq::qscheme::per_tensor_symmetric, .reduce_range = false}> o;
#endif
  (void)x;
}
