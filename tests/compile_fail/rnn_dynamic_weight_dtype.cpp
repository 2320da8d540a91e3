// expect: ctq: nn::quantized::dynamic: recurrent modules take qint8 or float16 weights
#include <ctq/nn/quantized/dynamic/rnn.hpp>
using namespace ctq;
int main() {
#ifdef CTQ_SHOULD_FAIL
  nn::quantized::dynamic::LSTMCell<3, 4, dtype::quint8> cell;
#else
  nn::quantized::dynamic::LSTMCell<3, 4, dtype::float16> cell;
#endif
  (void)cell;
}
