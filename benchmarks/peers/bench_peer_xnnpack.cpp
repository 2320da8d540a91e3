// Peer benchmark for ctq's int8 convolution and GEMM: XNNPACK's quantized operators (Debian's libxnnpack, a February
// 2022 snapshot), single-threaded (the operators are set up and run with a null pthreadpool: the calling thread).
//
// xnnpack_conv/<shape>: xnn_create_convolution2d_nhwc_qu8 on the cases of peer_cases.h (NHWC, batch 1: a 3x3
//   convolution 56x56x64 -> 64 and 3x3 depthwise convolutions of 56x56x144, stride 1 and 2, padding 1; a depthwise
//   one is given as groups = channels with one input and one output channel per group, which XNNPACK runs with its
//   depthwise kernels). qu8 takes u8 activations as they are (zero point 128) but only per-tensor u8 weights with a
//   zero point: the case's s8 weights plus 128, kernel zero point 128, which is the same arithmetic; bias s32.
// xnnpack_qc8_conv/<shape>: xnn_create_convolution2d_nhwc_qc8, the operator with per-output-channel weight scales
//   (s8 weights, zero point 0). It takes s8 activations only: the case's u8 input and output with zero point 128 are
//   the s8 ones with zero point 0 with the top bit flipped (x ^ 0x80), so the input is flipped once outside the timed
//   loop and the output is flipped back for the check; the arithmetic is the same as qu8's.
// xnnpack_gemm/M/N/K: xnn_create_fully_connected_nc_qu8 with batch M, the GEMM cases of peer_cases.h (per-tensor, no
//   bias: as bench_peer_onednn.cpp's), weights N x K u8 (s8 + 128, zero point 128). This XNNPACK has no per-channel
//   fully-connected operator.
// Each operator is created once (that packs the weights) and set up once; the timed loop is xnn_run_operator.
//
// GOPS = ops / wall-clock time in 1e9 operations per second (2*M*N*K for GEMM, 2 * OH*OW*C_out * KH*KW*C_in/groups
// for convolution); the time is per call, in microseconds.
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "peer_cases.h"

