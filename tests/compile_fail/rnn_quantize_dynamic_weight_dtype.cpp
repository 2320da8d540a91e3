// expect: ctq: quantize_dynamic: recurrent modules take qint8 or float16 weights
#include <ctq/ctq.hpp>
using namespace ctq;
#ifdef CTQ_SHOULD_FAIL
using QC = QConfigDynamic<default_dynamic_quant_observer, MinMaxObserver<{.dtype = dtype::quint8}>>;
#else
using QC = QConfigDynamic<default_dynamic_quant_observer, MinMaxObserver<{.dtype = dtype::qint8}>>;
#endif
int main() {
  nn::Sequential<nn::named<"cell", nn::GRUCell<3, 4>>> model;
  auto q = quantize_dynamic<QC>(model);
  (void)q;
}
