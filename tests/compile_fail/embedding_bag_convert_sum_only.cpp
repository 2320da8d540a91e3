// expect: ctq: convert: a quantized EmbeddingBag only sums
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/embedding.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using Bag = nn::EmbeddingBag<10, 4, nn::bag_mode::mean>;  // PyTorch's quantized bag would sum silently
#else
using Bag = nn::EmbeddingBag<10, 4, nn::bag_mode::sum>;
#endif
int main() {
  auto q = convert(prepare<float_qparams_weight_only_qconfig>(nn::Sequential<nn::named<"emb", Bag>>{}));
  (void)q;
}
