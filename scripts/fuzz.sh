#!/usr/bin/env bash
# Runs every libFuzzer target over its committed seed corpus for a bounded
# time, under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer on).
#
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target ...]
#
#   - configures build/fuzz with clang (-DDANEMQ_BUILD_FUZZ=ON, the danemq
#     libraries instrumented for coverage and built with the sanitizers) and
#     builds only the fuzz targets;
#   - runs each target for the given time over tests/fuzz/corpus/<corpus>
#     (read only: what the fuzzer finds goes to build/fuzz/corpus/<target>/);
#   - a crash, leak, UB report, timeout or out-of-memory leaves its input in
#     build/fuzz/crashes/<target>-<kind>-<sha1> and makes the script exit 1
#     after the other targets have run.
# Reproduce one: build/fuzz/bin/<target> build/fuzz/crashes/<file>
#
# FUZZ_BUILD=<dir> uses that build directory instead of configuring
# build/fuzz: one configured with clang, -DDANEMQ_BUILD_FUZZ=ON and
# -DDANEMQ_SANITIZE=address,undefined (tests may be on). scripts/test.sh runs
# `FUZZ_BUILD=build/asan scripts/fuzz.sh 10` as the regression stage, so the
# libraries are compiled once for the whole suite and the fuzz targets.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: $0 [seconds per target] [target ...]" >&2
  exit 2
fi
shift || true

# target -> its seed corpus under tests/fuzz/corpus/
declare -A corpus_of=(
  [jose_message_fuzz]=message
  [dane_answer_fuzz]=tlsa
  [dns_uri_fuzz]=dns_uri
  [config_env_fuzz]=config
  [receive_decision_fuzz]=receive
  [dnssec_answer_fuzz]=dnssec
  [mqtt_token_fuzz]=mqtt_token
)
targets=("$@")
((${#targets[@]})) || targets=(jose_message_fuzz dane_answer_fuzz dns_uri_fuzz config_env_fuzz receive_decision_fuzz dnssec_answer_fuzz mqtt_token_fuzz)
for target in "${targets[@]}"; do
  [[ -n "${corpus_of[$target]:-}" ]] || { echo "unknown fuzz target: $target" >&2; exit 2; }
done

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian packages clang, libclang-rt-14-dev)" >&2; exit 2; }
done

if [[ -n "${FUZZ_BUILD:-}" ]]; then
  build="$FUZZ_BUILD"
  grep -q '^DANEMQ_BUILD_FUZZ:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null ||
    { echo "FUZZ_BUILD=$build is not a build directory configured with -DDANEMQ_BUILD_FUZZ=ON" >&2; exit 2; }
else
  build=build/fuzz
  # -O1 with line tables, as libFuzzer's documentation suggests: crash reports
  # keep file:line, and the build takes a good part less time than with full -g.
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DDANEMQ_BUILD_FUZZ=ON -DDANEMQ_BUILD_TESTS=OFF -DDANEMQ_BUILD_BENCH=OFF \
    -DDANEMQ_SANITIZE=address,undefined >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

crashes="$build/crashes"
mkdir -p "$crashes"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

failed=()
summary=()
for target in "${targets[@]}"; do
  seeds="tests/fuzz/corpus/${corpus_of[$target]}"
  work="$build/corpus/$target"
  log="$build/$target.log"
  mkdir -p "$work"
  echo "== $target: ${seconds}s over $seeds"
  status=0
  "$build/bin/$target" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/$target-" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n1 || true)"
  if ((status != 0)); then
    failed+=("$target")
    summary+=("$target: FAILED (exit $status) after ${runs:-?} runs; see $log")
    tail -n 40 "$log" >&2
  else
    summary+=("$target: ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}, corpus $(find "$work" -type f | wc -l) new + $(find "$seeds" -type f | wc -l) seeds")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzzing found problems in: ${failed[*]}; inputs in $crashes/" >&2
  exit 1
fi
