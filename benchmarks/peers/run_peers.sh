#!/usr/bin/env bash
# Runs every int8 GEMM and convolution peer of ctq once, single-threaded, and writes what they measure to
# <build>/peers.json. GEMM peers, GOP/s (2*M*N*K / time) per shape "M/N/K":
#   onednn                 oneDNN int8 matmul (bench_peer_onednn), the kernels it picks here (AMX if there)
#   onednn_avx512_vnni     the same, kept to AVX-512 VNNI with ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI
#   onednn_avx2            the same, kept to AVX2 (its u8 x s8 kernels then saturate int16 sums: not exact)
#   eigen_f32              Eigen float GEMM (bench_peer_onednn)
#   pytorch_onednn, pytorch_qnnpack          PyTorch 1.13 quantized Linear (qlinear_pytorch.py, python3-torch)
#   ort                    ONNX Runtime QLinearMatMul (ort/bench_ort.js, onnxruntime-node)
#   xnnpack                XNNPACK qu8 fully-connected, per-tensor weights (bench_peer_xnnpack, libxnnpack-dev)
#   gemmlowp               gemmlowp u8 GEMM with a fixed-point output stage (bench_peer_gemmlowp, libgemmlowp-dev)
# Convolution peers, GOP/s (2 * OH*OW*C_out * KH*KW*C_in/groups / time) per shape "conv3x3/56x56x64x64",
# "dw3x3s1/56x56x144", "dw3x3s2/56x56x144" (peer_cases.h), and the same keys in "<peer>_us": microseconds per call:
#   onednn_conv            oneDNN int8 convolution (bench_peer_onednn_conv), the kernels it picks here
#   onednn_conv_avx512_vnni                  the same, kept to AVX-512 VNNI
#   xnnpack_conv           XNNPACK qu8 convolution, per-tensor weights (bench_peer_xnnpack)
#   xnnpack_qc8_conv       XNNPACK qc8 convolution, per-channel weights, s8 activations (bench_peer_xnnpack)
#   pytorch_onednn_conv, pytorch_qnnpack_conv  PyTorch 1.13 quantized conv2d (qconv_pytorch.py)
#   ort_conv               ONNX Runtime QLinearConv, NHWC (ort/bench_ort.js)
# and the register-only int8 peak of one core (bench_peak), a number each: peak_vnni512, peak_avx2, peak_amx_int8.
# A peer that cannot run here is left out and named, with the reason, under "absent": that is not a failure.
#
# Usage: benchmarks/peers/run_peers.sh [build-dir] [--quick]
#   build-dir defaults to build-bench (configured and built here if needed; CTQ_JOBS sets the build's -j);
#   --quick runs each measurement briefly (a smoke test, not numbers to keep).
#   CTQ_PEERS_PYTHON: the Python with torch and onnx (default /usr/bin/python3, Debian's).
set -uo pipefail
build="build-bench"
quick=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) build=$arg ;;
  esac
done
cd "$(dirname "$0")/../.." || exit 1  # build-dir, if relative, is relative to the repository
peers=benchmarks/peers
jobs=${CTQ_JOBS:-$(nproc)}
py=${CTQ_PEERS_PYTHON:-/usr/bin/python3}  # Debian's has python3-torch and python3-onnx
if ((quick)); then
  gbench=(--benchmark_min_time=0.05)
  reps=(--reps 3 --rep-ms 5)
