#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. installs what is missing (apt: deps/build.txt and deps/test.txt;
#      npm: deps/node.txt into build/node, for the deployment tests),
#   2. formatting: clang-format (.clang-format) over every tracked C++ file,
#      any difference fails (seconds, before any build),
#   3. static analysis: cppcheck (checked-in settings, scripts/lint.sh),
#   4. optimised build (g++ -O2, -Werror) of the library, the services and
#      the benchmarks: the warnings g++ gives only when optimising; then
#      clang-tidy (checked-in .clang-tidy) over the sources changed since the
#      last clean full run recorded in .ci/clang-tidy-baseline
#      (CLANG_TIDY=all: every source; several minutes),
#   5. AddressSanitizer + UndefinedBehaviorSanitizer build (clang, -Werror):
#      the whole suite; the same build holds the libFuzzer targets,
#   6. ThreadSanitizer build (clang, -Werror): the end-to-end tests (label
#      e2e), where the receiver's pipeline, the MQTT thread and the committer
#      run at once,
#   7. a clustered broker (label cluster, in the ASan build): a three-node
#      RabbitMQ cluster on loopback with the receiver and senders failing
#      over between its nodes; its own stage, as the cluster takes half a
#      minute to start,
#   8. libFuzzer regression: every fuzz target over its corpus for a short
#      time (scripts/fuzz.sh, in the ASan build of stage 5; FUZZ_ALONGSIDE=1
#      runs it while that suite runs),
#   8. 64-bit ARM: the project cross-built for arm64 against Debian's arm64
#      libraries and the unit tests run under qemu-user
#      (scripts/cross-test.sh arm64 unit; armhf and the end-to-end round
#      trip: scripts/cross-test.sh <arch>, not in CI for its time).
#   9. with STAGES_EXTRA=images: every Dockerfile target built with buildah
#      from a debootstrap base, the service images run, a message from a
#      sender container to a receiver container (scripts/build-images.sh).
# The sanitizer builds use clang: it compiles them about twice as fast as
# g++ 12; g++'s own warnings come from stage 4. Each stage's time and the
# total are printed at the end, also when a stage fails.
# The integration tests start their own Mosquitto, Knot and Unbound on
# loopback high ports and stop them, also on failure.
#
# Usage: scripts/test.sh [ctest arguments...]   e.g. scripts/test.sh -L unit
# SKIP_STAGES="tsan fuzz" skips stages by name (format lint build asan
# cluster tsan fuzz arm64); STAGES_EXTRA="normal images" adds the whole suite
# on the optimised build, and the images stage.
# ASAN_CTEST_JOBS sets how many tests run at once in the ASan stage (default:
# the processors). Twice as many take a good part less time, as those tests
# mostly wait on their servers, but make the test rig's free-port race (a
# port from the ephemeral range, released before the server binds it) more
# likely; raise the default once the rig keeps its ports.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh build test
# Balena's compose parser for the deployment tests; where Node is older than
# 20.6 (exit 2) those tests say so and skip.
node_status=0
scripts/install-node-deps.sh || node_status=$?
((node_status == 0 || node_status == 2)) || exit "$node_status"

