// The int8 peak of one core of this CPU, measured with register-only loops (no memory traffic), as the ceiling that
// int8 GEMM results are read against.
//
// peak_vnni512: AVX-512 VNNI vpdpbusd on zmm, 24 independent accumulators. One instruction = 64 u8 x s8 multiply-adds
//   into int32 = 128 ops.
// peak_avx2: the classic AVX2 int8 dot product, vpmaddubsw + vpmaddwd + vpaddd on ymm, 8 independent accumulators.
//   One triple = 32 multiply-adds = 64 ops.
// peak_avx2_pairs: ctq's AVX2 7-bit kernel step, two vpmaddubsw added in int16 (vpaddw), a per-lane centre subtracted
//   (vpsubw), then one vpmaddwd + vpaddd, 8 independent accumulators. One step = 64 multiply-adds = 128 ops.
// peak_fma_f32: float vfmadd231ps on ymm, 10 independent accumulators (the float path's ceiling, for reading the int8
//   peaks against). One instruction = 8 multiply-adds = 16 ops.
// peak_amx_int8: AMX tdpbusd on 16x64-byte tiles, 2x2 blocking into four independent int32 accumulator tiles. One
//   instruction = 16*16*64 multiply-adds = 32768 ops. oneDNN's int8 matmul runs on AMX where the CPU has it, so this,
//   not peak_vnni512, is its ceiling on such a CPU. Linux must grant the tile data state (arch_prctl); if it does not,
//   the benchmark is skipped.
//
// GOPS = ops / wall-clock time, in 1e9 operations per second. The loops are inline assembly so that the compiler can
// neither hoist the loop-invariant products nor drop the results. An ISA the CPU lacks (__builtin_cpu_supports) is
// reported as an error whose message starts with "skipped:".
#include <benchmark/benchmark.h>

#include <cstdint>
#if defined(__x86_64__)
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace {

constexpr int64_t kLoopTrips = 1 << 16;  // inner asm loop trips per benchmark iteration

#if defined(__x86_64__)

constexpr double kVnni512OpsPerTrip = 24 * 64 * 2;
constexpr double kAvx2OpsPerTrip = 8 * 32 * 2;
constexpr double kAvx2PairsOpsPerTrip = 8 * 64 * 2;
constexpr double kFmaOpsPerTrip = 10 * 8 * 2;
constexpr double kAmxOpsPerTrip = 4 * 16 * 16 * 64 * 2;

#define CTQ_VNNI_8(a, b, c, d, e, f, g, h)                                              \
  "vpdpbusd %%zmm31, %%zmm30, %%zmm" #a "\n\t vpdpbusd %%zmm31, %%zmm30, %%zmm" #b      \
  "\n\t vpdpbusd %%zmm31, %%zmm30, %%zmm" #c "\n\t vpdpbusd %%zmm31, %%zmm30, %%zmm" #d \
  "\n\t vpdpbusd %%zmm31, %%zmm30, %%zmm" #e "\n\t vpdpbusd %%zmm31, %%zmm30, %%zmm" #f \
  "\n\t vpdpbusd %%zmm31, %%zmm30, %%zmm" #g "\n\t vpdpbusd %%zmm31, %%zmm30, %%zmm" #h "\n\t"

__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) void vnni512_loop(int64_t trips) {
  asm volatile(
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"  // u8 operand: all 0xff
      "vpabsb %%zmm30, %%zmm31\n\t"                      // s8 operand: all 1
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vmovdqa64 %%zmm0, %%zmm1\n\t vmovdqa64 %%zmm0, %%zmm2\n\t vmovdqa64 %%zmm0, %%zmm3\n\t"
      "vmovdqa64 %%zmm0, %%zmm4\n\t vmovdqa64 %%zmm0, %%zmm5\n\t vmovdqa64 %%zmm0, %%zmm6\n\t"
      "vmovdqa64 %%zmm0, %%zmm7\n\t vmovdqa64 %%zmm0, %%zmm8\n\t vmovdqa64 %%zmm0, %%zmm9\n\t"
      "vmovdqa64 %%zmm0, %%zmm10\n\t vmovdqa64 %%zmm0, %%zmm11\n\t vmovdqa64 %%zmm0, %%zmm12\n\t"
      "vmovdqa64 %%zmm0, %%zmm13\n\t vmovdqa64 %%zmm0, %%zmm14\n\t vmovdqa64 %%zmm0, %%zmm15\n\t"
      "vmovdqa64 %%zmm0, %%zmm16\n\t vmovdqa64 %%zmm0, %%zmm17\n\t vmovdqa64 %%zmm0, %%zmm18\n\t"
      "vmovdqa64 %%zmm0, %%zmm19\n\t vmovdqa64 %%zmm0, %%zmm20\n\t vmovdqa64 %%zmm0, %%zmm21\n\t"
      "vmovdqa64 %%zmm0, %%zmm22\n\t vmovdqa64 %%zmm0, %%zmm23\n\t"
      ".p2align 5\n"
      "1:\n\t" CTQ_VNNI_8(0, 1, 2, 3, 4, 5, 6, 7) CTQ_VNNI_8(8, 9, 10, 11, 12, 13, 14, 15)
          CTQ_VNNI_8(16, 17, 18, 19, 20, 21, 22, 23)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : [n] "+r"(trips)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
        "xmm30", "xmm31");
}

