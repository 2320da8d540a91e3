#!/usr/bin/env bash
# Installs the dependencies, then builds and runs ctq's tests in three passes: the host checks
# (compile-fail snippets, single header, installed package) in a plain build; the test programs and
# examples with AddressSanitizer and UndefinedBehaviorSanitizer (CTQ_TEST_SANITIZE=0 skips it); the
# test programs cross-built for aarch64 and run under qemu (CTQ_TEST_AARCH64=0 skips it). The
# sanitizer pass uses the same optimisation and architecture flags as a plain build, so the test
# programs are not built a third time.
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

phase() { echo "== $1 (at ${SECONDS}s) =="; }
phase "host checks: compile-fail, single header, package"
run build-host -DCTQ_TEST_PROGRAMS=OFF -DCTQ_BUILD_EXAMPLES=OFF
if [[ ${CTQ_TEST_SANITIZE:-1} != 0 ]]; then
  phase "tests and examples with -fsanitize=address,undefined"
  run build-sanitize -DCTQ_SANITIZE=ON -DCTQ_HOST_CHECKS=OFF
fi
if [[ ${CTQ_TEST_AARCH64:-1} != 0 ]]; then
  phase "tests on aarch64 (cross build, qemu)"
  run build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DCTQ_BUILD_EXAMPLES=OFF
fi
echo "== all passed in ${SECONDS}s =="
