// expect: ctq: quantize_dynamic: PyTorch's dynamic LSTM, GRU and cells need bias = true
#include <ctq/ctq.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::Sequential<nn::named<"lstm", nn::LSTM<3, 4, 1, false>>> model;
#else
  nn::Sequential<nn::named<"lstm", nn::LSTM<3, 4, 1, true>>> model;
#endif
  auto q = quantize_dynamic(model);
  (void)q;
}
