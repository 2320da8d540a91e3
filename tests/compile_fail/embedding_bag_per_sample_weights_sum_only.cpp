// expect: ctq: embedding_bag: per_sample_weights is only supported with mode sum
#include <ctq/nn/embedding.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::EmbeddingBag<10, 4, nn::bag_mode::mean> bag;
#else
  nn::EmbeddingBag<10, 4, nn::bag_mode::sum> bag;
#endif
  Tensor<std::int64_t, 1> x({2}, {1, 2}), offsets({1}, {0});
  Tensor<float, 1> w({2}, {0.5f, 2.0f});
  auto y = bag(x, offsets, w);
  (void)y;
}
