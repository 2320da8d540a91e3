// expect: ctq: nn::Concat: the last child is the FloatFunctional named "cat"
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using C = nn::ConcatT<nn::ReLU, nn::Sigmoid, nn::named<"join", nn::FloatFunctional>>;
#else
using C = nn::ConcatT<nn::ReLU, nn::Sigmoid, nn::named<"cat", nn::FloatFunctional>>;
#endif
int main() {
  C c;
  (void)c(Tensor<float, 2>({1, 3}));
}
