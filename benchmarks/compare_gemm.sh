#!/usr/bin/env bash
# ctq's int8 GEMM against its peers, single-threaded, in one run: runs benchmarks/peers/run_peers.sh
# (oneDNN with and without AMX, ONNX Runtime, PyTorch's onednn and qnnpack engines, Eigen float, the
# CPU's int8 peaks), then ctq's bench_gemm (this CPU's kernel) and bench_gemm_avx2, and prints one
# table of GOP/s per shape with ctq's ratios. Writes <build>/gemm_comparison.md and, where
# python3-matplotlib is installed, <build>/gemm_comparison.png.
#
# Usage: benchmarks/compare_gemm.sh [build-dir]     (default build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_gemm bench_gemm_avx2 -j "${CTQ_JOBS:-$(nproc)}" >/dev/null
benchmarks/peers/run_peers.sh "$build" >/dev/null
args=(--benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
      --benchmark_format=json)
"$build"/benchmarks/bench_gemm "${args[@]}" >"$build/ctq_gemm.json" 2>/dev/null
"$build"/benchmarks/bench_gemm_avx2 "${args[@]}" >"$build/ctq_gemm_avx2.json" 2>/dev/null
/usr/bin/python3 - "$build" <<'PY'
import json, sys
build = sys.argv[1]
peers = json.load(open(f"{build}/peers.json"))

def ctq(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            m, n, k = (part.split(":")[1] for part in b["run_name"].split("/")[1:4])
            out[f"{m}/{n}/{k}"] = b["GOPS"] / 1e9
    return out

rows = {"ctq": ctq(f"{build}/ctq_gemm.json"), "ctq_avx2": ctq(f"{build}/ctq_gemm_avx2.json")}
cols = ["ctq", "ctq_avx2", "onednn_avx512_vnni", "onednn", "ort", "pytorch_onednn", "pytorch_qnnpack", "eigen_f32"]
for c in cols[2:]:
    rows[c] = peers.get(c, {})
shapes = list(rows["ctq"].keys())
peak = peers.get("peak_vnni512"), peers.get("peak_avx2")
ratio_to = ["onednn_avx512_vnni", "onednn", "ort", "pytorch_onednn", "eigen_f32"]
head = "| M/N/K | " + " | ".join(cols) + " | " + " | ".join(f"ctq / {c}" for c in ratio_to) + " | ctq % VNNI peak | ctq_avx2 % AVX2 peak |"
lines = [head, "|" + "---|" * (head.count("|") - 1)]
def fmt(v): return f"{v:.0f}" if v else "-"
geo = {c: [] for c in ratio_to}
for s in shapes:
    c = rows["ctq"][s]
    r = []
    for p in ratio_to:
        v = rows[p].get(s)
        r.append(f"{c / v:.2f}x" if v else "-")
        if v: geo[p].append(c / v)
    lines.append(f"| {s} | " + " | ".join(fmt(rows[x].get(s)) for x in cols) + " | " + " | ".join(r) +
                 f" | {100 * c / peak[0]:.0f}% | " + (f"{100 * rows['ctq_avx2'][s] / peak[1]:.0f}% |" if peak[1] else "- |")
                 if peak[0] else "- | - |")
import math
g = " | ".join(f"{math.exp(sum(map(math.log, v)) / len(v)):.2f}x" if v else "-" for v in geo.values())
lines.append("| geomean | " + " | ".join("" for _ in cols) + " | " + g + " | | |")
lines.append("")
lines.append(f"Peaks of one core (register-only loops): VNNI {fmt(peak[0])} GOP/s, AVX2 {fmt(peak[1])} GOP/s, "
             f"AMX {fmt(peers.get('peak_amx_int8'))} GOP/s.")
if peers.get("absent"):
    lines.append("Absent peers: " + "; ".join(f"{k}: {v}" for k, v in peers["absent"].items()))
text = "\n".join(lines)
print(text)
open(f"{build}/gemm_comparison.md", "w").write(text + "\n")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(no python3-matplotlib: no plot)")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(11, 4.5))
width = 0.8 / len(cols)
for i, c in enumerate(cols):
    ax.bar([j + i * width for j in range(len(shapes))], [rows[c].get(s, 0) for s in shapes], width, label=c)
if peak[0]:
    ax.axhline(peak[0], color="k", ls="--", lw=0.8, label="VNNI peak")
ax.set_xticks([j + 0.4 - width / 2 for j in range(len(shapes))], shapes, rotation=20, fontsize=8)
ax.set_ylabel("GOP/s, one thread")
ax.set_title("int8 GEMM, uint8 x int8 -> uint8 (requantized)")
ax.legend(fontsize=7, ncol=3)
fig.tight_layout()
fig.savefig(f"{build}/gemm_comparison.png", dpi=110)
print(f"plot: {build}/gemm_comparison.png")
PY
