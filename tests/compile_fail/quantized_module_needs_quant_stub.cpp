// expect: ctq: a float tensor reaches a quantized module: a QuantStub is missing before it
#include <ctq/ctq.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using Net = nn::Sequential<nn::named<"fc", nn::Linear<4, 2>>, nn::named<"dequant", DeQuantStub>>;
#else
using Net =
    nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 2>>, nn::named<"dequant", DeQuantStub>>;
#endif
int main() {
  Tensor<float, 2> x({1, 4});
  auto prepared = prepare<get_default_qconfig<backend::qnnpack>>(Net{});
  prepared(x);
  auto q = convert<backend::qnnpack>(prepared);
  auto y = q(x);
  (void)y;
}