// One u8 x s8 dot-product step into accumulator ymm<acc> through temporary ymm<tmp>: ymm12 holds the u8 operand,
// ymm13 the s8 operand, ymm14 the int16 ones that vpmaddwd widens the pair sums with.
// clang-format off
#define CTQ_AVX2_DOT(acc, tmp)                            \
  "vpmaddubsw %%ymm13, %%ymm12, %%ymm" #tmp "\n\t"        \
  "vpmaddwd %%ymm14, %%ymm" #tmp ", %%ymm" #tmp "\n\t"    \
  "vpaddd %%ymm" #tmp ", %%ymm" #acc ", %%ymm" #acc "\n\t"
// clang-format on

__attribute__((target("avx2"), noinline)) void avx2_loop(int64_t trips) {
  asm volatile(
      "vpcmpeqd %%ymm12, %%ymm12, %%ymm12\n\t"  // u8 operand: all 0xff
      "vpabsb %%ymm12, %%ymm13\n\t"             // s8 operand: all 1
      "vpabsw %%ymm12, %%ymm14\n\t"             // int16 ones
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovdqa %%ymm0, %%ymm1\n\t vmovdqa %%ymm0, %%ymm2\n\t vmovdqa %%ymm0, %%ymm3\n\t"
      "vmovdqa %%ymm0, %%ymm4\n\t vmovdqa %%ymm0, %%ymm5\n\t vmovdqa %%ymm0, %%ymm6\n\t vmovdqa %%ymm0, %%ymm7\n\t"
      ".p2align 5\n"
      "1:\n\t" CTQ_AVX2_DOT(0, 8) CTQ_AVX2_DOT(1, 9) CTQ_AVX2_DOT(2, 10) CTQ_AVX2_DOT(3, 11) CTQ_AVX2_DOT(4, 8)
          CTQ_AVX2_DOT(5, 9) CTQ_AVX2_DOT(6, 10) CTQ_AVX2_DOT(7, 11)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : [n] "+r"(trips)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14");
}

// Two groups' vpmaddubsw added in int16 and centred (ymm15: the per-lane centre), then widened into ymm<acc>.
// clang-format off
#define CTQ_AVX2_PAIR(acc, t0, t1)                         \
  "vpmaddubsw %%ymm13, %%ymm12, %%ymm" #t0 "\n\t"          \
  "vpmaddubsw %%ymm13, %%ymm12, %%ymm" #t1 "\n\t"          \
  "vpaddw %%ymm" #t1 ", %%ymm" #t0 ", %%ymm" #t0 "\n\t"    \
  "vpsubw %%ymm15, %%ymm" #t0 ", %%ymm" #t0 "\n\t"         \
  "vpmaddwd %%ymm14, %%ymm" #t0 ", %%ymm" #t0 "\n\t"       \
  "vpaddd %%ymm" #t0 ", %%ymm" #acc ", %%ymm" #acc "\n\t"
// clang-format on

__attribute__((target("avx2"), noinline)) void avx2_pairs_loop(int64_t trips) {
  asm volatile(
      "vpcmpeqd %%ymm12, %%ymm12, %%ymm12\n\t"  // all 0xff
      "vpabsb %%ymm12, %%ymm13\n\t"             // s8 operand: all 1
      "vpsrlw $9, %%ymm12, %%ymm12\n\t"         // u8 operand: 127 in every byte pair's low byte, 0 above
      "vpabsw %%ymm12, %%ymm14\n\t"             // (any int16 values: the cost is the same)
      "vpxor %%ymm15, %%ymm15, %%ymm15\n\t"
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovdqa %%ymm0, %%ymm1\n\t vmovdqa %%ymm0, %%ymm2\n\t vmovdqa %%ymm0, %%ymm3\n\t"
      "vmovdqa %%ymm0, %%ymm4\n\t vmovdqa %%ymm0, %%ymm5\n\t vmovdqa %%ymm0, %%ymm6\n\t vmovdqa %%ymm0, %%ymm7\n\t"
      ".p2align 5\n"
      "1:\n\t" CTQ_AVX2_PAIR(0, 8, 9) CTQ_AVX2_PAIR(1, 10, 11) CTQ_AVX2_PAIR(2, 8, 9) CTQ_AVX2_PAIR(3, 10, 11)
          CTQ_AVX2_PAIR(4, 8, 9) CTQ_AVX2_PAIR(5, 10, 11) CTQ_AVX2_PAIR(6, 8, 9) CTQ_AVX2_PAIR(7, 10, 11)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : [n] "+r"(trips)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15");
}

#define CTQ_FMA(acc) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #acc "\n\t"

__attribute__((target("avx2,fma"), noinline)) void fma_loop(int64_t trips) {
  asm volatile(
      "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"  // zeros: the products stay 0 (no denormals, no overflow)
      "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
      "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovaps %%ymm0, %%ymm1\n\t vmovaps %%ymm0, %%ymm2\n\t vmovaps %%ymm0, %%ymm3\n\t vmovaps %%ymm0, %%ymm4\n\t"
      "vmovaps %%ymm0, %%ymm5\n\t vmovaps %%ymm0, %%ymm6\n\t vmovaps %%ymm0, %%ymm7\n\t vmovaps %%ymm0, %%ymm8\n\t"
      "vmovaps %%ymm0, %%ymm9\n\t"
      ".p2align 5\n"
      "1:\n\t" CTQ_FMA(0) CTQ_FMA(1) CTQ_FMA(2) CTQ_FMA(3) CTQ_FMA(4) CTQ_FMA(5) CTQ_FMA(6) CTQ_FMA(7) CTQ_FMA(8)
          CTQ_FMA(9)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : [n] "+r"(trips)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm14", "xmm15");
}

// Tiles tmm0-tmm7, each 16 rows of 64 bytes (palette 1).
struct alignas(64) TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};
static_assert(sizeof(TileConfig) == 64);

// tmm0-tmm3 accumulate tmm4-tmm5 (u8, A) times tmm6-tmm7 (s8, B); the tiles hold zeros, which costs the same.
__attribute__((target("amx-tile,amx-int8"), noinline)) void amx_loop(int64_t trips) {
  static const TileConfig config;
  asm volatile(
      "ldtilecfg %[cfg]\n\t"
      "tilezero %%tmm0\n\t tilezero %%tmm1\n\t tilezero %%tmm2\n\t tilezero %%tmm3\n\t"
      "tilezero %%tmm4\n\t tilezero %%tmm5\n\t tilezero %%tmm6\n\t tilezero %%tmm7\n\t"
      ".p2align 5\n"
      "1:\n\t"
      "tdpbusd %%tmm6, %%tmm4, %%tmm0\n\t"
      "tdpbusd %%tmm7, %%tmm4, %%tmm1\n\t"
      "tdpbusd %%tmm6, %%tmm5, %%tmm2\n\t"
      "tdpbusd %%tmm7, %%tmm5, %%tmm3\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "tilerelease\n\t"
      : [n] "+r"(trips)
      : [cfg] "m"(config)
      : "cc", "memory");
}

// Linux hands out the AMX tile data state only to a process that asks for it.
bool amx_permitted() {
  constexpr int kXfeatureXtileData = 18;
  return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, kXfeatureXtileData) == 0;
}

// Times loop(trips) per benchmark iteration and reports GOPS (ops_per_trip operations per trip).
void time_loop(benchmark::State& state, void (*loop)(int64_t), int64_t trips, double ops_per_trip) {
  for (auto _ : state) loop(trips);
  state.counters["GOPS"] = benchmark::Counter(1e-9 * ops_per_trip * static_cast<double>(trips),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void peak_vnni512(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vnni")) {
    state.SkipWithError("skipped: this CPU has no AVX-512 VNNI");
    return;
  }
  time_loop(state, vnni512_loop, kLoopTrips, kVnni512OpsPerTrip);
}

void peak_avx2(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2")) {
    state.SkipWithError("skipped: this CPU has no AVX2");
    return;
  }
  time_loop(state, avx2_loop, kLoopTrips, kAvx2OpsPerTrip);
}

void peak_avx2_pairs(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2")) {
    state.SkipWithError("skipped: this CPU has no AVX2");
    return;
  }
  time_loop(state, avx2_pairs_loop, kLoopTrips, kAvx2PairsOpsPerTrip);
}

