#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. installs what is missing (apt; deps/build.txt and deps/test.txt),
#   2. static analysis: cppcheck (checked-in settings),
#   3. optimised build (g++ RelWithDebInfo, -Werror) of the library, the
#      services and the benchmarks: the warnings g++ gives only when optimising;
#      then clang-tidy (checked-in .clang-tidy) over the sources changed since
#      the last clean full run recorded in .ci/clang-tidy-baseline
#      (CLANG_TIDY=all: every source; several minutes),
#   4. AddressSanitizer + UndefinedBehaviorSanitizer build: the whole suite,
#   5. ThreadSanitizer build: the end-to-end tests (label e2e), where the
#      receiver's pipeline, the MQTT thread and the committer run at once,
#   6. libFuzzer regression: every fuzz target over its corpus for a short time.
# The integration tests start their own Mosquitto, Knot and Unbound on
# loopback high ports and stop them, also on failure.
#
# Usage: scripts/test.sh [ctest arguments...]   e.g. scripts/test.sh -L unit
# SKIP_STAGES="tsan fuzz" skips stages by name (lint build asan tsan fuzz);
# STAGES_EXTRA="normal" adds the whole suite on the optimised build too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh build test

jobs="$(nproc)"
ctest_args=("$@")
started=$SECONDS
stage() { printf '\n== %s (at %ds) ==\n' "$1" "$((SECONDS - started))"; }
wanted() { [[ " ${SKIP_STAGES:-} " != *" $1 "* ]]; }
extra() { [[ " ${STAGES_EXTRA:-} " == *" $1 "* ]]; }

configure() {
  local dir="$1"
  shift
  # Warnings are errors here; the images and the demo build without -Werror
  # so that a new compiler's new warning does not stop a user's build.
  cmake -S . -B "$dir" -G Ninja -DDANEMQ_WERROR=ON -DDANEMQ_BUILD_FUZZ=OFF "$@" >/dev/null
}
run_ctest() {
  local dir="$1"
  shift
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" "$@" "${ctest_args[@]}"
}

if wanted lint; then
  stage "static analysis (cppcheck)"
  mapfile -t sources < <(git ls-files 'common/src/*.cpp' 'services/*.cpp')
  cppcheck --std=c++20 --enable=warning,performance,portability --inline-suppr --error-exitcode=1 --quiet \
    --suppress=missingIncludeSystem -I common/include "${sources[@]}"
fi

if wanted build; then
  stage "optimised build (g++, RelWithDebInfo): library, services, benchmarks"
  # -O2 as RelWithDebInfo, without the debug information nobody reads here.
  configure build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG"
  cmake --build build/test -j "$jobs" --target danemq_programs
  if [[ "${CLANG_TIDY:-changed}" == all ]]; then
    stage "static analysis (clang-tidy, every source)"
    scripts/lint.sh build/test
  else
    stage "static analysis (clang-tidy, sources changed since .ci/clang-tidy-baseline)"
    scripts/lint.sh --changed build/test
  fi
  if extra normal; then
    stage "whole suite on the optimised build"
    cmake --build build/test -j "$jobs"
    run_ctest build/test
  fi
fi

if wanted asan; then
  stage "AddressSanitizer + UndefinedBehaviorSanitizer build (g++): the whole suite"
  # Debug (-O0): g++ 12 compiles sanitized code about three times faster than
  # at -O1, and the suite's time is spent in OpenSSL and waiting, not in ours.
  configure build/asan -DCMAKE_BUILD_TYPE=Debug -DDANEMQ_SANITIZE=address,undefined \
    -DDANEMQ_BUILD_BENCH=OFF
  cmake --build build/asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest build/asan
fi

if wanted tsan; then
  stage "ThreadSanitizer build (g++): end-to-end tests"
  configure build/tsan -DCMAKE_BUILD_TYPE=Debug -DDANEMQ_SANITIZE=thread -DDANEMQ_BUILD_BENCH=OFF
  cmake --build build/tsan -j "$jobs" --target danemq_e2e_tests
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp" \
    run_ctest build/tsan -L e2e
fi

if wanted fuzz; then
  stage "libFuzzer regression (clang, ASan + UBSan)"
  if [[ -x scripts/fuzz.sh ]]; then
    scripts/fuzz.sh 10
  else
    echo "scripts/fuzz.sh not present: no fuzz stage"
  fi
fi

stage "all stages passed"
