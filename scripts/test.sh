#!/usr/bin/env bash
# Installs the dependencies, builds ctq's tests and runs them; then the same under AddressSanitizer
# and UndefinedBehaviorSanitizer (set CTQ_TEST_SANITIZE=0 to skip that second pass).
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
echo "== tests =="
run build
