// Quantized concatenation along the channel (last) dimension, as QFunctional::cat computes it
// (PyTorch's nnq.QFunctional.cat: torch.ops.quantized.cat(xs, dim=1, scale, zero_point) on NCHW
// tensors): every input requantized into the output parameters the FloatFunctional's observer
// chose. nn::Concat reaches it through the converted "cat" child.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../../core/error.hpp"
#include "../../kernels/elementwise.hpp"
#include "../module.hpp"
#include "engine.hpp"

namespace ctq::nn::quantized {

class QFunctional;  // functional.hpp; this header does not need its definition (so it may include this one)

namespace detail {

/// The concatenation of `inputs` (pixels x inputs[k].channels each) into y (pixels x the sum).
/// `shape4` holds N, H, W for a 4-d activation (PyTorch's channels-last kernel applies, as
/// engine.torch.format and kernels::cat say), or is empty for other ranks, whose PyTorch tensors
/// are never channels-last contiguous: its contiguous kernel (exact dequantization) applies.
inline void cat_channels(std::span<const kernels::CatInput<std::uint8_t>> inputs, index_t pixels,
                         std::span<const index_t> shape4, std::span<std::uint8_t> y, const PerTensorQParams& out,
                         const EngineConfig& engine) {
  if (shape4.size() == 3) {
    kernels::cat<std::uint8_t>(inputs, shape4[0], shape4[1], shape4[2], y, out, engine.torch);
    return;
  }
  kernels::detail::check_qparams<std::uint8_t>(out, "cat", "output");
  index_t channels = 0;
  for (const auto& in : inputs) channels += in.channels;
  index_t offset = 0;
  for (const auto& in : inputs) {
    kernels::detail::check_qparams<std::uint8_t>(in.qparams, "cat", "input");
    const auto table = kernels::detail::requantize_table<std::uint8_t>(in.qparams, out, false);
    const index_t c = in.channels;
    for (index_t p = 0; p < pixels; ++p) {
      kernels::lookup(table, in.data.subspan(static_cast<std::size_t>(p * c), static_cast<std::size_t>(c)),
                      y.subspan(static_cast<std::size_t>(p * channels + offset), static_cast<std::size_t>(c)));
    }
    offset += c;
  }
}

}  // namespace detail

/// xs concatenated along the last (channel) dimension into output parameters `out`, rounded as
/// PyTorch's quantized cat does for the engine and memory format of `engine` (convert sets
/// channels-last, what PyTorch's quantized convolutions produce). Raises ctq::error when the
/// tensors differ in a dimension other than the channels.
template <int R, std::size_t K>
QActivation<R> cat(const std::array<const QActivation<R>*, K>& xs, const PerTensorQParams& out,
                   const EngineConfig& engine) {
  static_assert(K >= 1, "ctq: nn::quantized::cat: at least one tensor");
  static_assert(R >= 2, "ctq: nn::quantized::cat: the tensors need a batch dimension and a channel dimension");
  auto shape = xs[0]->shape();
  index_t channels = 0;
  std::array<kernels::CatInput<std::uint8_t>, K> inputs;
  for (std::size_t k = 0; k < K; ++k) {
    const auto& x = *xs[k];
    for (int d = 0; d + 1 < R; ++d) {
      if (x.dim(d) != shape[static_cast<std::size_t>(d)]) {
        raise(ctq::detail::message() << "ctq: QFunctional::cat: tensor " << k << " differs from tensor 0 in dimension "
                                     << d << " (" << x.dim(d) << " vs " << shape[static_cast<std::size_t>(d)]
                                     << "); only the channels (last dimension) may differ");
      }
    }
    inputs[k] = {x.int_repr(), x.dim(R - 1), {x.scale(), x.zero_point()}};
    channels += x.dim(R - 1);
  }
  shape[R - 1] = channels;
  QActivation<R> y(shape, out);
  if (y.size() == 0) return y;
  const index_t pixels = y.size() / channels;
  if constexpr (R == 4) {
    const std::array<index_t, 3> nhw{shape[0], shape[1], shape[2]};
    detail::cat_channels(inputs, pixels, nhw, y.int_repr(), out, engine);
  } else {
    detail::cat_channels(inputs, pixels, {}, y.int_repr(), out, engine);
  }
  return y;
}

/// cat through a converted FloatFunctional (F: QFunctional): its output parameters, the
/// channels-last format convert sets. nn::Concat finds it by argument-dependent lookup where
/// QFunctional has no cat member (one that passes its own engine).
template <int R, std::size_t K, std::same_as<QFunctional> F>
QActivation<R> cat(const F& f, const std::array<const QActivation<R>*, K>& xs) {
  EngineConfig engine;
  engine.torch.format = kernels::memory_format::channels_last;
  return cat(xs, f.output_qparams(), engine);
}

/// A float tensor here means a QuantStub is missing upstream.
template <int R, std::size_t K, std::same_as<QFunctional> F>
Tensor<float, R> cat(const F&, const std::array<const Tensor<float, R>*, K>&) {
  static_assert(ctq::detail::always_false_v<R>,
                "ctq: a float tensor reaches a QFunctional (quantized cat): a QuantStub is missing before it");
  return {};
}

}  // namespace ctq::nn::quantized
