// expect: ctq: embedding_bag: 1-d indices need offsets
#include <ctq/nn/embedding.hpp>
using namespace ctq;
int main() {
  nn::EmbeddingBag<10, 4> bag;
#ifdef CTQ_SHOULD_FAIL
  Tensor<std::int64_t, 1> x({2}, {1, 2});
#else
  Tensor<std::int64_t, 2> x({1, 2}, {1, 2});
#endif
  auto y = bag(x);
  (void)y;
}
