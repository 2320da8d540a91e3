#!/usr/bin/env bash
# Installs what benchmarks/compare_*.sh and benchmarks/peers/run_peers.sh compare ctq with: oneDNN,
# XNNPACK, gemmlowp (Debian packages), PyTorch 1.13 and ONNX (Debian's python3-torch and python3-onnx),
# matplotlib for the plots, and ONNX Runtime from npm. The tests do not need any of it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends libdnnl-dev libxnnpack-dev libpthreadpool-dev libgemmlowp-dev \
  python3-torch python3-numpy python3-onnx python3-matplotlib
# Node.js and npm from Debian, unless the machine already has them (another nodejs conflicts with Debian's npm).
if ! command -v npm >/dev/null; then $sudo apt-get install -y --no-install-recommends nodejs npm; fi
# Its install script only fetches optional GPU binaries, which are not needed (and not reachable here).
(cd benchmarks/peers/ort && npm install --ignore-scripts)