namespace {

using ctq_peers::ConvShape;
using ctq_peers::GemmShape;

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Operator = std::unique_ptr<xnn_operator, OperatorDeleter>;

// Checks the status of an XNNPACK call; on failure, skips the benchmark with a message naming the call.
bool ok(benchmark::State& state, xnn_status status, const char* what) {
  if (status == xnn_status_success) return true;
  state.SkipWithError((std::string(what) + " failed, xnn_status " + std::to_string(int(status))).c_str());
  return false;
}

// XNNPACK may read up to XNN_EXTRA_BYTES past the end of an input.
template <typename T>
std::vector<T> padded_input(const std::vector<T>& v) {
  std::vector<T> out(v.size() + XNN_EXTRA_BYTES / sizeof(T));
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

std::vector<uint8_t> plus_128(const std::vector<int8_t>& w) {
  std::vector<uint8_t> out(w.size());
  for (size_t i = 0; i < w.size(); ++i) out[i] = uint8_t(int(w[i]) + 128);
  return out;
}

void run(benchmark::State& state, xnn_operator_t op, double ops) {
  for (auto _ : state) {
    if (xnn_run_operator(op, /*threadpool=*/nullptr) != xnn_status_success) {
      state.SkipWithError("xnn_run_operator failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] = benchmark::Counter(1e-9 * ops, benchmark::Counter::kIsIterationInvariantRate);
}

void xnnpack_conv(benchmark::State& state, ConvShape s) {
  const ctq_peers::ConvCase c = ctq_peers::make_conv_case(s, /*per_channel=*/false);
  const std::vector<uint8_t> x = padded_input(c.x), w = plus_128(c.w);
  std::vector<uint8_t> y(size_t(s.out_h() * s.out_w() * s.c_out));
  xnn_operator_t raw = nullptr;
  const uint32_t p = uint32_t(s.pad), k = uint32_t(s.kernel), st = uint32_t(s.stride);
  if (!ok(state,
          xnn_create_convolution2d_nhwc_qu8(p, p, p, p, k, k, st, st, 1, 1, uint32_t(s.groups), size_t(s.group_in()),
                                            size_t(s.group_out()), size_t(s.c_in), size_t(s.c_out),
                                            uint8_t(ctq_peers::kSrcZeroPoint), ctq_peers::kSrcScale, 128, c.w_scale[0],
                                            w.data(), c.bias.data(), uint8_t(ctq_peers::kDstZeroPoint), c.y_scale, 0,
                                            255, /*flags=*/0, &raw),
          "xnn_create_convolution2d_nhwc_qu8")) {
    return;
  }
  const Operator op(raw);
  if (!ok(state, xnn_setup_convolution2d_nhwc_qu8(op.get(), 1, size_t(s.h), size_t(s.w), x.data(), y.data(), nullptr),
          "xnn_setup_convolution2d_nhwc_qu8") ||
      !ok(state, xnn_run_operator(op.get(), nullptr), "xnn_run_operator")) {
    return;
  }
  if (const std::string wrong = ctq_peers::check_conv(c, y.data()); !wrong.empty()) {
    state.SkipWithError(wrong.c_str());
    return;
  }
  run(state, op.get(), s.ops());
  state.SetLabel("qu8, per-tensor weights");
}

void xnnpack_qc8_conv(benchmark::State& state, ConvShape s) {
  const ctq_peers::ConvCase c = ctq_peers::make_conv_case(s, /*per_channel=*/true);
  std::vector<int8_t> x(c.x.size() + XNN_EXTRA_BYTES);
  for (size_t i = 0; i < c.x.size(); ++i) x[i] = int8_t(c.x[i] ^ 0x80);  // u8 with zero point 128 -> s8 with 0
  std::vector<int8_t> y(size_t(s.out_h() * s.out_w() * s.c_out));
  xnn_operator_t raw = nullptr;
  const uint32_t p = uint32_t(s.pad), k = uint32_t(s.kernel), st = uint32_t(s.stride);
  if (!ok(state,
          xnn_create_convolution2d_nhwc_qc8(
              p, p, p, p, k, k, st, st, 1, 1, uint32_t(s.groups), size_t(s.group_in()), size_t(s.group_out()),
              size_t(s.c_in), size_t(s.c_out), int8_t(ctq_peers::kSrcZeroPoint - 128), ctq_peers::kSrcScale,
              c.w_scale.data(), c.w.data(), c.bias.data(), int8_t(ctq_peers::kDstZeroPoint - 128), c.y_scale, -128, 127,
              /*flags=*/0, &raw),
          "xnn_create_convolution2d_nhwc_qc8")) {
    return;
  }
  const Operator op(raw);
  if (!ok(state, xnn_setup_convolution2d_nhwc_qc8(op.get(), 1, size_t(s.h), size_t(s.w), x.data(), y.data(), nullptr),
          "xnn_setup_convolution2d_nhwc_qc8") ||
      !ok(state, xnn_run_operator(op.get(), nullptr), "xnn_run_operator")) {
    return;
  }
  std::vector<uint8_t> y_u8(y.size());
  for (size_t i = 0; i < y.size(); ++i) y_u8[i] = uint8_t(y[i]) ^ 0x80;
  if (const std::string wrong = ctq_peers::check_conv(c, y_u8.data()); !wrong.empty()) {
    state.SkipWithError(wrong.c_str());
    return;
  }
  run(state, op.get(), s.ops());
  state.SetLabel("qc8, per-channel weights, s8 activations");
}

void xnnpack_gemm(benchmark::State& state, GemmShape s) {
  const ctq_peers::GemmCase g = ctq_peers::make_gemm_case(s);
  const std::vector<uint8_t> a = padded_input(g.a);
  std::vector<uint8_t> w(size_t(s.n * s.k));  // N x K: B transposed, plus 128
  for (int64_t p = 0; p < s.k; ++p) {
    for (int64_t j = 0; j < s.n; ++j) w[size_t(j * s.k + p)] = uint8_t(int(g.b[size_t(p * s.n + j)]) + 128);
  }
  std::vector<uint8_t> out(size_t(s.m * s.n));
  // Scales whose ratio is the case's multiplier: a_scale * b_scale / c_scale.
  const float c_scale = ctq_peers::kSrcScale * ctq_peers::kWeightScale / g.multiplier;
  xnn_operator_t raw = nullptr;
  if (!ok(state,
          xnn_create_fully_connected_nc_qu8(size_t(s.k), size_t(s.n), size_t(s.k), size_t(s.n),
                                            uint8_t(ctq_peers::kSrcZeroPoint), ctq_peers::kSrcScale, 128,
                                            ctq_peers::kWeightScale, w.data(), /*bias=*/nullptr,
                                            uint8_t(ctq_peers::kDstZeroPoint), c_scale, 0, 255, /*flags=*/0, &raw),
          "xnn_create_fully_connected_nc_qu8")) {
    return;
  }
  const Operator op(raw);
  if (!ok(state, xnn_setup_fully_connected_nc_qu8(op.get(), size_t(s.m), a.data(), out.data(), nullptr),
          "xnn_setup_fully_connected_nc_qu8") ||
      !ok(state, xnn_run_operator(op.get(), nullptr), "xnn_run_operator")) {
    return;
  }
  if (const std::string wrong = ctq_peers::check_gemm(g, out.data()); !wrong.empty()) {
    state.SkipWithError(wrong.c_str());
    return;
  }
  run(state, op.get(), 2.0 * double(s.m) * double(s.n) * double(s.k));
  state.SetLabel("qu8, per-tensor weights");
}

}  // namespace

int main(int argc, char** argv) {
  if (xnn_initialize(/*allocator=*/nullptr) != xnn_status_success) {
    std::fprintf(stderr, "bench_peer_xnnpack: xnn_initialize failed\n");
    return 1;
  }
  benchmark::AddCustomContext("xnnpack_threads", "1 (no pthreadpool)");
  for (const ConvShape& s : ctq_peers::kConvShapes) {
    benchmark::RegisterBenchmark((std::string("xnnpack_conv/") + s.name).c_str(), xnnpack_conv, s)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (const ConvShape& s : ctq_peers::kConvShapes) {
    benchmark::RegisterBenchmark((std::string("xnnpack_qc8_conv/") + s.name).c_str(), xnnpack_qc8_conv, s)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (const GemmShape& s : ctq_peers::kGemmShapes) {
    benchmark::RegisterBenchmark(ctq_peers::gemm_name("xnnpack_gemm", s).c_str(), xnnpack_gemm, s)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  xnn_deinitialize();
  return 0;
}
