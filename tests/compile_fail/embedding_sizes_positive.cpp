// expect: ctq: embedding: num_embeddings and embedding_dim must be positive
#include <ctq/nn/embedding.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::nn::EmbeddingBag<10, 0> bag;
#else
  ctq::nn::EmbeddingBag<10, 1> bag;
#endif
  (void)bag;
}
