// Uses the installed ctq: quantizes a tensor and checks one value.
#include <cstdio>
#include <ctq/ctq.hpp>

int main() {
  ctq::Tensor<float, 1> x({3}, {0.5f, -1.0f, 2.0f});
  const auto q = ctq::quantize_per_tensor<ctq::dtype::qint8>(x, 0.25f, 0);
  std::printf("consumer: %d %d %d\n", q.int_repr()[0], q.int_repr()[1], q.int_repr()[2]);
  return (q.int_repr()[0] == 2 && q.int_repr()[1] == -4 && q.int_repr()[2] == 8) ? 0 : 1;
}
