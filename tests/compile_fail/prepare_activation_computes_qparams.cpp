// expect: ctq: prepare: the qconfig's activation observer computes no quantization parameters
#include <ctq/ctq.hpp>
using namespace ctq;
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 2>>>;
int main() {
#ifdef CTQ_SHOULD_FAIL
  auto prepared = prepare<QConfig<PlaceholderObserver<>, default_weight_observer>>(Net{});
#else
  auto prepared = prepare<QConfig<default_observer, default_weight_observer>>(Net{});
#endif
  (void)prepared;
}
