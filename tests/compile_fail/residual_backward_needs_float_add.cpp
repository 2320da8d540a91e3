// expect: ctq: nn::Residual::backward: the skip_add module has no backward pass
#include <ctq/ctq.hpp>
using namespace ctq;
int main() {
  // training runs on float models: a residual block whose sum is already quantized cannot train
#ifdef CTQ_SHOULD_FAIL
  nn::Residual<nn::Sequential<nn::Linear<2, 2>>, nn::quantized::QFunctional> r;
#else
  nn::Residual<nn::Sequential<nn::Linear<2, 2>>> r;
#endif
  nn::train(r);
  (void)r(Tensor<float, 2>({1, 2}));
  (void)r.backward(nn::DynTensor(Tensor<float, 2>({1, 2})));
}
