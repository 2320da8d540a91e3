// expect: ctq: convert: ConvTranspose needs a per-tensor weight observer, as in PyTorch
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"deconv", nn::ConvTranspose2d<4, 8, 2, 2>>,
                           nn::named<"dequant", DeQuantStub>>;
// onednn's default qconfig observes weights per channel; PyTorch's prepare rejects it for ConvTranspose
using QC = get_default_qconfig<backend::onednn>;
#ifdef CTQ_SHOULD_FAIL
using Mapping = QC;
#else
using Mapping = QConfigMapping<QC, for_name<"deconv", QConfig<QC::activation, default_weight_observer>>>;
#endif
int main() {
  auto prepared = prepare<Mapping>(Net{});
  prepared(Tensor<float, 4>({1, 3, 3, 4}));
  auto q = convert<backend::onednn>(std::move(prepared));
  (void)q;
}
