#!/usr/bin/env bash
# Tests the project on ARM here, under the user-mode emulator:
#   scripts/cross-test.sh <arch> [unit|e2e|all]     (default: all)
# <arch> is arm64 or armhf. Builds what it needs with scripts/cross-build.sh,
# then
#   unit: every test labelled unit (ctest runs each suite through
#         qemu-user-static, set as the emulator by cmake/cross-debian.cmake);
#   e2e:  one end-to-end round trip: the cross-built test starts the host's
#         Mosquitto, Knot and Unbound (the test rig) and the ARM
#         danemq-receiver and danemq-sender under the emulator, and checks
#         that a message sent by one is stored and printed by the other.
# Each step's time is printed. Emulated, the ARM programs run several times
# slower than natively: the times say what the tests cost here, not how fast
# a device is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/cross-common.sh
source scripts/cross-common.sh
cross_arch "${1:-}"
what="${2:-all}"
case "$what" in
  unit) targets=(danemq_unit_tests) ;;
  e2e) targets=(e2e_delivery_tests) ;;
  all) targets=(danemq_unit_tests e2e_delivery_tests) ;;
  *)
    echo "usage: scripts/cross-test.sh <arch> [unit|e2e|all]" >&2
    exit 1
    ;;
esac
# The round trip: in both MQTT versions, alice's danemq-sender to bob's
# danemq-receiver through the rig's broker, with DANE from its DNSSEC zone.
round_trip='EndToEnd\.AliceToBobIsDeliveredAndPrinted'

started=$SECONDS
times=()
timed() {
  local name="$1" step_started=$SECONDS status=0
  shift
  printf '\n== %s %s ==\n' "$arch" "$name"
  "$@" || status=$?
  times+=("$(printf '%-28s %6ds' "$arch $name" "$((SECONDS - step_started))")")
  return "$status"
}
summary() {
  local status=$?
  printf '\n'
  printf '%s\n' "${times[@]}"
  printf '%-28s %6ds\n' "$arch total" "$((SECONDS - started))"
  ((status == 0)) && echo "cross-test $arch $what: passed" || echo "cross-test $arch $what: FAILED (exit $status)"
}
trap summary EXIT

jobs="$(nproc)"
timed build scripts/cross-build.sh "$arch" "${targets[@]}"
if [[ "$what" != e2e ]]; then
  timed "unit tests" ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$jobs" -L unit
fi
if [[ "$what" != unit ]]; then
  timed "round trip" ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -R "$round_trip"
fi
