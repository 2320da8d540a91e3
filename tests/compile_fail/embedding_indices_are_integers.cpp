// expect: ctq: embedding: indices .and offsets. must be a Tensor of std::int64_t or std::int32_t
#include <ctq/nn/embedding.hpp>
int main() {
  ctq::nn::Embedding<10, 4> emb;
#ifdef CTQ_SHOULD_FAIL
  ctq::Tensor<float, 1> x({2}, {1.0f, 2.0f});
#else
  ctq::Tensor<std::int32_t, 1> x({2}, {1, 2});
#endif
  auto y = emb(x);
  (void)y;
}
