// Built with -fno-exceptions -fno-rtti: ctq compiles, computes, and routes a runtime error to the
// handler installed with ctq::set_error_handler (which must not return).
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
  return 0;
}
