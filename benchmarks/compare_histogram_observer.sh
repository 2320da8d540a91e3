#!/usr/bin/env bash
# HistogramObserver, ctq vs PyTorch 1.13, on the same 1M floats, in one run (single-threaded).
# Needs a build with -DCTQ_BUILD_BENCHMARKS=ON (default folder build-bench) and python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
if [[ ! -x $build/benchmarks/bench_histogram_observer ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target bench_histogram_observer -j "$(nproc)" >/dev/null
fi
data=$(mktemp --suffix=.f32)
trap 'rm -f "$data"' EXIT
/usr/bin/python3 -c "import numpy as np; np.random.default_rng(0).standard_normal(1<<20).astype(np.float32).tofile('$data')"
torch_json=$(/usr/bin/python3 benchmarks/histogram_observer_pytorch.py "$data" 10)
ctq_json=$(CTQ_BENCH_DATA=$data "$build"/benchmarks/bench_histogram_observer --benchmark_filter='observe_and_calculate_qparams|calculate_qparams_only' --benchmark_format=json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null)
/usr/bin/python3 - "$torch_json" "$ctq_json" <<'PY'
import json, sys
t = json.loads(sys.argv[1]); c = json.loads(sys.argv[2])
med = {b["run_name"]: b["real_time"] / 1e3 for b in c["benchmarks"] if b.get("aggregate_name") == "median"}  # ms -> s
whole, qp = med["observe_and_calculate_qparams"], med["calculate_qparams_only"]
print(f"HistogramObserver, {t['elements']} floats, observe + calculate_qparams (median):")
print(f"  PyTorch 1.13: {t['whole_median_s']*1e3:9.2f} ms   (calculate_qparams {t['qparams_median_s']*1e3:.2f} ms)")
print(f"  ctq:          {whole*1e3:9.2f} ms   (calculate_qparams {qp*1e3:.2f} ms)")
print(f"  ctq is {t['whole_median_s']/whole:.1f}x faster (calculate_qparams alone: {t['qparams_median_s']/qp:.1f}x)")
PY
