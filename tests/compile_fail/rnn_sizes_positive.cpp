// expect: ctq: nn: recurrent layers need a positive input_size and hidden_size
#include <ctq/nn/rnn.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::LSTM<0, 4> lstm;
#else
  nn::LSTM<3, 4> lstm;
#endif
  (void)lstm;
}
