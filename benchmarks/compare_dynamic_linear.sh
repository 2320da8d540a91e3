#!/usr/bin/env bash
# Dynamic quantization of Linear, one thread, in one run: ctq's nn::quantized::dynamic::Linear
# (int8, onednn and qnnpack numerics) and float nn::Linear against PyTorch 1.13's nnqd.Linear on
# both engines and its float nn.Linear; M = 1, 4, 16 rows; out x in = 1024 x 1024, 4096 x 1024.
# Ratios are of medians (> 1: ctq faster); run on a quiet machine. A prebuilt bench_dynamic_linear
# can be given as CTQ_BENCH_DYNAMIC_LINEAR=path (then nothing is built).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
bench=${CTQ_BENCH_DYNAMIC_LINEAR:-}
if [[ -z "$bench" ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target bench_dynamic_linear -j 1 >/dev/null
  bench="$build"/benchmarks/bench_dynamic_linear
fi
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
torch_json=$(/usr/bin/python3 benchmarks/dynamic_linear_pytorch.py 2>/dev/null)
ctq_json=$("$bench" --benchmark_format=json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null)
/usr/bin/python3 - "$torch_json" "$ctq_json" <<'PY'
import json, re, sys
t = json.loads(sys.argv[1]); c = json.loads(sys.argv[2])
ctq = {}
for b in c["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    m = re.match(r"BM_(\w+)<(\d+)>/(\d+)", b["run_name"])
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
    ctq[f"{m.group(1)}/{m.group(2)}/{m.group(3)}"] = b["real_time"] * scale  # microseconds
pt = {k: v * 1e6 for k, v in t["times"].items()}
print(f"Dynamic Linear, in = 1024, one thread, median microseconds per forward (PyTorch {t['torch_version']};"
      f" ctq int8 with per-channel weights, as PyTorch's)")
head = (f"{'out':>5} {'M':>3} | {'ctq f32':>8} {'ctq i8 1dnn':>11} {'ctq i8 qnnp':>11} {'ctq fp16':>8} | "
        f"{'PT f32':>8} {'PT onednn':>9} {'PT qnnpack':>10} | {'vs PT onednn':>12} {'vs PT qnnpack':>13} "
        f"{'vs ctq f32':>10}")
print(head)
print("-" * len(head))
for out in (1024, 4096):
    for rows in (1, 4, 16):
        k = lambda kind: f"{kind}/{out}/{rows}"
        cf, co, cq, ch = ctq[k("float")], ctq[k("int8_onednn")], ctq[k("int8_qnnpack")], ctq[k("fp16")]
        pf, po, pq = pt[k("float")], pt.get(k("int8_onednn"), float("nan")), pt.get(k("int8_qnnpack"), float("nan"))
        print(f"{out:>5} {rows:>3} | {cf:8.1f} {co:11.1f} {cq:11.1f} {ch:8.1f} | {pf:8.1f} {po:9.1f} {pq:10.1f} | "
              f"{po / co:11.2f}x {pq / cq:12.2f}x {cf / co:9.2f}x")
print("vs PT onednn: PyTorch onednn / ctq int8 (onednn numerics); vs PT qnnpack: PyTorch qnnpack / ctq int8"
      " (qnnpack numerics); vs ctq f32: ctq float / ctq int8 (onednn numerics)")
PY