else
  gbench=(--benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
  reps=(--reps 9 --rep-ms 20)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/raw  # raw/<peer>.json: a Google Benchmark JSON file (*.gbench.json) or the peer's own JSON
mkdir -p "$raw" "$tmp/absent"

absent() {  # peer, reason
  echo "run_peers: $1 absent: $2" >&2
  printf '%s' "$2" >"$tmp/absent/$1"
}
last_line() { tail -n 1 "$1" 2>/dev/null | cut -c1-200; }

# --- the C++ peers (bench_peak, bench_peer_onednn, bench_peer_onednn_conv, bench_peer_xnnpack, bench_peer_gemmlowp) ---
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_BENCHMARKS=ON -DCTQ_BUILD_TESTS=OFF \
    >"$tmp/configure.log" 2>&1 || echo "run_peers: configuring $build failed: $(last_line "$tmp/configure.log")" >&2
fi
bin=$build/benchmarks/peers
for target in bench_peak bench_peer_onednn bench_peer_onednn_conv bench_peer_xnnpack bench_peer_gemmlowp; do
  # A target CMake left out (its package missing) fails here too; the runs below then report it absent.
  cmake --build "$build" --target "$target" -j "$jobs" >"$tmp/build_$target.log" 2>&1 ||
    echo "run_peers: $target not built: $(last_line "$tmp/build_$target.log")" >&2
done

gbench_run() {  # peer, program, arguments...: runs a Google Benchmark program into raw/<peer>.gbench.json
  local peer=$1 program=$2
  shift 2
  "$program" "$@" "${gbench[@]}" --benchmark_out="$raw/$peer.gbench.json" --benchmark_out_format=json \
    >/dev/null 2>"$tmp/$peer.err" || absent "$peer" "$(basename "$program") failed: $(last_line "$tmp/$peer.err")"
}

if [[ -x $bin/bench_peak ]]; then
  gbench_run peak "$bin/bench_peak"
else
  absent peak "bench_peak not built (x86-64 only)"
fi

if [[ -x $bin/bench_peer_onednn ]]; then
  gbench_run onednn "$bin/bench_peer_onednn"
  ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI gbench_run onednn_avx512_vnni "$bin/bench_peer_onednn" \
    --benchmark_filter=onednn_gemm
  ONEDNN_MAX_CPU_ISA=AVX2 CTQ_PEER_INEXACT=1 gbench_run onednn_avx2 "$bin/bench_peer_onednn" \
    --benchmark_filter=onednn_gemm
else
  absent onednn "bench_peer_onednn not built (needs libdnnl-dev)"
fi

if [[ -x $bin/bench_peer_onednn_conv ]]; then
  gbench_run onednn_conv "$bin/bench_peer_onednn_conv"
  ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI gbench_run onednn_conv_avx512_vnni "$bin/bench_peer_onednn_conv"
else
  absent onednn_conv "bench_peer_onednn_conv not built (needs libdnnl-dev)"
fi

if [[ -x $bin/bench_peer_xnnpack ]]; then
  gbench_run xnnpack "$bin/bench_peer_xnnpack"
else
  absent xnnpack "bench_peer_xnnpack not built (needs libxnnpack-dev and libpthreadpool-dev)"
fi

if [[ -x $bin/bench_peer_gemmlowp ]]; then
  gbench_run gemmlowp "$bin/bench_peer_gemmlowp"
else
  absent gemmlowp "bench_peer_gemmlowp not built (needs libgemmlowp-dev, x86-64)"
fi

# --- PyTorch -------------------------------------------------------------------------------------------------------
if "$py" -c 'import torch' 2>/dev/null; then
  for script in qlinear_pytorch qconv_pytorch; do
    "$py" "$peers/$script.py" "${reps[@]}" >"$raw/$script.json" 2>"$tmp/$script.err" ||
      absent "$script" "$script.py failed: $(last_line "$tmp/$script.err")"
    cat "$tmp/$script.err" >&2
  done
else
  absent qlinear_pytorch "no torch in $py (apt-get install python3-torch)"
  absent qconv_pytorch "no torch in $py (apt-get install python3-torch)"
fi

# --- ONNX Runtime --------------------------------------------------------------------------------------------------
ort_ready() {  # prints why not when it is not
  local dir=$peers/ort m
  if ! command -v node >/dev/null; then echo "no node"; return 1; fi
  if [[ ! -d $dir/node_modules/onnxruntime-node ]]; then
    echo "run_peers: npm install in $dir" >&2
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund >"$tmp/npm.log" 2>&1) ||
      { echo "npm install failed: $(last_line "$tmp/npm.log")"; return 1; }
  fi
  # make_models.py writes them all; it runs again when one is missing or older than it.
  for m in 1_1024_1024.{onnx,a.bin,y0.bin} 16_1024_1024.{onnx,a.bin,y0.bin} 64_1024_1024.{onnx,a.bin,y0.bin} \
    256_256_256.{onnx,a.bin,y0.bin} 1024_1024_1024.{onnx,a.bin,y0.bin} 3136_64_576.{onnx,a.bin,y0.bin} \
    12544_32_27.{onnx,a.bin,y0.bin} 49_1280_320.{onnx,a.bin,y0.bin} conv_conv3x3_56x56x64x64.{onnx,x.bin,y.bin} \
    conv_dw3x3s1_56x56x144.{onnx,x.bin,y.bin} conv_dw3x3s2_56x56x144.{onnx,x.bin,y.bin}; do
    if [[ ! -f $dir/models/$m || $dir/make_models.py -nt $dir/models/$m ]]; then
      "$py" "$dir/make_models.py" >/dev/null 2>"$tmp/make_models.err" ||
        { echo "make_models.py failed (needs python3-onnx): $(last_line "$tmp/make_models.err")"; return 1; }
      break
    fi
  done
}
if why=$(ort_ready); then
  node $peers/ort/bench_ort.js "${reps[@]}" >"$raw/ort.json" 2>"$tmp/ort.err" ||
    absent ort "bench_ort.js failed: $(last_line "$tmp/ort.err")"
  cat "$tmp/ort.err" >&2
