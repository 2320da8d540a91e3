// expect: ctq: FakeQuantize: the observer must compute quantization parameters
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::FakeQuantize<ctq::PlaceholderObserver<>> f;
#else
  ctq::FakeQuantize<ctq::MinMaxObserver<>> f;
#endif
  (void)x;
}
