// nn::FloatFunctional: the float add / mul / cat of a model, as a module so that prepare can
// observe its output and convert can swap it for nn::quantized::QFunctional (PyTorch's
// torch.nn.quantized.FloatFunctional).
#pragma once

#include <array>
#include <string_view>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "grad.hpp"
#include "module.hpp"

namespace ctq::nn {

namespace detail {
template <int R>
void check_same_shape(const Tensor<float, R>& a, const Tensor<float, R>& b, std::string_view op) {
  if (a.shape() != b.shape()) {
    raise(ctq::detail::message() << "ctq: " << op << ": the operands' shapes differ (no broadcasting)");
  }
}
}  // namespace detail

struct FloatFunctional {
  static constexpr std::string_view name = "FloatFunctional";

  /// Training through add (nn::Residual): each operand's gradient is the result's, g. (The
  /// other operations have no backward pass.)
  DynTensor backward(const DynTensor& g) const { return g; }

  template <int R>
  Tensor<float, R> add(const Tensor<float, R>& a, const Tensor<float, R>& b) const {
    detail::check_same_shape(a, b, "FloatFunctional::add");
    Tensor<float, R> y(a.shape());
    y.array() = a.array() + b.array();
    return y;
  }
  template <int R>
  Tensor<float, R> add_relu(const Tensor<float, R>& a, const Tensor<float, R>& b) const {
    detail::check_same_shape(a, b, "FloatFunctional::add_relu");
    Tensor<float, R> y(a.shape());
    y.array() = (a.array() + b.array()).max(0.0f);
    return y;
  }
  template <int R>
  Tensor<float, R> mul(const Tensor<float, R>& a, const Tensor<float, R>& b) const {
    detail::check_same_shape(a, b, "FloatFunctional::mul");
    Tensor<float, R> y(a.shape());
    y.array() = a.array() * b.array();
    return y;
  }
  template <int R>
  Tensor<float, R> add_scalar(const Tensor<float, R>& a, float c) const {
    Tensor<float, R> y(a.shape());
    y.array() = a.array() + c;
    return y;
  }
  template <int R>
  Tensor<float, R> mul_scalar(const Tensor<float, R>& a, float c) const {
    Tensor<float, R> y(a.shape());
    y.array() = a.array() * c;
    return y;
  }
  /// Concatenation along the last (channel) dimension of channels-last tensors: PyTorch's
  /// cat(dim=1) on NCHW tensors.
  template <int R, std::size_t K>
  Tensor<float, R> cat(const std::array<const Tensor<float, R>*, K>& xs) const {
    static_assert(K >= 1, "ctq: FloatFunctional::cat: at least one tensor");
    auto shape = xs[0]->shape();
    index_t channels = 0;
    for (const auto* x : xs) {
      for (int d = 0; d + 1 < R; ++d) {
        if (x->dim(d) != shape[static_cast<std::size_t>(d)]) {
          raise("ctq: FloatFunctional::cat: the tensors differ in a dimension other than the channels");
        }
      }
      channels += x->dim(R - 1);
    }
    shape[R - 1] = channels;
    Tensor<float, R> y(shape);
    const index_t pixels = channels == 0 ? 0 : y.size() / channels;
    index_t offset = 0;
    for (const auto* x : xs) {
      const index_t c = x->dim(R - 1);
      for (index_t p = 0; p < pixels; ++p) std::copy_n(x->data() + p * c, c, y.data() + p * channels + offset);
      offset += c;
    }
    return y;
  }
};

}  // namespace ctq::nn
