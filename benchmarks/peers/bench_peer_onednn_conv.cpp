// Peer benchmark for ctq's int8 convolution: oneDNN 2.6's int8 convolution forward, single-threaded.
//
// onednn_conv/<shape>: the cases of peer_cases.h (NHWC, batch 1: a 3x3 convolution 56x56x64 -> 64 and 3x3 depthwise
//   convolutions of 56x56x144, stride 1 and 2, padding 1). Source u8 in nhwc with a zero point of 128, weights s8
//   symmetric with per-output-channel scales, bias s32, destination u8 in nhwc with a zero point of 128; a depthwise
//   convolution is a grouped one with groups = channels. As in bench_peer_onednn.cpp, the per-channel output scales
//   (x_scale * w_scale[oc] / y_scale, mask 1 << 1) are fixed when the primitive is created and the zero points are
//   runtime attributes passed with each call; the weights are reordered once, outside the timed loop, into the layout
//   the primitive asks for (format_tag::any). oneDNN 2.6 adds the bias before scaling, in the accumulator's scale.
//   The label is oneDNN's kernel name: it uses AMX where the CPU has it, ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI keeps it
//   on AVX-512 VNNI.
//
// GOPS = 2 * OH*OW*C_out * KH*KW*C_in/groups / time, in 1e9 operations per second; the time (wall clock) is per call,
// in microseconds. Debian's oneDNN runs on OpenMP: main() calls omp_set_num_threads(1) before any primitive runs.
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#endif

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "peer_cases.h"

namespace {

using ctq_peers::ConvShape;

void onednn_conv(benchmark::State& state, ConvShape s) {
  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);

  const ctq_peers::ConvCase c = ctq_peers::make_conv_case(s, /*per_channel=*/true);
  std::vector<uint8_t> y(size_t(s.out_h() * s.out_w() * s.c_out));

  const memory::desc src_md({1, s.c_in, s.h, s.w}, dt::u8, tag::nhwc);
  const memory::desc dst_md({1, s.c_out, s.out_h(), s.out_w()}, dt::u8, tag::nhwc);
  const memory::desc bias_md({s.c_out}, dt::s32, tag::x);
  const memory::dims w_dims = s.groups == 1 ? memory::dims{s.c_out, s.c_in, s.kernel, s.kernel}
                                            : memory::dims{s.groups, s.group_out(), s.group_in(), s.kernel, s.kernel};
  const memory::desc w_user_md(w_dims, dt::s8, s.groups == 1 ? tag::ohwi : tag::gohwi);
  const memory::desc w_any_md(w_dims, dt::s8, tag::any);

  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 1, c.multiplier);  // per output channel: dimension 1 of dst
  attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src_md, w_any_md, bias_md, dst_md, {s.stride, s.stride}, {s.pad, s.pad},
                                             {s.pad, s.pad});
  const dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
  const dnnl::convolution_forward prim(pd);

  // Weights: reordered once into the primitive's layout.
  memory w_user(w_user_md, eng, const_cast<int8_t*>(c.w.data()));
  memory w_packed(pd.weights_desc(), eng);
  dnnl::reorder(w_user, w_packed).execute(strm, w_user, w_packed);

  int32_t src_zp = ctq_peers::kSrcZeroPoint, dst_zp = ctq_peers::kDstZeroPoint;
  memory src_mem(src_md, eng, const_cast<uint8_t*>(c.x.data())), dst_mem(dst_md, eng, y.data());
  memory bias_mem(bias_md, eng, const_cast<int32_t*>(c.bias.data()));
  memory src_zp_mem({{1}, dt::s32, tag::x}, eng, &src_zp);
  memory dst_zp_mem({{1}, dt::s32, tag::x}, eng, &dst_zp);
  const std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src_mem},
                                                {DNNL_ARG_WEIGHTS, w_packed},
                                                {DNNL_ARG_BIAS, bias_mem},
                                                {DNNL_ARG_DST, dst_mem},
                                                {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, src_zp_mem},
                                                {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, dst_zp_mem}};

  prim.execute(strm, args);  // untimed check against the integer reference
  strm.wait();
  if (const std::string wrong = ctq_peers::check_conv(c, y.data()); !wrong.empty()) {
    state.SkipWithError(wrong.c_str());
    return;
  }

  for (auto _ : state) {
    prim.execute(strm, args);
    strm.wait();
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] = benchmark::Counter(1e-9 * s.ops(), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(pd.impl_info_str());
}

}  // namespace

int main(int argc, char** argv) {
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
  omp_set_num_threads(1);  // oneDNN's OpenMP runtime reads omp_get_max_threads() when a primitive runs
  benchmark::AddCustomContext("onednn_threads", "OpenMP, omp_max_threads=" + std::to_string(omp_get_max_threads()));
#elif DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_SEQ
  benchmark::AddCustomContext("onednn_threads", "sequential build");
#else
  std::fprintf(stderr, "warning: this oneDNN is neither OpenMP nor sequential; its thread count is not forced to 1\n");
  benchmark::AddCustomContext("onednn_threads", "not forced");
#endif
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext(
      "onednn_version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));

  for (const ConvShape& s : ctq_peers::kConvShapes) {
    benchmark::RegisterBenchmark((std::string("onednn_conv/") + s.name).c_str(), onednn_conv, s)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