void peak_fma_f32(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    state.SkipWithError("skipped: this CPU has no AVX2 and FMA");
    return;
  }
  time_loop(state, fma_loop, kLoopTrips, kFmaOpsPerTrip);
}

void peak_amx_int8(benchmark::State& state) {
  if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-int8")) {
    state.SkipWithError("skipped: this CPU has no AMX-INT8");
    return;
  }
  if (!amx_permitted()) {
    state.SkipWithError("skipped: the kernel refused the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM)");
    return;
  }
  time_loop(state, amx_loop, kLoopTrips / 16, kAmxOpsPerTrip);  // a tdpbusd takes ~16 cycles: keep the iteration short
}

#else  // not x86-64: nothing to measure

void peak_vnni512(benchmark::State& state) { state.SkipWithError("skipped: not an x86-64 CPU"); }
void peak_avx2(benchmark::State& state) { state.SkipWithError("skipped: not an x86-64 CPU"); }
void peak_avx2_pairs(benchmark::State& state) { state.SkipWithError("skipped: not an x86-64 CPU"); }
void peak_fma_f32(benchmark::State& state) { state.SkipWithError("skipped: not an x86-64 CPU"); }
void peak_amx_int8(benchmark::State& state) { state.SkipWithError("skipped: not an x86-64 CPU"); }

#endif

}  // namespace

BENCHMARK(peak_vnni512)->UseRealTime();
BENCHMARK(peak_avx2)->UseRealTime();
BENCHMARK(peak_avx2_pairs)->UseRealTime();
BENCHMARK(peak_fma_f32)->UseRealTime();
BENCHMARK(peak_amx_int8)->UseRealTime();
BENCHMARK_MAIN();
