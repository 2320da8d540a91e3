// expect: ctq: HistogramObserver: dtype must be quint8 or qint8
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::HistogramObserver<{.dtype = ctq::dtype::qint32}> o;
#else
  ctq::HistogramObserver<{.dtype = ctq::dtype::qint8}> o;
#endif
  (void)x;
}
