// QTensor<D, S, R>: integer storage of dtype D with the quantization parameters of scheme S.
// A QTensor is not a Tensor: float kernels cannot take it, and quantized kernels take nothing else.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "dtype.hpp"
#include "qparams.hpp"
#include "qscheme.hpp"
#include "tensor.hpp"

namespace ctq {

template <dtype D, qscheme S, int R>
class QTensor {
  static_assert(is_quantized_dtype<D>,
                "ctq: QTensor: the dtype has no integer storage (float16 and float32 are not quantized dtypes)");
  static_assert(!has_float_zero_point(S) || D == dtype::quint8 || D == dtype::quint4x2,
                "ctq: QTensor: per_channel_affine_float_qparams supports only quint8 and quint4x2 (as in PyTorch)");
  static_assert(R >= 0, "ctq: QTensor: the rank must not be negative");

 public:
  using storage_type = storage_t<D>;
  using qparams_type = qparams_for<S>;
  using shape_type = Shape<R>;
  static constexpr dtype dtype_value = D;
  static constexpr qscheme qscheme_value = S;
  static constexpr int rank = R;
  static constexpr std::int64_t quant_min = dtype_traits<D>::quant_min;
  static constexpr std::int64_t quant_max = dtype_traits<D>::quant_max;

  QTensor() { shape_.fill(0); }

  /// Storage for `shape` with every element 0 (stored value, not real value); the parameters are
  /// validated against the dtype and, per channel, against the shape.
  QTensor(const shape_type& shape, qparams_type qparams) : shape_(shape), qparams_(std::move(qparams)) {
    numel_ = detail::checked_numel(shape, "QTensor");
    if constexpr (is_per_channel(S)) {
      qparams_.axis = detail::normalize_axis(qparams_.axis, R, "QTensor");
      validate<D>(qparams_, shape_[static_cast<std::size_t>(qparams_.axis)], "QTensor");
    } else {
      validate<D>(qparams_, "QTensor");
    }
    data_.assign(static_cast<std::size_t>(storage_size<D>(numel_)), storage_type{});
  }

  /// A tensor holding a copy of `int_repr` (packed bytes for quint4x2), as PyTorch's
  /// _make_per_tensor_quantized_tensor / _make_per_channel_quantized_tensor build one.
  QTensor(const shape_type& shape, qparams_type qparams, std::span<const storage_type> int_repr)
      : QTensor(shape, std::move(qparams)) {
    if (int_repr.size() != data_.size()) {
      raise(detail::message() << "ctq: QTensor: " << int_repr.size() << " stored values for a shape that needs "
                              << data_.size());
    }
    std::copy(int_repr.begin(), int_repr.end(), data_.begin());
    if constexpr (!is_sub_byte_dtype<D> && (quant_min > std::numeric_limits<storage_type>::min() ||
                                            quant_max < std::numeric_limits<storage_type>::max())) {
      for (auto v : data_) {
        if (v < quant_min || v > quant_max) raise("ctq: QTensor: a stored value is outside the dtype's range");
      }
    }
  }

  /// Parameters of the wrong kind for S: a one-line compile error instead of a conversion dump.
  template <class QP>
  requires(!std::is_same_v<std::remove_cvref_t<QP>, qparams_type>) QTensor(const shape_type&, QP&&) {
    using P = std::remove_cvref_t<QP>;
    static_assert(!(is_per_tensor(S) && is_per_channel_qparams<P>),
                  "ctq: QTensor: per-channel qparams given to a per-tensor QTensor (use a per_channel qscheme)");
    static_assert(!(is_per_channel(S) && is_per_tensor_qparams<P>),
                  "ctq: QTensor: per-tensor qparams given to a per-channel QTensor (use a per_tensor qscheme)");
    static_assert(!(is_per_channel(S) && is_per_channel_qparams<P>),
                  "ctq: QTensor: integer zero points go with per_channel_affine/symmetric, float zero points "
                  "with per_channel_affine_float_qparams");
    static_assert(is_per_tensor_qparams<P> || is_per_channel_qparams<P>,
                  "ctq: QTensor: the second argument must be PerTensorQParams or PerChannelQParams");
  }

  const shape_type& shape() const { return shape_; }
  index_t dim(int i) const { return shape_[static_cast<std::size_t>(i < 0 ? i + R : i)]; }
  /// Number of elements (not storage bytes: quint4x2 packs two per byte).
  index_t size() const { return numel_; }
  const qparams_type& qparams() const { return qparams_; }

  float scale() const requires(is_per_tensor(S)) { return qparams_.scale; }
  std::int32_t zero_point() const requires(is_per_tensor(S)) { return qparams_.zero_point; }
  int axis() const requires(is_per_channel(S)) { return qparams_.axis; }

  /// The stored integers as PyTorch's int_repr gives them (packed bytes for quint4x2).
  std::span<storage_type> int_repr() { return {data_.data(), data_.size()}; }
  std::span<const storage_type> int_repr() const { return {data_.data(), data_.size()}; }
  storage_type* data() { return data_.data(); }
  const storage_type* data() const { return data_.data(); }

  /// The stored integer of element `flat` (unpacked for quint4x2).
  std::int64_t value(index_t flat) const {
    if constexpr (is_sub_byte_dtype<D>) {
      constexpr int per = dtype_traits<D>::elements_per_byte;
      constexpr int bits = dtype_traits<D>::bits;
      const unsigned byte = data_[static_cast<std::size_t>(flat / per)];
      return static_cast<std::int64_t>((byte >> ((flat % per) * bits)) & ((1u << bits) - 1u));
    } else {
      return static_cast<std::int64_t>(data_[static_cast<std::size_t>(flat)]);
    }
  }

 private:
  shape_type shape_{};
  index_t numel_ = 0;
  qparams_type qparams_{};
  std::vector<storage_type> data_;
};

template <class T>
inline constexpr bool is_qtensor = false;
template <dtype D, qscheme S, int R>
inline constexpr bool is_qtensor<QTensor<D, S, R>> = true;

}  // namespace ctq
