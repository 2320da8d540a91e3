// expect: ctq: qconfig: fbgemm and x86 need activations within 7 bits
#include <ctq/ctq.hpp>
using namespace ctq;
using Net =
    nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 2>>, nn::named<"dequant", DeQuantStub>>;
int main() {
  // qnnpack's default qconfig uses the full 8-bit activation range, which x86 cannot run
  auto prepared = prepare<get_default_qconfig<backend::qnnpack>>(Net{});
#ifdef CTQ_SHOULD_FAIL
  auto q = convert<backend::x86>(prepared);
#else
  auto q = convert<backend::qnnpack>(prepared);
#endif
  (void)q;
}