jobs="$(nproc)"
# A leak inside libldns itself is suppressed (see tests/lsan.supp); fuzz.sh inherits it.
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
ctest_args=("$@")
started=$SECONDS
stage_names=()
stage_seconds=()
stage_started=""
stage_end() {
  if [[ -n "$stage_started" ]]; then
    stage_seconds+=("$((SECONDS - stage_started))")
  fi
  stage_started=""
}
stage() {
  stage_end
  printf '\n== %s (at %ds) ==\n' "$2" "$((SECONDS - started))"
  stage_names+=("$1")
  stage_started=$SECONDS
}
summary() {
  local status=$?
  [[ -z "${fuzz_pid:-}" ]] || kill "$fuzz_pid" 2>/dev/null || true
  stage_end
  printf '\n%-10s %8s\n' stage seconds
  local i
  for i in "${!stage_seconds[@]}"; do
    printf '%-10s %8d\n' "${stage_names[$i]}" "${stage_seconds[$i]}"
  done
  local total=$((SECONDS - started))
  printf '%-10s %8d  (%dm%02ds)\n' total "$total" "$((total / 60))" "$((total % 60))"
  if ((status == 0 && completed)); then
    echo "all stages passed"
  else
    local last=setup
    ((${#stage_names[@]} == 0)) || last="${stage_names[-1]}"
    echo "FAILED in stage $last (exit $status)"
  fi
}
completed=0
trap summary EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wanted() { [[ " ${SKIP_STAGES:-} " != *" $1 "* ]]; }
extra() { [[ " ${STAGES_EXTRA:-} " == *" $1 "* ]]; }

# configure <dir> <C++ compiler> [cmake arguments...]
configure() {
  local dir="$1" cxx
  cxx="$(command -v "$2")"
  shift 2
  # A build directory the developer reuses may hold another compiler's cache.
  if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=$cxx\$" "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  # Warnings are errors here only: a user's build, the images and the demo
  # build without -Werror, so that a new compiler's new warning (or g++'s
  # false positives at -O3) does not stop them.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER:FILEPATH="$cxx" -DDANEMQ_WERROR=ON -DDANEMQ_BUILD_FUZZ=OFF "$@" >/dev/null
}
# run_ctest <dir> <parallel tests> [ctest arguments...]
run_ctest() {
  local dir="$1" parallel="$2"
  shift 2
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$parallel" "$@" "${ctest_args[@]}"
}

if wanted format; then
  stage format "formatting (clang-format)"
  scripts/lint.sh --only format
fi

if wanted lint; then
  stage cppcheck "static analysis (cppcheck)"
  scripts/lint.sh --only cppcheck
fi

if wanted build; then
  stage build "optimised build (g++ -O2): library, services, benchmarks"
  # RelWithDebInfo's -O2 without the debug information nobody reads here.
  configure build/test g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG"
  cmake --build build/test -j "$jobs" --target danemq_programs
  # The end-to-end test that moves a receiver's clock with libfaketime runs
  # this build's receiver from the sanitized suites (libfaketime 0.9.10 can
  # deadlock in a sanitized process).
  export DANEMQ_PLAIN_BIN_DIR="$root/build/test/bin"
  if [[ "${CLANG_TIDY:-changed}" == all ]]; then
    stage clang-tidy "static analysis (clang-tidy, every source)"
    scripts/lint.sh --only clang-tidy build/test
  else
    stage clang-tidy "static analysis (clang-tidy, sources changed since .ci/clang-tidy-baseline)"
    scripts/lint.sh --only clang-tidy --changed build/test
  fi
  if extra normal; then
    stage normal "whole suite on the optimised build"
    cmake --build build/test -j "$jobs"
    run_ctest build/test "$jobs"
  fi
fi

if wanted asan || wanted fuzz; then
  stage asan-build "AddressSanitizer + UndefinedBehaviorSanitizer build (clang): the suite and the fuzz targets"
  # Debug (-O0): the suite's time is spent in OpenSSL and waiting, not in our
  # code. The libFuzzer targets share the instrumented libraries (their
  # coverage instrumentation costs the suite little).
  configure build/asan clang++ -DCMAKE_BUILD_TYPE=Debug -DDANEMQ_SANITIZE=address,undefined \
    -DDANEMQ_BUILD_BENCH=OFF -DDANEMQ_BUILD_FUZZ=ON
  if wanted asan; then
    cmake --build build/asan -j "$jobs"
  else
    cmake --build build/asan -j "$jobs" --target jose_message_fuzz dane_answer_fuzz dns_uri_fuzz config_env_fuzz \
      receive_decision_fuzz dnssec_answer_fuzz mqtt_token_fuzz
  fi
fi

if wanted asan; then
  fuzz_status=0
  if wanted fuzz && [[ "${FUZZ_ALONGSIDE:-0}" == 1 ]]; then
    # The suite mostly waits on its servers (under half the processors'
    # time), so the fuzz regression, which needs one processor for about 40 s,
    # can run alongside it; not by default: a starved suite makes the
    # timing-sensitive fault tests flakier than 40 s are worth.
    stage asan+fuzz "AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite, and the libFuzzer regression alongside"
    FUZZ_BUILD=build/asan scripts/fuzz.sh 10 >build/asan/fuzz-regression.log 2>&1 &
    fuzz_pid=$!
  else
    stage asan "AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite"
  fi
  asan_status=0
  asan_ctest=()
  wanted cluster && asan_ctest=(-LE cluster)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest build/asan "${ASAN_CTEST_JOBS:-$jobs}" "${asan_ctest[@]}" || asan_status=$?
  if [[ -n "${fuzz_pid:-}" ]]; then
    wait "$fuzz_pid" || fuzz_status=$?
    fuzz_pid=""
    echo "-- libFuzzer regression (scripts/fuzz.sh 10):"
    cat build/asan/fuzz-regression.log
  fi
  ((asan_status == 0 && fuzz_status == 0)) || exit 1
fi

if wanted asan && wanted cluster; then
  stage cluster "a three-node RabbitMQ cluster: failover under load (ASan build)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest build/asan 1 -L cluster
fi

if wanted tsan; then
  stage tsan "ThreadSanitizer build (clang) and the end-to-end tests"
  configure build/tsan clang++ -DCMAKE_BUILD_TYPE=Debug -DDANEMQ_SANITIZE=thread -DDANEMQ_BUILD_BENCH=OFF
  cmake --build build/tsan -j "$jobs" --target danemq_e2e_tests
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp" \
    run_ctest build/tsan "$jobs" -L e2e
fi

if wanted fuzz && { ! wanted asan || [[ "${FUZZ_ALONGSIDE:-0}" != 1 ]]; }; then
  stage fuzz "libFuzzer regression (clang, ASan + UBSan)"
  FUZZ_BUILD=build/asan scripts/fuzz.sh 10
fi

if wanted arm64; then
  stage arm64 "64-bit ARM: cross-built (arm64), the unit tests under qemu-user"
  scripts/cross-test.sh arm64 unit
fi

# Opt-in (STAGES_EXTRA=images): on the shared two-core machines the first
# run takes about 50 minutes (the Release build in the image alone 25), far
# beyond the CI budget; a second run reuses the base image and cached layers.
if extra images; then
  stage images "the images built with buildah and run (scripts/build-images.sh)"
  scripts/build-images.sh
fi

completed=1
