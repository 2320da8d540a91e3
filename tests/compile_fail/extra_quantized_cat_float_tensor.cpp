// expect: ctq: a float tensor reaches a QFunctional .quantized cat.: a QuantStub is missing before it
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
// a converted Concat: its branches (ReLU, Sigmoid) take float tensors, its cat does not
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"concat", nn::Concat<nn::ReLU, nn::Sigmoid>>,
                           nn::named<"dequant", DeQuantStub>>;
int main() {
  auto prepared = prepare<get_default_qconfig<backend::qnnpack>>(Net{});
  prepared(Tensor<float, 4>({1, 2, 2, 3}));
  auto q = convert<backend::qnnpack>(std::move(prepared));
#ifdef CTQ_SHOULD_FAIL
  (void)nn::module_at<"concat">(q)(Tensor<float, 4>({1, 2, 2, 3}));
#else
  (void)q(Tensor<float, 4>({1, 2, 2, 3}));
#endif
}
