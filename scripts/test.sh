#!/usr/bin/env bash
# Installs the dependencies, then builds and runs ctq's tests in three passes: the host checks
# (compile-fail snippets, single header, installed package) in a plain build; the test programs and
# examples with AddressSanitizer and UndefinedBehaviorSanitizer (CTQ_TEST_SANITIZE=0 skips it); the
# test programs whose results depend on the target, cross-built for aarch64 and run under qemu
# (CTQ_TEST_AARCH64=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=${CTQ_JOBS:-$(nproc)}

# Without debug information, and -O1 under the sanitizers: the test programs are template-heavy,
# and -O2 -g with the sanitizers takes twice the compile time (the suite must pass within 90
# minutes on 2 cores). The aarch64 pass keeps -O2, where g++ contracts a * b + c into fused
# multiply-adds by default, so code whose results must not depend on that stays checked there.
run() {  # build-dir, optimization flags, cmake options...
  local dir=$1 opt=$2; shift 2
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -DNDEBUG" \
    -DCTQ_BUILD_TESTS=ON -DCTQ_BUILD_EXAMPLES=ON "$@"
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

phase() { echo "== $1 (at ${SECONDS}s) =="; }
phase "host checks: compile-fail, single header, package"
run build-host -O2 -DCTQ_TEST_PROGRAMS=OFF -DCTQ_BUILD_EXAMPLES=OFF
if [[ ${CTQ_TEST_SANITIZE:-1} != 0 ]]; then
  phase "tests and examples with -fsanitize=address,undefined"
  run build-sanitize -O1 -DCTQ_SANITIZE=ON -DCTQ_HOST_CHECKS=OFF
fi
if [[ ${CTQ_TEST_AARCH64:-1} != 0 ]]; then
  phase "tests on aarch64 (cross build, qemu)"
  run build-aarch64 -O2 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DCTQ_BUILD_EXAMPLES=OFF
fi
echo "== all passed in ${SECONDS}s =="
