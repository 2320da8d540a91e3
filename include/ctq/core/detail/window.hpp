// Window arithmetic shared by the float modules (nn/) and the int8 kernels (kernels/): PyTorch's
// pooling output size and its adaptive-pooling bins.
#pragma once

#include <cmath>

#include "../qparams.hpp"

namespace ctq::detail {

// PyTorch's pooling_output_shape: floor((in + 2 pad - dilation (k - 1) - 1 [+ stride - 1]) / stride)
// + 1; with ceil_mode the last window must start inside the input or its left padding.
inline index_t pooling_output_size(index_t in, index_t k, index_t pad, index_t stride, index_t dilation,
                                   bool ceil_mode) {
  const index_t num = in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  index_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// PyTorch's adaptive bins: start = floor(float(o * in) / out), end = ceil(float((o + 1) * in) / out).
inline index_t adaptive_start(index_t o, index_t out, index_t in) {
  return static_cast<index_t>(std::floor(static_cast<float>(o * in) / static_cast<float>(out)));
}
inline index_t adaptive_end(index_t o, index_t out, index_t in) {
  return static_cast<index_t>(std::ceil(static_cast<float>((o + 1) * in) / static_cast<float>(out)));
}

}  // namespace ctq::detail
