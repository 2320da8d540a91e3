// Built with -fno-exceptions -fno-rtti: ctq compiles, computes, and routes a runtime error to the
// handler installed with ctq::set_error_handler (which must not return).
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <ctq/ctq.hpp>

namespace {
std::jmp_buf back;
char last_message[512];
void handler(const char* message) {
  std::snprintf(last_message, sizeof last_message, "%s", message);
  std::longjmp(back, 1);
}
}  // namespace

int main() {
  ctq::set_error_handler(&handler);
  ctq::Tensor<float, 1> x({4}, {0.25f, -0.25f, 1.0f, 300.0f});
  const auto q = ctq::quantize_per_tensor<ctq::dtype::qint8>(x, 0.5f, 0);
  // 0.5 -> 0 (tie to even), -0.5 -> -0, 2, 600 -> 127
  if (q.int_repr()[0] != 0 || q.int_repr()[1] != 0 || q.int_repr()[2] != 2 || q.int_repr()[3] != 127) {
    std::puts("FAIL: wrong quantized values");
    return 1;
  }
  if (setjmp(back) == 0) {
    (void)ctq::quantize_per_tensor<ctq::dtype::qint8>(x, -1.0f, 0);
    std::puts("FAIL: a negative scale did not reach the handler");
    return 1;
  }
  if (std::strstr(last_message, "must be a positive finite number") == nullptr) {
    std::printf("FAIL: unexpected message: %s\n", last_message);
    return 1;
  }
  std::printf("ok: handler received \"%s\"\n", last_message);

  // the module workflow too: prepare, calibrate, convert, run an int8 model
  using namespace ctq;
  using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 3>>,
                             nn::named<"relu", nn::ReLU>, nn::named<"dequant", DeQuantStub>>;
  Net net;
  nn::reset_parameters(net, 1);
  auto prepared = prepare<get_default_qconfig<backend::qnnpack>>(net);
  prepared(Tensor<float, 2>({1, 4}, {0.5f, -1.0f, 2.0f, 0.25f}));
  auto qnet = convert<backend::qnnpack>(prepared);
  const Tensor<float, 2> y = qnet(Tensor<float, 2>({1, 4}, {0.5f, -1.0f, 2.0f, 0.25f}));
  const Tensor<float, 2> y_float = net(Tensor<float, 2>({1, 4}, {0.5f, -1.0f, 2.0f, 0.25f}));
  for (index_t i = 0; i < 3; ++i) {
    // one int8 layer calibrated on this input: within two output steps (range / 255 each)
    if (std::abs(y[i] - y_float[i]) > 0.05f) {
      std::printf("FAIL: int8 model output %d: %f vs float %f\n", static_cast<int>(i), y[i], y_float[i]);
      return 1;
    }
  }
  // (the handler jumps out of the call: nothing may be allocated inside it, or the jump leaks it;
  // the layer checks the shape before it allocates)
  const Tensor<float, 2> wrong({1, 5});
  const auto qwrong = quantize_per_tensor<dtype::quint8>(wrong, 0.1f, 0);
  auto& fc = nn::module_at<"fc">(qnet);
  if (setjmp(back) == 0) {
    (void)fc(qwrong);
    std::puts("FAIL: a wrong input shape did not reach the handler");
    return 1;
  }
  std::printf("ok: an int8 model ran, and its shape error reached the handler: \"%s\"\n", last_message);
  return 0;
}
