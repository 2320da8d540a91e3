// expect: ctq: a quantized tensor reaches a float module: a DeQuantStub is missing before it
#include <ctq/ctq.hpp>
using namespace ctq;
// fc2 stays in float (no_qconfig): its input must be dequantized first
#ifdef CTQ_SHOULD_FAIL
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc1", nn::Linear<4, 3>>,
                           nn::named<"fc2", nn::Linear<3, 2>>>;
#else
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc1", nn::Linear<4, 3>>,
                           nn::named<"dequant", DeQuantStub>, nn::named<"fc2", nn::Linear<3, 2>>>;
#endif
int main() {
  Tensor<float, 2> x({1, 4});
  using Mapping = QConfigMapping<get_default_qconfig<backend::qnnpack>, for_name<"fc2", no_qconfig>>;
  auto prepared = prepare<Mapping>(Net{});
  auto q = convert<backend::qnnpack>(prepared);
  auto y = q(x);
  (void)y;
}
