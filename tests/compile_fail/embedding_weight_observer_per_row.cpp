// expect: ctq: convert: embedding weights are quantized per row: the weight observer's ch_axis must be 0
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/embedding.hpp>
using namespace ctq;
using PerColumn = PerChannelMinMaxObserver<{
    .ch_axis = 1, .dtype = dtype::quint8, .qscheme = qscheme::per_channel_affine_float_qparams}>;
int main() {
  nn::Embedding<10, 4> emb;
#ifdef CTQ_SHOULD_FAIL
  using QC = QConfig<PlaceholderObserver<{.dtype = dtype::float32}>, PerColumn>;
#else
  using QC = float_qparams_weight_only_qconfig;
#endif
  auto q = quantized_module<nn::Embedding<10, 4>>::convert<QC>(emb, ConvertInfo{});
  (void)q;
}
