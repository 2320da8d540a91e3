#!/usr/bin/env bash
# Dynamic quantization of a 2-layer LSTM (input 512, hidden 512, 32 steps, batch 1, one thread), in
# one run: ctq's float nn::LSTM and its quantize_dynamic'd int8 (onednn and qnnpack numerics) and
# float16 models against PyTorch 1.13's float nn.LSTM and its nnqd.LSTM on both engines. Ratios
# are of medians (> 1: ctq faster); run on a quiet machine. A prebuilt bench_dynamic_lstm can be
# given as CTQ_BENCH_DYNAMIC_LSTM=path (then nothing is built).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
bench=${CTQ_BENCH_DYNAMIC_LSTM:-}
if [[ -z "$bench" ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target bench_dynamic_lstm -j 1 >/dev/null
  bench="$build"/benchmarks/bench_dynamic_lstm
fi
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
torch_json=$(/usr/bin/python3 benchmarks/dynamic_lstm_pytorch.py 2>/dev/null)
ctq_json=$("$bench" --benchmark_format=json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null)
/usr/bin/python3 - "$torch_json" "$ctq_json" <<'PY'
import json, sys
t = json.loads(sys.argv[1]); c = json.loads(sys.argv[2])
ctq = {}
for b in c["benchmarks"]:
    if b.get("aggregate_name") == "median":
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
        ctq[b["run_name"].split("/")[0].removeprefix("BM_lstm_")] = b["real_time"] * scale  # microseconds
pt = {k: v * 1e6 for k, v in t["times"].items()}
print(f"2-layer LSTM 512 -> 512, 32 steps, batch 1, one thread, median microseconds per forward"
      f" (PyTorch {t['torch_version']}; int8 weights per tensor, as quantize_dynamic's default)")
rows = [("float", "ctq float", "float"), ("int8_onednn", "ctq int8, onednn numerics", "int8_onednn"),
        ("int8_qnnpack", "ctq int8, qnnpack numerics", "int8_qnnpack"), ("fp16", "ctq float16 weights", None)]
for key, label, peer in rows:
    line = f"  {label:<28} {ctq[key]:9.0f} us"
    if peer is not None and peer in pt:
        line += f"   PyTorch {peer:<13} {pt[peer]:9.0f} us   ctq {pt[peer] / ctq[key]:5.2f}x faster"
    print(line)
print(f"  int8 (onednn numerics) vs ctq float: {ctq['float'] / ctq['int8_onednn']:.2f}x faster;"
      f" int8 (qnnpack numerics) vs ctq float: {ctq['float'] / ctq['int8_qnnpack']:.2f}x faster")
PY