else
  absent ort "$why"
fi

# --- peers.json and a table ----------------------------------------------------------------------------------------
mkdir -p "$build"
"$py" - "$tmp" "$build/peers.json" <<'PY'
import json, pathlib, sys

tmp, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
raw = tmp / "raw"
absent = {f.name: f.read_text() for f in (tmp / "absent").iterdir()}
notes = []  # shapes a peer that ran left out, and why


def load(name):
    f = raw / name
    try:
        return json.loads(f.read_text()) if f.exists() else None
    except json.JSONDecodeError:
        return None


US_PER_UNIT = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def gbench(file):
    """{benchmark name: (GOP/s, microseconds per call), or the error message}; the median aggregate when there are
    repetitions."""
    data = load(file)
    res = {}
    for b in (data or {}).get("benchmarks", []):
        name = b["run_name"].removesuffix("/real_time")
        if b.get("error_occurred"):
            res[name] = str(b.get("error_message", "error"))
        elif b.get("aggregate_name", "median") == "median" and "GOPS" in b:
            res[name] = (b["GOPS"], b["real_time"] * US_PER_UNIT[b.get("time_unit", "ns")])  # GOPS counts 1e9 ops
    return res


def per_shape(results, prefix, peer):
    """{shape: {"gops": GOP/s, "us": microseconds}} of the benchmarks named prefix/shape; failed ones go to notes."""
    shapes = {}
    for name, v in results.items():
        if not name.startswith(prefix + "/"):
            continue
        shape = name[len(prefix) + 1:]
        if isinstance(v, tuple):
            shapes[shape] = {"gops": v[0], "us": v[1]}
        else:
            notes.append(f"{peer} {shape}: {v}")
    return shapes


def gops_only(shapes):  # {shape: GOP/s} from the scripts' plain numbers or from {"gops", "us"} objects
    return {k: v["gops"] if isinstance(v, dict) else v for k, v in (shapes or {}).items() if v is not None}


def first_note(peer):
    return next((n[len(peer) + 1:] for n in notes if n.startswith(peer + " ")), None)


onednn = gbench("onednn.gbench.json")
vnni = gbench("onednn_avx512_vnni.gbench.json")
avx2 = gbench("onednn_avx2.gbench.json")
onednn_conv = gbench("onednn_conv.gbench.json")
onednn_conv_vnni = gbench("onednn_conv_avx512_vnni.gbench.json")
xnnpack = gbench("xnnpack.gbench.json")
gemmlowp = gbench("gemmlowp.gbench.json")
peak = gbench("peak.gbench.json")
qlinear = load("qlinear_pytorch.json") or {}
qconv = load("qconv_pytorch.json") or {}
ort = load("ort.json") or {}
no_torch_engine = "this PyTorch has no {} engine"

