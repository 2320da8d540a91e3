// expect: ctq: QTensor: the dtype has no integer storage
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});

#ifdef CTQ_SHOULD_FAIL
  ctq::QTensor<ctq::dtype::float32, ctq::qscheme::per_tensor_affine, 2> q;
  (void)q;
#else
  ctq::QTensor<ctq::dtype::qint32, ctq::qscheme::per_tensor_affine, 2> q;
  (void)q;
#endif
}
