// expect: ctq: quantize_dynamic: the dtype is qint8 or float16
#include <ctq/ctq.hpp>
using namespace ctq;
using Net = nn::Sequential<nn::named<"fc", nn::Linear<4, 2>>>;
int main() {
#ifdef CTQ_SHOULD_FAIL
  auto q = quantize_dynamic<default_dynamic_kinds, dtype::quint8>(Net{});
#else
  auto q = quantize_dynamic<default_dynamic_kinds, dtype::float16>(Net{});
#endif
  (void)q;
}
