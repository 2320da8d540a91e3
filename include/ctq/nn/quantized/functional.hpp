// nn::quantized::QFunctional: the quantized add / add_relu / mul / add_scalar / mul_scalar / cat
// of a model, with the output parameters its FloatFunctional's observer chose (PyTorch's
// nnq.QFunctional). The engine decides the rounding (kernels/elementwise.hpp).
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "../../kernels/elementwise.hpp"
#include "../module.hpp"
#include "cat.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

class QFunctional {
 public:
  static constexpr std::string_view name = "QFunctional";

  QFunctional() = default;
  QFunctional(PerTensorQParams out, EngineConfig engine) : out_(out), engine_(engine) {}

  template <int R>
  QActivation<R> add(const QActivation<R>& a, const QActivation<R>& b) const {
    return binary(a, b, "QFunctional::add", [&](auto... args) { kernels::add<std::uint8_t>(args..., engine_.torch); });
  }
  template <int R>
  QActivation<R> add_relu(const QActivation<R>& a, const QActivation<R>& b) const {
    return binary(a, b, "QFunctional::add_relu",
                  [&](auto... args) { kernels::add_relu<std::uint8_t>(args..., engine_.torch); });
  }
  template <int R>
  QActivation<R> mul(const QActivation<R>& a, const QActivation<R>& b) const {
    return binary(a, b, "QFunctional::mul", [&](auto... args) { kernels::mul<std::uint8_t>(args...); });
  }
  /// The output parameters follow from the input's (as PyTorch's add_scalar), not the observer's;
  /// the rounding is the same on every engine.
  template <int R>
  QActivation<R> add_scalar(const QActivation<R>& a, float c) const {
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(a.size()));
    const auto qp = kernels::add_scalar<std::uint8_t>(a.int_repr(), {a.scale(), a.zero_point()}, c, codes);
    return QActivation<R>(a.shape(), qp, codes);
  }
  template <int R>
  QActivation<R> mul_scalar(const QActivation<R>& a, float c) const {
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(a.size()));
    const auto qp = kernels::mul_scalar<std::uint8_t>(a.int_repr(), {a.scale(), a.zero_point()}, c, codes);
    return QActivation<R>(a.shape(), qp, codes);
  }

  /// Concatenation along the last (channel) dimension into this module's output parameters
  /// (PyTorch's QFunctional.cat(xs, dim=1)); see nn/quantized/cat.hpp.
  template <int R, std::size_t K>
  QActivation<R> cat(const std::array<const QActivation<R>*, K>& xs) const {
    return nn::quantized::cat(xs, out_, engine_);
  }

  PerTensorQParams output_qparams() const { return out_; }
  float scale() const { return out_.scale; }
  std::int32_t zero_point() const { return out_.zero_point; }

  // A float tensor here means a QuantStub is missing upstream.
  template <int R>
  Tensor<float, R> add(const Tensor<float, R>&, const Tensor<float, R>&) const {
    static_assert(ctq::detail::always_false_v<R>,
                  "ctq: a float tensor reaches a QFunctional (quantized add): a QuantStub is missing before it");
    return {};
  }

 private:
  template <int R, class F>
  QActivation<R> binary(const QActivation<R>& a, const QActivation<R>& b, std::string_view op, F&& f) const {
    if (a.shape() != b.shape()) {
      raise(ctq::detail::message() << "ctq: " << op << ": the operands' shapes differ (no broadcasting)");
    }
    QActivation<R> y(a.shape(), out_);
    f(a.int_repr(), PerTensorQParams{a.scale(), a.zero_point()}, b.int_repr(),
      PerTensorQParams{b.scale(), b.zero_point()}, y.int_repr(), out_);
    return y;
  }

  PerTensorQParams out_;
  EngineConfig engine_;
};

}  // namespace ctq::nn::quantized
