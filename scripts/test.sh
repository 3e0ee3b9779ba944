#!/usr/bin/env bash
# The whole test suite: installs what is missing (apt), builds, runs CTest
# twice: once in a normal build and once under AddressSanitizer +
# UndefinedBehaviorSanitizer. The integration tests start their own Mosquitto,
# Knot and Unbound on loopback high ports and stop them, also on failure.
#
# Usage: scripts/test.sh [ctest arguments...]   e.g. scripts/test.sh -L unit
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh build test

jobs="$(nproc)"
run_suite() {
  local dir="$1"
  shift
  cmake -S . -B "$dir" -G Ninja -DDANEMQ_BUILD_FUZZ=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" "${CTEST_ARGS[@]}"
}
CTEST_ARGS=("$@")

echo "== normal build =="
run_suite build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DDANEMQ_SANITIZE=address,undefined -DDANEMQ_BUILD_BENCH=OFF
echo "== all suites passed =="
