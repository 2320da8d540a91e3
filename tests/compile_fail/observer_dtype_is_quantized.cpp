// expect: ctq: observer: dtype must be quint8, qint8, quint4x2 or qint32
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::MinMaxObserver<{.dtype = ctq::dtype::float16}> o;
#else
  ctq::MinMaxObserver<{.dtype = ctq::dtype::qint8}> o;
#endif
  (void)x;
}
