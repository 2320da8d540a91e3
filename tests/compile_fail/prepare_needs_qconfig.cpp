// expect: ctq: prepare: the argument must be a QConfig, no_qconfig or a QConfigMapping
#include <ctq/ctq.hpp>
using namespace ctq;
using Net = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"fc", nn::Linear<4, 2>>>;
int main() {
#ifdef CTQ_SHOULD_FAIL
  auto prepared = prepare<backend::x86>(Net{});
#else
  auto prepared = prepare<get_default_qconfig<backend::x86>>(Net{});
#endif
  (void)prepared;
}
