// The training protocol's data: nn::DynTensor, a float tensor whose rank is known at run time. A
// module in training mode keeps what its backward pass needs (its input, a mask, batch statistics)
// as DynTensors, and gradients flow back through a model as DynTensors, so a container can run
// its children's backward passes without knowing their input types.
//
// A trainable module M provides
//   bool training;                           // set by nn::train / nn::eval (false: inference)
//   DynTensor backward(const DynTensor& g);  // g: d loss / d output of the last forward in
//                                            // training mode; returns d loss / d input and adds
//                                            // the parameters' gradients to their .grad tensors
//   void visit_parameters(F f);              // f(name, Tensor& value, Tensor& grad) per parameter
// Gradients accumulate until nn::zero_grad, as PyTorch's .grad does.
#pragma once

#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace ctq::nn {

class DynTensor {
 public:
  static constexpr int max_rank = 6;

  DynTensor() = default;
  template <int R>
  explicit DynTensor(const Tensor<float, R>& t) {
    assign(t);
  }
  /// A zero-filled tensor of the given shape.
  explicit DynTensor(std::span<const index_t> shape) { reset(shape); }

  template <int R>
  void assign(const Tensor<float, R>& t) {
    static_assert(R <= max_rank, "ctq: nn::DynTensor: rank above 6");
    set_shape(std::span<const index_t>(t.shape().data(), static_cast<std::size_t>(R)));
    values_.assign(t.values().begin(), t.values().end());
  }
  void reset(std::span<const index_t> shape) {
    set_shape(shape);
    index_t n = 1;
    for (index_t d : shape) n *= d;
    values_.assign(static_cast<std::size_t>(n), 0.0f);
  }

  int rank() const { return rank_; }
  index_t dim(int i) const { return shape_[static_cast<std::size_t>(i < 0 ? i + rank_ : i)]; }
  std::span<const index_t> shape() const { return {shape_.data(), static_cast<std::size_t>(rank_)}; }
  index_t size() const { return static_cast<index_t>(values_.size()); }
  bool empty() const { return values_.empty() && rank_ == 0; }
  float* data() { return values_.data(); }
  const float* data() const { return values_.data(); }
  std::span<float> values() { return values_; }
  std::span<const float> values() const { return values_; }
  auto array() { return Eigen::Map<Eigen::ArrayXf>(values_.data(), size()); }
  auto array() const { return Eigen::Map<const Eigen::ArrayXf>(values_.data(), size()); }
  void clear() {
    values_.clear();
    values_.shrink_to_fit();
    rank_ = 0;
  }

  /// The shape as Shape<R>; raises when the rank differs.
  template <int R>
  Shape<R> shape_as(std::string_view who) const {
    check_rank(R, who);
    Shape<R> s{};
    std::copy_n(shape_.begin(), R, s.begin());
    return s;
  }
  /// A copy as Tensor<float, R>; raises when the rank differs.
  template <int R>
  Tensor<float, R> to(std::string_view who = "nn::DynTensor") const {
    return Tensor<float, R>(shape_as<R>(who), std::span<const float>(values_));
  }
  bool same_shape(const DynTensor& o) const { return std::ranges::equal(shape(), o.shape()); }

 private:
  void set_shape(std::span<const index_t> shape) {
    if (shape.size() > static_cast<std::size_t>(max_rank)) raise("ctq: nn::DynTensor: rank above 6");
    rank_ = static_cast<int>(shape.size());
    shape_.fill(0);
    std::copy(shape.begin(), shape.end(), shape_.begin());
  }
  void check_rank(int r, std::string_view who) const {
    if (r != rank_) {
      raise(ctq::detail::message() << "ctq: " << who << ": a tensor of rank " << rank_ << " where rank " << r
                                   << " is expected");
    }
  }

  std::array<index_t, max_rank> shape_{};
  int rank_ = 0;
  std::vector<float> values_;
};

namespace detail {
/// Raises unless a forward pass in training mode saved what backward needs.
inline void check_saved(const DynTensor& saved, std::string_view module) {
  if (saved.empty()) {
    raise(ctq::detail::message() << "ctq: nn::" << module
                                 << "::backward: no forward pass in training mode to go back through (call "
                                    "nn::train(model) before the forward pass)");
  }
}
/// A ReLU's backward on its saved output: g's values set to 0 where out is not above 0.
inline void mask_by_relu_output(DynTensor& g, const DynTensor& out) {
  for (index_t i = 0; i < g.size(); ++i)
    if (!(out.data()[i] > 0.0f)) g.data()[i] = 0.0f;
}
/// Raises unless the gradient has the shape of the output the module produced.
inline void check_grad_shape(const DynTensor& g, std::span<const index_t> expected, std::string_view module) {
  if (!std::ranges::equal(g.shape(), expected)) {
    raise(ctq::detail::message() << "ctq: nn::" << module
                                 << "::backward: the gradient's shape differs from the forward output's");
  }
}
/// Makes grad the shape of param (zeros) the first time; gradients then accumulate.
template <int R>
void ensure_grad(Tensor<float, R>& grad, const Tensor<float, R>& param) {
  if (grad.shape() != param.shape()) {
    grad = Tensor<float, R>(param.shape());
    grad.array().setZero();
  }
}
}  // namespace detail

}  // namespace ctq::nn
