// Tensor<T, R>: a dense row-major tensor of rank R (NHWC for images) over Eigen-aligned storage,
// with Eigen views for float math. Quantized data lives in QTensor, a different type.
#pragma once

#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <type_traits>
#include <vector>

#include "error.hpp"
#include "qparams.hpp"

namespace ctq {

template <int R>
using Shape = std::array<index_t, static_cast<std::size_t>(R)>;

namespace detail {

template <std::size_t R>
index_t checked_numel(const std::array<index_t, R>& shape, std::string_view op) {
  index_t n = 1;
  for (index_t d : shape) {
    if (d < 0) raise(message() << "ctq: " << op << ": negative dimension " << d << " in a shape");
    n *= d;
  }
  return n;
}

// Product of the dimensions after `axis`: the stride of `axis` in a row-major tensor.
template <std::size_t R>
index_t inner_size(const std::array<index_t, R>& shape, int axis) {
  index_t n = 1;
  for (std::size_t i = static_cast<std::size_t>(axis) + 1; i < R; ++i) n *= shape[i];
  return n;
}

template <std::size_t R>
index_t outer_size(const std::array<index_t, R>& shape, int axis) {
  index_t n = 1;
  for (std::size_t i = 0; i < static_cast<std::size_t>(axis); ++i) n *= shape[i];
  return n;
}

}  // namespace detail

/// A dense tensor of arithmetic values, row-major. `Tensor<float, R>` is what float modules take;
/// quantized tensors are QTensor and cannot be passed where a Tensor is expected.
template <class T, int R>
class Tensor {
  static_assert(std::is_arithmetic_v<T>, "ctq: Tensor: the element type must be arithmetic (float, int32_t, ...)");
  static_assert(R >= 0, "ctq: Tensor: the rank must not be negative");

 public:
  using value_type = T;
  using shape_type = Shape<R>;
  static constexpr int rank = R;

  /// An empty tensor (every dimension 0); rank 0 holds one element.
  Tensor() : data_(R == 0 ? 1 : 0) { shape_.fill(0); }

  /// A tensor of the given shape, zero-filled.
  explicit Tensor(const shape_type& shape)
      : shape_(shape), data_(static_cast<std::size_t>(detail::checked_numel(shape, "Tensor"))) {}

  /// A tensor of the given shape holding a copy of `values` (row-major); sizes must agree.
  Tensor(const shape_type& shape, std::span<const T> values) : Tensor(shape) {
    if (static_cast<index_t>(values.size()) != size()) {
      raise(detail::message() << "ctq: Tensor: " << values.size() << " values for a shape of " << size()
                              << " elements");
    }
    std::copy(values.begin(), values.end(), data_.begin());
  }
  Tensor(const shape_type& shape, std::initializer_list<T> values)
      : Tensor(shape, std::span<const T>(values.begin(), values.size())) {}

  const shape_type& shape() const { return shape_; }
  index_t dim(int i) const { return shape_[static_cast<std::size_t>(i < 0 ? i + R : i)]; }
  index_t size() const { return static_cast<index_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::span<T> values() { return {data_.data(), data_.size()}; }
  std::span<const T> values() const { return {data_.data(), data_.size()}; }

  /// Element access by R indices (no bounds check beyond an assertion in debug builds).
  template <class... I>
  requires(sizeof...(I) == R && (std::is_integral_v<I> && ...)) T& operator()(I... idx) {
    return data_[offset(idx...)];
  }
  template <class... I>
  requires(sizeof...(I) == R && (std::is_integral_v<I> && ...)) const T& operator()(I... idx) const {
    return data_[offset(idx...)];
  }
  T& operator[](index_t flat) { return data_[static_cast<std::size_t>(flat)]; }
  const T& operator[](index_t flat) const { return data_[static_cast<std::size_t>(flat)]; }

  /// All elements as an Eigen column array (for elementwise float math).
  auto array() { return Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::Aligned16>(data(), size()); }
  auto array() const { return Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::Aligned16>(data(), size()); }
  /// A rank-2 tensor as a row-major Eigen matrix.
  auto matrix() requires(R == 2) {
    return Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Aligned16>(
        data(), shape_[0], shape_[1]);
  }
  auto matrix() const requires(R == 2) {
    return Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Aligned16>(
        data(), shape_[0], shape_[1]);
  }

  friend bool operator==(const Tensor& a, const Tensor& b) { return a.shape_ == b.shape_ && a.data_ == b.data_; }

 private:
  template <class... I>
  std::size_t offset(I... idx) const {
    const index_t ids[] = {static_cast<index_t>(idx)..., 0};
    index_t off = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(R); ++i) {
      eigen_assert(ids[i] >= 0 && ids[i] < shape_[i]);
      off = off * shape_[i] + ids[i];
    }
    return static_cast<std::size_t>(off);
  }

  shape_type shape_{};
  std::vector<T, Eigen::aligned_allocator<T>> data_;
};

template <class T>
inline constexpr bool is_tensor = false;
template <class T, int R>
inline constexpr bool is_tensor<Tensor<T, R>> = true;

template <class T>
inline constexpr bool is_float_tensor = false;
template <int R>
inline constexpr bool is_float_tensor<Tensor<float, R>> = true;

}  // namespace ctq
