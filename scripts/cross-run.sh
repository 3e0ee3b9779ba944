#!/usr/bin/env bash
# Runs a program of the project cross-built by scripts/cross-build.sh under
# the user-mode emulator (qemu-user-static), with the target's libraries from
# build/sysroot-<arch>/; nothing runs transparently, as binfmt_misc is not
# assumed. Its exit status is the program's.
#   scripts/cross-run.sh <arch> <program> [args...]
# <program> is named as installed (danemq-maintenance, danemq-sender,
# send_message, ...: build/<arch>/bin/<program>) or is a path to any
# cross-built program (a test suite under build/<arch>/tests/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/cross-common.sh
source "$root/scripts/cross-common.sh"
cross_arch "${1:-}"
program="${2:?usage: scripts/cross-run.sh <arch> <program> [args...]}"
shift 2
[[ "$program" == */* ]] || program="$build_dir/bin/$program"
if [[ ! -x "$program" ]]; then
  echo "no program $program: build it with scripts/cross-build.sh $arch" >&2
  exit 1
fi
if [[ ! -d "$sysroot/usr/lib/$triplet" ]]; then
  echo "no sysroot $sysroot: scripts/cross-build.sh $arch makes it" >&2
  exit 1
fi
exec "$qemu" -L "$sysroot" "$program" "$@"
