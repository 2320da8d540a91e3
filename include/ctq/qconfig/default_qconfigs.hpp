// The named observers, fake-quantizers and qconfigs of PyTorch 1.13 (torch.ao.quantization), with
// the same observers and arguments, and get_default_qconfig / get_default_qat_qconfig per backend.
// tests/qconfig/test_default_qconfigs.cpp checks each against what PyTorch instantiates.
#pragma once

#include "../fake_quantize/fake_quantize.hpp"
#include "../fake_quantize/fused_moving_avg_obs_fake_quantize.hpp"
#include "../nn/identity.hpp"
#include "../observers.hpp"
#include "backend.hpp"
#include "qconfig.hpp"

namespace ctq {

// --- observers ---------------------------------------------------------------------------------
using default_observer = MinMaxObserver<{.quant_min = 0, .quant_max = 127}>;
using default_placeholder_observer = PlaceholderObserver<>;
using default_debug_observer = RecordingObserver<>;
using default_weight_observer = MinMaxObserver<{.dtype = dtype::qint8, .qscheme = qscheme::per_tensor_symmetric}>;
using weight_observer_range_neg_127_to_127 = MinMaxObserver<{.dtype = dtype::qint8,
                                                             .qscheme = qscheme::per_tensor_symmetric,
                                                             .quant_min = -127,
                                                             .quant_max = 127,
                                                             .eps = 0x1p-12f}>;
using default_histogram_observer = HistogramObserver<{.quant_min = 0, .quant_max = 127}>;
using default_per_channel_weight_observer =
    PerChannelMinMaxObserver<{.dtype = dtype::qint8, .qscheme = qscheme::per_channel_symmetric}>;
using per_channel_weight_observer_range_neg_127_to_127 =
    PerChannelMinMaxObserver<{.dtype = dtype::qint8,
                              .qscheme = qscheme::per_channel_symmetric,
                              .quant_min = -127,
                              .quant_max = 127,
                              .eps = 0x1p-12f}>;
using default_dynamic_quant_observer = PlaceholderObserver<{.dtype = dtype::quint8, .compute_dtype = dtype::quint8}>;
using default_float_qparams_observer = PerChannelMinMaxObserver<{
    .ch_axis = 0, .dtype = dtype::quint8, .qscheme = qscheme::per_channel_affine_float_qparams}>;
using default_float_qparams_observer_4bit = PerChannelMinMaxObserver<{
    .ch_axis = 0, .dtype = dtype::quint4x2, .qscheme = qscheme::per_channel_affine_float_qparams}>;
// scale 2/256, zero point 128 for outputs in [-1, 1) (tanh); 1/256, 0 for [0, 1) (sigmoid)
using default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver<{.scale = 2.0f / 256.0f, .zero_point = 128}>;
using default_fixed_qparams_range_0to1_observer = FixedQParamsObserver<{.scale = 1.0f / 256.0f, .zero_point = 0}>;

// --- fake-quantizers ---------------------------------------------------------------------------
using default_fake_quant = FakeQuantize<MovingAverageMinMaxObserver<{.dtype = dtype::quint8,
                                                                     .qscheme = qscheme::per_tensor_affine,
                                                                     .reduce_range = true,
                                                                     .quant_min = 0,
                                                                     .quant_max = 255}>>;
using default_weight_fake_quant = FakeQuantize<MovingAverageMinMaxObserver<{.dtype = dtype::qint8,
                                                                            .qscheme = qscheme::per_tensor_symmetric,
                                                                            .reduce_range = false,
                                                                            .quant_min = -128,
                                                                            .quant_max = 127}>>;
using default_dynamic_fake_quant = FakeQuantize<MovingAverageMinMaxObserver<{
    .averaging_constant = 1.0f, .dtype = dtype::quint8, .quant_min = 0, .quant_max = 255}>>;
using default_per_channel_weight_fake_quant =
    FakeQuantize<MovingAveragePerChannelMinMaxObserver<{.ch_axis = 0,
                                                        .dtype = dtype::qint8,
                                                        .qscheme = qscheme::per_channel_symmetric,
                                                        .reduce_range = false,
                                                        .quant_min = -128,
                                                        .quant_max = 127}>>;
using default_embedding_fake_quant =
    FakeQuantize<MovingAveragePerChannelMinMaxObserver<{.averaging_constant = 1.0f,
                                                        .ch_axis = 0,
                                                        .dtype = dtype::quint8,
                                                        .qscheme = qscheme::per_channel_affine_float_qparams,
                                                        .quant_min = 0,
                                                        .quant_max = 255}>>;
using default_embedding_fake_quant_4bit =
    FakeQuantize<MovingAveragePerChannelMinMaxObserver<{.averaging_constant = 1.0f,
                                                        .ch_axis = 0,
                                                        .dtype = dtype::quint4x2,
                                                        .qscheme = qscheme::per_channel_affine_float_qparams}>>;
using default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize<
    MovingAverageMinMaxObserver<{.dtype = dtype::quint8, .quant_min = 0, .quant_max = 255}>>;
using default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize<MovingAverageMinMaxObserver<{
    .dtype = dtype::qint8, .qscheme = qscheme::per_tensor_symmetric, .quant_min = -128, .quant_max = 127}>>;
using default_fused_per_channel_wt_fake_quant =
    FusedMovingAvgObsFakeQuantize<MovingAveragePerChannelMinMaxObserver<{.ch_axis = 0,
                                                                         .dtype = dtype::qint8,
                                                                         .qscheme = qscheme::per_channel_symmetric,
                                                                         .quant_min = -128,
                                                                         .quant_max = 127}>>;

// --- qconfigs ----------------------------------------------------------------------------------
using default_qconfig = QConfig<default_observer, default_weight_observer>;
using default_debug_qconfig = QConfig<default_debug_observer, default_weight_observer>;
using default_per_channel_qconfig = QConfig<default_observer, default_per_channel_weight_observer>;
using default_dynamic_qconfig = QConfigDynamic<default_dynamic_quant_observer, default_weight_observer>;
using float16_dynamic_qconfig =
    QConfigDynamic<PlaceholderObserver<{.dtype = dtype::float16, .compute_dtype = dtype::float16}>,
                   PlaceholderObserver<{.dtype = dtype::float16}>>;
using float16_static_qconfig =
    QConfig<PlaceholderObserver<{.dtype = dtype::float16}>, PlaceholderObserver<{.dtype = dtype::float16}>>;
using per_channel_dynamic_qconfig = QConfigDynamic<default_dynamic_quant_observer, default_per_channel_weight_observer>;
using float_qparams_weight_only_qconfig =
    QConfig<PlaceholderObserver<{.dtype = dtype::float32}>, default_float_qparams_observer>;
using float_qparams_weight_only_qconfig_4bit =
    QConfig<PlaceholderObserver<{.dtype = dtype::float32}>, default_float_qparams_observer_4bit>;
using default_qat_qconfig = QConfig<default_fake_quant, default_weight_fake_quant>;
using default_dynamic_qat_qconfig = QConfigDynamic<default_dynamic_fake_quant, default_weight_fake_quant>;
using default_weight_only_qconfig = QConfig<nn::Identity, default_weight_fake_quant>;
using default_activation_only_qconfig = QConfig<default_fake_quant, nn::Identity>;
using default_qat_qconfig_v2 = QConfig<default_fused_act_fake_quant, default_fused_wt_fake_quant>;
using default_symmetric_qnnpack_qconfig =
    QConfig<HistogramObserver<{.dtype = dtype::qint8, .reduce_range = false, .eps = 0x1p-12f}>,
            weight_observer_range_neg_127_to_127>;
using default_per_channel_symmetric_qnnpack_qconfig =
    QConfig<HistogramObserver<{.dtype = dtype::qint8, .reduce_range = false, .eps = 0x1p-12f}>,
            per_channel_weight_observer_range_neg_127_to_127>;
using default_symmetric_qnnpack_qat_qconfig =
    QConfig<FusedMovingAvgObsFakeQuantize<MovingAverageMinMaxObserver<{
                .dtype = dtype::qint8, .reduce_range = false, .quant_min = -128, .quant_max = 127, .eps = 0x1p-12f}>>,
            FusedMovingAvgObsFakeQuantize<MovingAverageMinMaxObserver<{.dtype = dtype::qint8,
                                                                       .qscheme = qscheme::per_tensor_symmetric,
                                                                       .reduce_range = false,
                                                                       .quant_min = -127,
                                                                       .quant_max = 127,
                                                                       .eps = 0x1p-12f}>>>;
using default_per_channel_symmetric_qnnpack_qat_qconfig = QConfig<
    FusedMovingAvgObsFakeQuantize<MovingAverageMinMaxObserver<{
        .dtype = dtype::qint8, .reduce_range = false, .quant_min = -128, .quant_max = 127, .eps = 0x1p-12f}>>,
    FusedMovingAvgObsFakeQuantize<MovingAveragePerChannelMinMaxObserver<{.ch_axis = 0,
                                                                         .dtype = dtype::qint8,
                                                                         .qscheme = qscheme::per_channel_symmetric,
                                                                         .reduce_range = false,
                                                                         .quant_min = -127,
                                                                         .quant_max = 127,
                                                                         .eps = 0x1p-12f}>>>;
using default_embedding_qat_qconfig = QConfig<NoopObserver<{.dtype = dtype::float32}>, default_embedding_fake_quant>;
using default_embedding_qat_qconfig_4bit =
    QConfig<NoopObserver<{.dtype = dtype::float32}>, default_embedding_fake_quant_4bit>;

// --- per backend -------------------------------------------------------------------------------
namespace detail {
template <class Backend>
struct default_qconfig_for {
  static_assert(sizeof(Backend) == 0,
                "ctq: get_default_qconfig: no default for this backend (specialise ctq::detail::default_qconfig_for)");
};
template <>
struct default_qconfig_for<backend::fbgemm> {
  using type = QConfig<HistogramObserver<{.reduce_range = true}>, default_per_channel_weight_observer>;
};
template <>
struct default_qconfig_for<backend::x86> {
  using type = QConfig<HistogramObserver<{.reduce_range = true}>, default_per_channel_weight_observer>;
};
template <>
struct default_qconfig_for<backend::qnnpack> {
  using type = QConfig<HistogramObserver<{.reduce_range = false}>, default_weight_observer>;
};
template <>
struct default_qconfig_for<backend::onednn> {
  using type = QConfig<HistogramObserver<{.reduce_range = false}>, default_per_channel_weight_observer>;
};

template <class Backend>
struct default_qat_qconfig_for {
  static_assert(sizeof(Backend) == 0,
                "ctq: get_default_qat_qconfig: no default for this backend (specialise "
                "ctq::detail::default_qat_qconfig_for)");
};
template <bool ReduceRange>
using fused_act = FusedMovingAvgObsFakeQuantize<MovingAverageMinMaxObserver<{
    .dtype = dtype::quint8, .reduce_range = ReduceRange, .quant_min = 0, .quant_max = 255}>>;
template <>
struct default_qat_qconfig_for<backend::fbgemm> {
  using type = QConfig<fused_act<true>, default_fused_per_channel_wt_fake_quant>;
};
template <>
struct default_qat_qconfig_for<backend::x86> {
  using type = QConfig<fused_act<true>, default_fused_per_channel_wt_fake_quant>;
};
template <>
struct default_qat_qconfig_for<backend::qnnpack> {
  using type = QConfig<fused_act<false>, default_fused_wt_fake_quant>;
};
template <>
struct default_qat_qconfig_for<backend::onednn> {
  using type = QConfig<fused_act<false>, default_fused_per_channel_wt_fake_quant>;
};
}  // namespace detail

/// PyTorch 1.13's get_default_qconfig(backend) (version 0): histogram activations, per-channel
/// weights except on qnnpack, reduce_range on fbgemm and x86.
template <class Backend>
using get_default_qconfig = typename detail::default_qconfig_for<Backend>::type;

/// PyTorch 1.13's get_default_qat_qconfig(backend) (version 1, the default): fused moving-average
/// fake-quantizers.
template <class Backend>
using get_default_qat_qconfig = typename detail::default_qat_qconfig_for<Backend>::type;

}  // namespace ctq
