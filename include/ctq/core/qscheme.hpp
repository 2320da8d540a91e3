// Quantization schemes (PyTorch's torch.per_tensor_affine, ...) and what each one implies.
#pragma once

#include <cstdint>
#include <string_view>

namespace ctq {

/// How scale and zero point are laid out and chosen. Symmetric schemes differ from the affine
/// ones only in how an observer chooses the parameters; the stored form is the same.
enum class qscheme : std::uint8_t {
  per_tensor_affine,
  per_tensor_symmetric,
  per_channel_affine,
  per_channel_symmetric,
  per_channel_affine_float_qparams,  // float zero points, row-wise (embeddings)
};

constexpr bool is_per_channel(qscheme s) {
  return s == qscheme::per_channel_affine || s == qscheme::per_channel_symmetric ||
         s == qscheme::per_channel_affine_float_qparams;
}
constexpr bool is_per_tensor(qscheme s) { return !is_per_channel(s); }
constexpr bool is_symmetric(qscheme s) {
  return s == qscheme::per_tensor_symmetric || s == qscheme::per_channel_symmetric;
}
constexpr bool has_float_zero_point(qscheme s) { return s == qscheme::per_channel_affine_float_qparams; }

constexpr std::string_view name(qscheme s) {
  switch (s) {
    case qscheme::per_tensor_affine: return "per_tensor_affine";
    case qscheme::per_tensor_symmetric: return "per_tensor_symmetric";
    case qscheme::per_channel_affine: return "per_channel_affine";
    case qscheme::per_channel_symmetric: return "per_channel_symmetric";
    case qscheme::per_channel_affine_float_qparams: return "per_channel_affine_float_qparams";
  }
  return "?";
}

}  // namespace ctq
