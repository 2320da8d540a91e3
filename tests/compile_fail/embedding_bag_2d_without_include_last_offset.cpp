// expect: ctq: embedding_bag: 2-d indices with include_last_offset lose their last bag in PyTorch
#include <ctq/nn/embedding.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::EmbeddingBag<10, 4, nn::bag_mode::sum, true> bag;
#else
  nn::EmbeddingBag<10, 4, nn::bag_mode::sum, false> bag;
#endif
  Tensor<std::int64_t, 2> x({2, 2}, {1, 2, 3, 4});
  auto y = bag(x);
  (void)y;
}
