// Peer benchmark for ctq's int8 GEMM: gemmlowp (Debian's libgemmlowp-dev, header-only), single-threaded.
//
// gemmlowp_gemm/M/N/K: the GEMM cases of peer_cases.h (A M x K u8 with zero point 128, B K x N s8 symmetric, one
//   per-tensor multiplier, no bias: as bench_peer_onednn.cpp's) through gemmlowp::GemmWithOutputPipeline with
//   DefaultL8R8BitDepthParams. gemmlowp multiplies u8 by u8 with offsets added to each operand: the weights are the
//   s8 ones plus 128 with offset -128, the activations have offset -128, the same arithmetic. The operands are laid
//   out as TensorFlow Lite's fully-connected layer gave them to gemmlowp: the weights (N x K, row-major) are the LHS,
//   the activations (K x M, column-major: A as it is) the RHS, the result N x M column-major (C, M x N row-major).
//   Output pipeline: OutputStageQuantizeDownInt32ByFixedPoint (the multiplier as a Q31 fixed-point number and a
//   right shift, rounding as gemmlowp does) and OutputStageSaturatingCastToUint8. gemmlowp has no prepacked-weights
//   entry point: it packs both operands on every call, inside the timed loop.
//   Built with GEMMLOWP_ENABLE_AVX2 and -mavx2, which selects its AVX2 kernel (24x8, depth 2); without it, it uses
//   the SSE4.1 one. The label names the kernel that was compiled in.
// The GemmContext is limited to one thread (set_max_num_threads(1)): gemmlowp then runs on the calling thread.
//
// GOPS = 2*M*N*K / wall-clock time, in 1e9 operations per second; the time is per call, in microseconds.
#include <benchmark/benchmark.h>
#include <gemmlowp/public/gemmlowp.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "peer_cases.h"

namespace {

using ctq_peers::GemmShape;

#if defined(GEMMLOWP_AVX2_64)
constexpr const char* kKernel = "AVX2_64_Kernel24x8Depth2";
#elif defined(GEMMLOWP_SSE4_64)
constexpr const char* kKernel = "SSE4_64_Kernel12x4Depth2";
#else
constexpr const char* kKernel = "reference kernel";
#endif

// multiplier (0 < multiplier < 1) = fixedpoint * 2^-31 * 2^-shift, fixedpoint in [2^30, 2^31).
gemmlowp::OutputStageQuantizeDownInt32ByFixedPoint quantize_down(double multiplier, int32_t offset) {
  int exponent = 0;
  const double q = std::frexp(multiplier, &exponent);  // multiplier = q * 2^exponent, q in [0.5, 1)
  int64_t fixedpoint = std::llround(q * double(int64_t{1} << 31));
  if (fixedpoint == int64_t{1} << 31) {
    fixedpoint /= 2;
    ++exponent;
  }
  gemmlowp::OutputStageQuantizeDownInt32ByFixedPoint stage;
  stage.result_fixedpoint_multiplier = int32_t(fixedpoint);
  stage.result_shift = -exponent;
  stage.result_offset_after_shift = offset;
  return stage;
}

void gemmlowp_gemm(benchmark::State& state, GemmShape s) {
  const ctq_peers::GemmCase g = ctq_peers::make_gemm_case(s);
  std::vector<uint8_t> w(size_t(s.n * s.k));  // N x K: B transposed, plus 128
  for (int64_t p = 0; p < s.k; ++p) {
    for (int64_t j = 0; j < s.n; ++j) w[size_t(j * s.k + p)] = uint8_t(int(g.b[size_t(p * s.n + j)]) + 128);
  }
  std::vector<uint8_t> c(size_t(s.m * s.n));

  const int m = int(s.m), n = int(s.n), k = int(s.k);
  const gemmlowp::MatrixMap<const uint8_t, gemmlowp::MapOrder::RowMajor> lhs(w.data(), n, k);
  const gemmlowp::MatrixMap<const uint8_t, gemmlowp::MapOrder::ColMajor> rhs(g.a.data(), k, m);
  gemmlowp::MatrixMap<uint8_t, gemmlowp::MapOrder::ColMajor> result(c.data(), n, m);
  const auto pipeline = std::make_tuple(quantize_down(g.multiplier, ctq_peers::kDstZeroPoint),
                                        gemmlowp::OutputStageSaturatingCastToUint8());
  gemmlowp::GemmContext context;
  context.set_max_num_threads(1);
  const auto gemm = [&] {
    gemmlowp::GemmWithOutputPipeline<uint8_t, uint8_t, gemmlowp::DefaultL8R8BitDepthParams>(
        &context, lhs, rhs, &result, /*lhs_offset=*/-128, /*rhs_offset=*/-ctq_peers::kSrcZeroPoint, pipeline);
  };

  gemm();  // untimed check against the integer reference
  if (const std::string wrong = ctq_peers::check_gemm(g, c.data()); !wrong.empty()) {
    state.SkipWithError(wrong.c_str());
    return;
  }
  for (auto _ : state) {
    gemm();
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] =
      benchmark::Counter(2e-9 * double(s.m) * double(s.n) * double(s.k), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kKernel);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("gemmlowp_threads", "1 (GemmContext::set_max_num_threads(1))");
  benchmark::AddCustomContext("gemmlowp_kernel", kKernel);
  for (const GemmShape& s : ctq_peers::kGemmShapes) {
    benchmark::RegisterBenchmark(ctq_peers::gemm_name("gemmlowp_gemm", s).c_str(), gemmlowp_gemm, s)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
