#!/usr/bin/env bash
# MobileNetV2, one 224 x 224 image, one thread: ctq float and int8 against PyTorch 1.13 float and
# int8 (eager-mode PTQ), in one run. Ratios are of medians; run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_network -j "$(nproc)" >/dev/null
torch_json=$(/usr/bin/python3 benchmarks/network_pytorch.py)
ctq_json=$("$build"/benchmarks/bench_network --benchmark_format=json --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true 2>/dev/null)
/usr/bin/python3 - "$torch_json" "$ctq_json" <<'PY'
import json, sys
t = json.loads(sys.argv[1]); c = json.loads(sys.argv[2])
# real_time is in the benchmarks' unit, milliseconds
med = {b["run_name"].split("/")[0]: b["real_time"] for b in c["benchmarks"] if b.get("aggregate_name") == "median"}
cf, ci = med["BM_mobilenet_v2_float"], med["BM_mobilenet_v2_int8"]
print(f"MobileNetV2, 1 x 224 x 224, one thread, median ms (PyTorch engine {t['engine']})")
print(f"{'':10} {'float':>9} {'int8':>9} {'int8 speed-up':>14}")
print(f"{'PyTorch':10} {t['float']*1e3:9.2f} {t['int8']*1e3:9.2f} {t['float']/t['int8']:13.2f}x")
print(f"{'ctq':10} {cf:9.2f} {ci:9.2f} {cf/ci:13.2f}x")
print(f"ctq int8 vs PyTorch int8: {t['int8']*1e3/ci:.2f}x faster; ctq float vs PyTorch float: {t['float']*1e3/cf:.2f}x")
PY
