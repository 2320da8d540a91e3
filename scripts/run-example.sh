#!/usr/bin/env bash
# Installs the dependencies, builds the main example and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
CTQ_TEST_AARCH64=0 scripts/install-deps.sh  # the example needs no cross toolchain
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_EXAMPLES=ON
cmake --build build --target ptq_static -j "${CTQ_JOBS:-$(nproc)}"
build/examples/ptq_static
