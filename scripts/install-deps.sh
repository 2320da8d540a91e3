#!/usr/bin/env bash
# Installs every Debian package ctq's build, tests, examples and benchmarks need. Idempotent.
set -euo pipefail
packages=(
  g++ cmake make python3                       # toolchain; python3 runs tools/amalgamate.py
  libeigen3-dev libxsimd-dev                    # the library's dependencies
  doctest-dev nlohmann-json3-dev                # tests (nlohmann-json reads tests/data/*.json)
  libbenchmark-dev                              # benchmarks
  python3-onnx python3-numpy                    # the ONNX export test checks the model with onnx
  dataset-fashion-mnist zlib1g-dev              # the Fashion-MNIST calibration example (gzipped IDX files)
)
# Node.js runs the exported model in ONNX Runtime (npm's onnxruntime-node); Debian's nodejs/npm
# only when the machine has no npm (another Node.js conflicts with Debian's npm).
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
if [[ ${CTQ_TEST_AARCH64:-1} != 0 ]]; then     # the aarch64 cross build and qemu for its tests
  packages+=(g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
# ONNX Runtime for the ONNX export test, at the version package-lock.json pins. Its install script
# only fetches optional GPU binaries, which are not needed.
onnx_dir="$(dirname "$0")/../tests/tensor_quant/onnx"
if [[ ! -d "$onnx_dir/node_modules/onnxruntime-node" ]]; then
  (cd "$onnx_dir" && npm ci --ignore-scripts --no-audit --no-fund)
fi
echo "install-deps: all packages present"
