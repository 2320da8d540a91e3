// expect: ctq: requantize: the input must be quantized per tensor
#include <ctq/ctq.hpp>
int main() {
  ctq::Tensor<float, 2> x({2, 3});
  const auto pc = ctq::quantize_per_channel<ctq::dtype::qint8>(x, {0.1f, 0.1f}, std::vector<std::int32_t>{0, 0}, 0);
#ifdef CTQ_SHOULD_FAIL
  auto r = ctq::requantize<ctq::dtype::quint8>(pc, ctq::PerTensorQParams{});
  (void)r;
#else
  auto r = ctq::requantize<ctq::dtype::quint8>(ctq::quantize_per_tensor<ctq::dtype::qint8>(x, 1.0f, 0),
                                               ctq::PerTensorQParams{});
  (void)r;
  (void)pc;
#endif
}
