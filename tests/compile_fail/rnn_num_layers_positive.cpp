// expect: ctq: nn: recurrent layers need num_layers >= 1
#include <ctq/nn/rnn.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::GRU<3, 4, 0> gru;
#else
  nn::GRU<3, 4, 1> gru;
#endif
  (void)gru;
}