# name, {shape: {"gops", "us"} or GOP/s}, reason when there is none
gemm_peers = [
    ("onednn", per_shape(onednn, "onednn_gemm", "onednn"), absent.get("onednn")),
    ("onednn_avx512_vnni", per_shape(vnni, "onednn_gemm", "onednn_avx512_vnni"),
     absent.get("onednn_avx512_vnni", absent.get("onednn"))),
    ("onednn_avx2", per_shape(avx2, "onednn_gemm", "onednn_avx2"), absent.get("onednn_avx2", absent.get("onednn"))),
    ("eigen_f32", per_shape(onednn, "eigen_f32_gemm", "eigen_f32"), absent.get("onednn")),
    ("pytorch_onednn", qlinear.get("onednn"), absent.get("qlinear_pytorch", no_torch_engine.format("onednn"))),
    ("pytorch_qnnpack", qlinear.get("qnnpack"), absent.get("qlinear_pytorch", no_torch_engine.format("qnnpack"))),
    ("ort", ort.get("gemm"), absent.get("ort")),
    ("xnnpack", per_shape(xnnpack, "xnnpack_gemm", "xnnpack"), absent.get("xnnpack")),
    ("gemmlowp", per_shape(gemmlowp, "gemmlowp_gemm", "gemmlowp"), absent.get("gemmlowp")),
]
conv_peers = [
    ("onednn_conv", per_shape(onednn_conv, "onednn_conv", "onednn_conv"), absent.get("onednn_conv")),
    ("onednn_conv_avx512_vnni", per_shape(onednn_conv_vnni, "onednn_conv", "onednn_conv_avx512_vnni"),
     absent.get("onednn_conv_avx512_vnni", absent.get("onednn_conv"))),
    ("xnnpack_conv", per_shape(xnnpack, "xnnpack_conv", "xnnpack_conv"), absent.get("xnnpack")),
    ("xnnpack_qc8_conv", per_shape(xnnpack, "xnnpack_qc8_conv", "xnnpack_qc8_conv"), absent.get("xnnpack")),
    ("pytorch_onednn_conv", qconv.get("onednn"), absent.get("qconv_pytorch", no_torch_engine.format("onednn"))),
    ("pytorch_qnnpack_conv", qconv.get("qnnpack"), absent.get("qconv_pytorch", no_torch_engine.format("qnnpack"))),
    ("ort_conv", ort.get("conv"), absent.get("ort")),
]

peers = {}
conv_names = {n for n, _, _ in conv_peers}
for name, shapes, why in gemm_peers + conv_peers:
    if gops_only(shapes):
        peers[name] = gops_only(shapes)
        if name in conv_names:  # and microseconds per call next to it
            peers[name + "_us"] = {k: v["us"] for k, v in shapes.items()}
    else:
        absent[name] = why or first_note(name) or "no result"
for name in ("peak_vnni512", "peak_avx2", "peak_amx_int8"):
    v = peak.get(name)
    if isinstance(v, tuple):
        peers[name] = v[0]
    else:
        absent[name] = v or absent.get("peak", "no result")
# Reasons recorded for a program or script that runs several peers were folded into its peers above.
known = [n for n, _, _ in gemm_peers] + ["peak_vnni512", "peak_avx2", "peak_amx_int8"] + [n for n, _, _ in conv_peers]
peers["absent"] = {k: absent[k] for k in known if k not in peers}
out.write_text(json.dumps(peers, indent=2) + "\n")

gemm_tables = [n for n, _, _ in gemm_peers if n in peers]
gemm_shapes = list(dict.fromkeys(s for n in gemm_tables for s in peers[n]))
if gemm_tables:
    widths = [max(len(n) + 2, 10) for n in gemm_tables]
    print(f"{'GEMM GOP/s, 1 thread':20}" + "".join(f"{n:>{w}}" for n, w in zip(gemm_tables, widths)))
    for s in gemm_shapes:
        cells = (f"{peers[n][s]:{w}.1f}" if s in peers[n] else f"{'-':>{w}}" for n, w in zip(gemm_tables, widths))
        print(f"{s:20}" + "".join(cells))
conv_tables = [n for n, _, _ in conv_peers if n in peers]
conv_shapes = list(dict.fromkeys(s for n in conv_tables for s in peers[n]))
if conv_tables:
    print()
    print(f"{'conv, 1 thread':26}" + "".join(f"{s:>26}" for s in conv_shapes))
    print(f"{'':26}" + f"{'GOP/s':>14}{'us/call':>12}" * len(conv_shapes))
    for n in conv_tables:
        cells = (f"{peers[n][s]:14.1f}{peers[n + '_us'][s]:12.1f}" if s in peers[n] else f"{'-':>14}{'-':>12}"
                 for s in conv_shapes)
        print(f"{n:26}" + "".join(cells))
print()
for n, v in peers.items():
    if isinstance(v, float):
        print(f"{n:20}{v:10.1f} GOP/s")
for note in notes:
    print(f"left out: {note}")
for n, why in peers["absent"].items():
    print(f"absent: {n}: {why}")
print(f"wrote {out}")
PY
