// expect: ctq: embedding: padding_idx must lie in
#include <ctq/nn/embedding.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::nn::Embedding<10, 4, 10> emb;
#else
  ctq::nn::Embedding<10, 4, -10> emb;
#endif
  (void)emb;
}
