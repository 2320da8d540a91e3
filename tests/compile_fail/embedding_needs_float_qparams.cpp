// expect: ctq: convert: Embedding and EmbeddingBag need a float_qparams weight observer
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/embedding.hpp>
using namespace ctq;
using Bag = nn::EmbeddingBag<10, 4, nn::bag_mode::sum>;
using Net = nn::Sequential<nn::named<"emb", Bag>, nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 2>>,
                           nn::named<"dequant", DeQuantStub>>;
using QC = get_default_qconfig<backend::x86>;
int main() {
  Net net;
#ifdef CTQ_SHOULD_FAIL
  auto prepared = prepare<QC>(net);  // the embedding gets the x86 qconfig: int8 weights per channel
#else
  auto prepared = prepare<QConfigMapping<QC, for_type<Bag, float_qparams_weight_only_qconfig>>>(net);
#endif
  auto q = convert<backend::x86>(prepared);
  (void)q;
}
