// expect: ctq: export_onnx: this module has no ONNX export
#include <ctq/nn.hpp>
#include <ctq/tensor_quant/onnx_export.hpp>
#include <string>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::nn::Sequential<ctq::nn::Linear<4, 4>, ctq::nn::Hardswish> net;  // Hardswish needs opset 14
#else
  ctq::nn::Sequential<ctq::nn::Linear<4, 4>, ctq::nn::ReLU> net;
#endif
  const std::string bytes = ctq::to_onnx(net, {1, 4});
  (void)bytes;
}
