// expect: ctq: nn::quantized::cat: the tensors need a batch dimension and a channel dimension
#include <ctq/ctq.hpp>
#include <ctq/quantization/mappings/extra.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  using QA = nn::quantized::QActivation<1>;
  const QA a({3}, {0.1f, 0}), b({2}, {0.1f, 0});
#else
  using QA = nn::quantized::QActivation<2>;
  const QA a({1, 3}, {0.1f, 0}), b({1, 2}, {0.1f, 0});
#endif
  const std::array<const QA*, 2> xs{&a, &b};
  (void)nn::quantized::cat(xs, {0.1f, 0}, {});
}
