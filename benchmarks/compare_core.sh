#!/usr/bin/env bash
# quantize / dequantize / fake-quantize on 1M floats: ctq's vector path vs PyTorch 1.13, one run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
if [[ ! -x $build/benchmarks/bench_core ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target bench_core -j "$(nproc)" >/dev/null
fi
torch_json=$(/usr/bin/python3 benchmarks/core_pytorch.py)
ctq_json=$("$build"/benchmarks/bench_core --benchmark_format=json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null)
/usr/bin/python3 - "$torch_json" "$ctq_json" <<'PY'
import json, sys
t = json.loads(sys.argv[1]); c = json.loads(sys.argv[2])
med = {b["run_name"]: b["real_time"] * 1e-9 for b in c["benchmarks"] if b.get("aggregate_name") == "median"}
print(f"{'1M floats, median':28} {'PyTorch':>10} {'ctq scalar':>11} {'ctq vector':>11} {'vs PyTorch':>11}")
for op in ("quantize_quint8", "dequantize_qint8", "fake_quantize_cachemask"):
    s, v = med[op + "/scalar"], med[op + "/vector"]
    print(f"{op:28} {t[op]*1e6:8.0f}us {s*1e6:9.0f}us {v*1e6:9.0f}us {t[op]/v:10.1f}x")
PY
