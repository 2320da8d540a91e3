// expect: ctq: TensorQuantizer: histogram calibration is per tensor
#include <ctq/ctq.hpp>
int main() {
#ifdef CTQ_SHOULD_FAIL
  ctq::TensorQuantizer<ctq::QuantDescriptor{.axis = ctq::axes(0), .calib_method = ctq::calib_method::histogram}> q;
  (void)q;
#else
  ctq::TensorQuantizer<ctq::QuantDescriptor{.calib_method = ctq::calib_method::histogram}> q;
  (void)q;
#endif
}
