// expect: ctq: quantized embedding: weights are quint8 or quint4x2
#include <ctq/nn/quantized/embedding.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::nn::quantized::EmbeddingBag<10, 4, ctq::dtype::qint8> bag;
#else
  ctq::nn::quantized::EmbeddingBag<10, 4, ctq::dtype::quint8> bag;
#endif
  (void)bag;
}
