// expect: ctq: quantized embedding: 4-bit rows need an even embedding_dim
#include <ctq/nn/quantized/embedding.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::nn::quantized::Embedding<10, 5, ctq::dtype::quint4x2> emb;
#else
  ctq::nn::quantized::Embedding<10, 6, ctq::dtype::quint4x2> emb;
#endif
  (void)emb;
}
