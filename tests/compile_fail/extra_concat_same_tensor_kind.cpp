// expect: ctq: nn::Concat: every branch must return the same kind of tensor
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
// the second branch dequantizes: float and quantized tensors would meet in the cat
using Branch2 = nn::Sequential<nn::Sigmoid, DeQuantStub>;
#else
using Branch2 = nn::Sigmoid;
#endif
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"concat", nn::Concat<nn::ReLU, Branch2>>,
                           nn::named<"dequant", DeQuantStub>>;
int main() {
  auto prepared = prepare<get_default_qconfig<backend::qnnpack>>(Net{});
  prepared(Tensor<float, 4>({1, 2, 2, 3}));
  auto q = convert<backend::qnnpack>(std::move(prepared));
  (void)q(Tensor<float, 4>({1, 2, 2, 3}));
}
