#!/usr/bin/env bash
# ctq's int8 GEMM and convolutions against their peers, single-threaded, in one run. Runs
# benchmarks/peers/run_peers.sh (oneDNN with AMX, kept to AVX-512 VNNI and to AVX2; ONNX Runtime;
# PyTorch 1.13's onednn and qnnpack engines; XNNPACK; gemmlowp; Eigen float; the CPU's int8 peaks),
# then ctq's bench_gemm / bench_conv built three ways (this CPU, AVX-512 VNNI only, AVX2 only), and
# prints the tables of docs/benchmarks.md: GOP/s (2 * MACs / s) or microseconds per shape, and
# ctq's ratio to each peer (> 1: ctq is faster). Writes <build>/kernels_comparison.md and, with
# python3-matplotlib, <build>/kernels_comparison.png.
#
# Usage: benchmarks/compare_kernels.sh [build-dir]     (default build-bench)
# Peers: benchmarks/install-peers.sh installs them; a missing one is listed as absent.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF >/dev/null
fi
ctq_targets=(bench_gemm bench_gemm_vnni bench_gemm_avx2 bench_conv bench_conv_vnni bench_conv_avx2)
cmake --build "$build" --target "${ctq_targets[@]}" -j "${CTQ_JOBS:-$(nproc)}" >/dev/null
benchmarks/peers/run_peers.sh "$build" >/dev/null
args=(--benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
      --benchmark_format=json)
for t in "${ctq_targets[@]}"; do
  "$build/benchmarks/$t" "${args[@]}" >"$build/$t.json" 2>/dev/null
done
/usr/bin/python3 - "$build" <<'PY'
import json, math, sys

build = sys.argv[1]
peers = json.load(open(f"{build}/peers.json"))


def ctq(name):
    """{shape: (GOP/s, us)} from a ctq benchmark's medians; shapes keyed as in peers.json."""
    out = {}
    for b in json.load(open(f"{build}/{name}.json"))["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/")
        if parts[0] == "ctq_gemm":
            key = "/".join(p.split(":")[1] for p in parts[1:4])
        else:
            key = "/".join(parts[1:3])
        out[key] = (b["GOPS"], b["real_time"])
    return out


def gops(peer, shape):
    v = peers.get(peer, {}).get(shape)
    return v if isinstance(v, (int, float)) else None


def us(peer, shape):
    v = peers.get(peer + "_us", {}).get(shape)
    return v if isinstance(v, (int, float)) else None


def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def table(title, ctq_run, cols, peak=None, unit="gops"):
    """A markdown table: ctq's value and each peer's, then ctq's ratio to each peer."""
    shapes = list(ctq_run)
    head = ["shape", "ctq"] + cols + [f"ctq / {c}" for c in cols] + ([f"ctq % of {peak[0]} peak"] if peak else [])
    rows = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ratios = {c: [] for c in cols}
    for s in shapes:
        g, t = ctq_run[s]
        mine = g if unit == "gops" else t
        vals, rats = [], []
        for c in cols:
            v = gops(c, s) if unit == "gops" else us(c, s)
            vals.append(f"{v:.0f}" if v else "-")
            r = (g / v if unit == "gops" else v / t) if v else None
            rats.append(f"{r:.2f}x" if r else "-")
            ratios[c].append(r)
        extra = [f"{100 * g / peak[1]:.0f}%"] if peak and peak[1] else ([] if not peak else ["-"])
        rows.append("| " + " | ".join([s, f"{mine:.0f}"] + vals + rats + extra) + " |")
    gm = [geomean(ratios[c]) for c in cols]
    rows.append("| geomean | | " + " | ".join("" for _ in cols) + " | " +
                " | ".join(f"{v:.2f}x" if v else "-" for v in gm) + (" | |" if peak else " |"))
    rows.append("")
    return "\n".join(rows)


