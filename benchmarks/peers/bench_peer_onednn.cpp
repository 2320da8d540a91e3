// Peer benchmark for ctq's int8 GEMM: oneDNN's int8 matmul and Eigen's float GEMM, single-threaded.
//
// onednn_gemm/M/N/K: C(MxN, u8) = requantize(A(MxK, u8) x B(KxN, s8)) with int32 accumulation, oneDNN 2.6 matmul.
//   A has a zero point of 128 and B none (symmetric weights). The source and destination zero points are runtime
//   attributes passed with each call; the output scale (a_scale * b_scale / c_scale) is fixed when the primitive is
//   created, like the packed weights it belongs with: oneDNN 2.6 takes a runtime output scale too, but then drops its
//   brgemm kernels (AVX-512 VNNI, AMX) for gemm:jit, which takes B plain and packs it on every call (M=1 ran 25x
//   slower). B is reordered once, outside the timed loop, into the layout the primitive asks for (format_tag::any).
//   The label is oneDNN's kernel name: it uses AMX where the CPU has it, ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI keeps it
//   on AVX-512 VNNI.
// eigen_f32_gemm/M/N/K: C = A x B on row-major float matrices (Eigen::setNbThreads(1)), as a float baseline.
//
// GOPS = 2*M*N*K / time, in 1e9 operations per second (wall-clock time). Debian's oneDNN is built with the OpenMP
// runtime (libgomp); main() calls omp_set_num_threads(1) before any primitive runs, so OMP_NUM_THREADS need not be
// set (OMP_NUM_THREADS=1 does the same from outside). DNNL_VERBOSE=1 prints the runtime and thread count it sees.
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#endif

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Shape {
  int64_t m, n, k;
};

// The shapes bench_gemm measures: a linear layer at batch 1, 16, 64; square GEMMs; convolutions as im2col GEMMs.
constexpr Shape kShapes[] = {{1, 1024, 1024},    {16, 1024, 1024}, {64, 1024, 1024}, {256, 256, 256},
                             {1024, 1024, 1024}, {3136, 64, 576},  {12544, 32, 27},  {49, 1280, 320}};

constexpr int32_t kSrcZeroPoint = 128;
constexpr int32_t kDstZeroPoint = 128;

std::string shape_name(const char* prefix, const Shape& s) {
  return std::string(prefix) + "/" + std::to_string(s.m) + "/" + std::to_string(s.n) + "/" + std::to_string(s.k);
}

void set_gops(benchmark::State& state, const Shape& s) {
  state.counters["GOPS"] =
      benchmark::Counter(2e-9 * double(s.m) * double(s.n) * double(s.k), benchmark::Counter::kIsIterationInvariantRate);
}

// Requantization multiplier a_scale * b_scale / c_scale that keeps most outputs of a K-long dot product of the
// random inputs below (std ~74 for A - 128, ~73 for B) inside uint8 instead of saturating.
float output_multiplier(int64_t k) { return 40.0f / (std::sqrt(float(k)) * 74.0f * 73.0f); }

void onednn_gemm(benchmark::State& state, Shape s) {
  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);

  std::mt19937 gen(1);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  std::vector<uint8_t> a(size_t(s.m * s.k));
  std::vector<int8_t> b(size_t(s.k * s.n));
  std::vector<uint8_t> c(size_t(s.m * s.n));
  for (auto& v : a) v = uint8_t(u8(gen));
  for (auto& v : b) v = int8_t(s8(gen));

  const memory::desc a_md({s.m, s.k}, dt::u8, tag::ab);
  const memory::desc b_user_md({s.k, s.n}, dt::s8, tag::ab);
  const memory::desc b_any_md({s.k, s.n}, dt::s8, tag::any);
  const memory::desc c_md({s.m, s.n}, dt::u8, tag::ab);

  dnnl::primitive_attr attr;
  const float multiplier = output_multiplier(s.k);
  attr.set_output_scales(0, {multiplier});
  attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any_md, c_md), attr, eng);
  const dnnl::matmul prim(pd);

  // Weights: packed once into the primitive's layout.
  memory b_user(b_user_md, eng, b.data());
  memory b_packed(pd.weights_desc(), eng);
  dnnl::reorder(b_user, b_packed).execute(strm, b_user, b_packed);

  int32_t src_zp = kSrcZeroPoint, dst_zp = kDstZeroPoint;
  memory a_mem(a_md, eng, a.data()), c_mem(c_md, eng, c.data());
  memory src_zp_mem({{1}, dt::s32, tag::x}, eng, &src_zp);
  memory dst_zp_mem({{1}, dt::s32, tag::x}, eng, &dst_zp);
  const std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, a_mem},
                                                {DNNL_ARG_WEIGHTS, b_packed},
                                                {DNNL_ARG_DST, c_mem},
                                                {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, src_zp_mem},
                                                {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, dst_zp_mem}};

  // Untimed check of the first and last rows against a scalar reference: a wrong setup must not look fast.
  // CTQ_PEER_INEXACT=1 (oneDNN kept to AVX2, whose u8 x s8 kernels saturate int16 pair sums) counts the
  // wrong outputs into the label instead of refusing to time.
  prim.execute(strm, args);
  strm.wait();
  const bool inexact_ok = std::getenv("CTQ_PEER_INEXACT") != nullptr;
  int64_t wrong = 0, checked = 0;
  for (int64_t i : {int64_t{0}, s.m - 1}) {
    for (int64_t j = 0; j < s.n; ++j) {
      int32_t acc = 0;
      for (int64_t p = 0; p < s.k; ++p) acc += (int32_t(a[i * s.k + p]) - src_zp) * int32_t(b[p * s.n + j]);
      const int32_t want = std::clamp(int32_t(std::nearbyint(multiplier * float(acc))) + dst_zp, 0, 255);
      ++checked;
      if (std::abs(want - int32_t(c[i * s.n + j])) > 1) {
        ++wrong;
        if (!inexact_ok) {
          state.SkipWithError(("wrong result at row " + std::to_string(i) + " col " + std::to_string(j)).c_str());
          return;
        }
      }
    }
  }

  for (auto _ : state) {
    prim.execute(strm, args);
    strm.wait();
    benchmark::ClobberMemory();
  }
  set_gops(state, s);
  state.SetLabel(pd.impl_info_str() + (wrong ? " (" + std::to_string(wrong) + " of " + std::to_string(checked) +
                                                   " checked outputs off by more than 1)"
                                             : std::string()));
}

void eigen_f32_gemm(benchmark::State& state, Shape s) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::srand(1);
  const Matrix a = Matrix::Random(s.m, s.k), b = Matrix::Random(s.k, s.n);
  Matrix c(s.m, s.n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gops(state, s);
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
  Eigen::setNbThreads(1);
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext(
      "onednn_version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));

  for (const Shape& s : kShapes) {
    benchmark::RegisterBenchmark(shape_name("onednn_gemm", s).c_str(), onednn_gemm, s)->UseRealTime();
  }
  for (const Shape& s : kShapes) {
    benchmark::RegisterBenchmark(shape_name("eigen_f32_gemm", s).c_str(), eigen_f32_gemm, s)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
