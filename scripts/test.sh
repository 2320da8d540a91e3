#!/usr/bin/env bash
# Installs the dependencies, builds ctq's tests and runs them three ways: with AddressSanitizer and
# UndefinedBehaviorSanitizer (CTQ_TEST_SANITIZE=0 skips it), cross-built for aarch64 and run under
# qemu (CTQ_TEST_AARCH64=0 skips it), and as a plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=${CTQ_JOBS:-$(nproc)}

run() {  # build-dir, cmake options...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTQ_BUILD_TESTS=ON -DCTQ_BUILD_EXAMPLES=ON "$@"
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

if [[ ${CTQ_TEST_SANITIZE:-1} != 0 ]]; then
  echo "== tests with -fsanitize=address,undefined =="
  run build-sanitize -DCTQ_SANITIZE=ON
fi
if [[ ${CTQ_TEST_AARCH64:-1} != 0 ]]; then
  echo "== tests on aarch64 (cross build, qemu) =="
  run build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DCTQ_BUILD_EXAMPLES=OFF
fi
echo "== tests =="
run build
