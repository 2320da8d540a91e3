// expect: ctq: Observed::backward: this activation fake-quantizer has no straight-through backward pass
#include <ctq/ctq.hpp>
using namespace ctq;
using Net = nn::Sequential<nn::named<"fc", nn::Linear<4, 2>>>;
using Learnable = LearnableFakeQuantize<MovingAverageMinMaxObserver<{.quant_min = 0, .quant_max = 255}>>;
int main() {
  // a learnable quantizer's backward also yields scale and zero-point gradients, which training a
  // whole model does not carry yet: prepare_qat accepts it, backward refuses at compile time
#ifdef CTQ_SHOULD_FAIL
  using QC = QConfig<Learnable, default_weight_fake_quant>;
#else
  using QC = default_qat_qconfig;
#endif
  auto qat = prepare_qat<QC>(Net{});
  nn::train(qat);
  const auto y = qat(Tensor<float, 2>({3, 4}));
  (void)nn::backward(qat, y);
}