g_native, g_vnni, g_avx2 = ctq("bench_gemm"), ctq("bench_gemm_vnni"), ctq("bench_gemm_avx2")
c_native, c_vnni, c_avx2 = ctq("bench_conv"), ctq("bench_conv_vnni"), ctq("bench_conv_avx2")
out = []
out.append(table("int8 GEMM, GOP/s: ctq for this CPU (AMX) vs the peers as they run here",
                 g_native, ["onednn", "ort", "pytorch_onednn", "pytorch_qnnpack", "xnnpack", "gemmlowp", "eigen_f32"]))
out.append(table("int8 GEMM, GOP/s, AVX-512 VNNI only (no AMX on either side)", g_vnni, ["onednn_avx512_vnni"],
                 ("VNNI", peers.get("peak_vnni512"))))
out.append(table("int8 GEMM, GOP/s, AVX2 only", g_avx2, ["onednn_avx2"], ("AVX2", peers.get("peak_avx2"))))
conv_cols = ["onednn_conv", "pytorch_onednn_conv", "pytorch_qnnpack_conv", "xnnpack_qc8_conv", "xnnpack_conv", "ort_conv"]
out.append(table("int8 convolution, microseconds per call (ratio: peer time / ctq time): this CPU", c_native,
                 conv_cols, unit="us"))
out.append(table("int8 convolution, microseconds, AVX-512 VNNI only", c_vnni, ["onednn_conv_avx512_vnni"], unit="us"))
out.append(table("int8 convolution, microseconds, ctq AVX2 only (peers as above)", c_avx2, conv_cols, unit="us"))
out.append(f"Peaks of one core (register-only loops): VNNI {peers.get('peak_vnni512', 0):.0f} GOP/s, "
           f"AVX2 {peers.get('peak_avx2', 0):.0f} GOP/s, AMX {peers.get('peak_amx_int8', 0):.0f} GOP/s.")
if peers.get("absent"):
    out.append("Absent peers: " + "; ".join(f"{k}: {v}" for k, v in dict(peers["absent"]).items()))
text = "\n".join(out)
print(text)
open(f"{build}/kernels_comparison.md", "w").write(text + "\n")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(no python3-matplotlib: no plot)")
    sys.exit(0)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 4.8), gridspec_kw={"width_ratios": [2.2, 1]})
shapes = list(g_native)
series = [("ctq", {s: g_native[s][0] for s in shapes})] + [
    (p, {s: gops(p, s) or 0 for s in shapes}) for p in ["onednn", "ort", "pytorch_onednn", "xnnpack", "eigen_f32"]]
w = 0.8 / len(series)
for i, (name, vals) in enumerate(series):
    ax1.bar([j + i * w for j in range(len(shapes))], [vals[s] for s in shapes], w, label=name)
ax1.set_xticks([j + 0.4 - w / 2 for j in range(len(shapes))], shapes, rotation=20, fontsize=8)
ax1.set_ylabel("GOP/s, one thread")
ax1.set_title("int8 GEMM (M/N/K), uint8 x int8 -> uint8")
ax1.legend(fontsize=7, ncol=3)
cshapes = list(c_native)
cseries = [("ctq", {s: c_native[s][1] for s in cshapes})] + [
    (p, {s: us(p, s) or 0 for s in cshapes}) for p in ["onednn_conv", "pytorch_onednn_conv", "xnnpack_qc8_conv", "ort_conv"]]
w = 0.8 / len(cseries)
for i, (name, vals) in enumerate(cseries):
    ax2.bar([j + i * w for j in range(len(cshapes))], [vals[s] for s in cshapes], w, label=name)
ax2.set_xticks([j + 0.4 - w / 2 for j in range(len(cshapes))], [s.split("/")[0] for s in cshapes], fontsize=8)
ax2.set_ylabel("microseconds per call (lower is better)")
ax2.set_title("conv 3x3 56x56x64, depthwise 56x56x144")
ax2.legend(fontsize=7)
fig.tight_layout()
fig.savefig(f"{build}/kernels_comparison.png", dpi=100)
print(f"plot: {build}/kernels_comparison.png")
PY
