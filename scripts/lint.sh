#!/usr/bin/env bash
# Static analysis with the checked-in configuration: cppcheck over the
# library and services, clang-tidy (.clang-tidy) over the same files using the
# compile commands of a build directory. Findings fail the run; suppress one
# only next to its line, with the reason (// cppcheck-suppress id, NOLINT(check)).
#
# Usage: scripts/lint.sh [build-dir]   (default build/test, configured if absent)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${1:-build/test}"
[[ -f "$build/compile_commands.json" ]] || cmake -S . -B "$build" -G Ninja >/dev/null

mapfile -t sources < <(git ls-files 'common/src/*.cpp' 'services/*.cpp')

echo "== cppcheck =="
cppcheck --std=c++20 --enable=warning,performance,portability --inline-suppr --error-exitcode=1 --quiet \
  --suppress=missingIncludeSystem -I common/include "${sources[@]}"

echo "== clang-tidy =="
# Generated headers and the config of the build must exist before clang-tidy reads compile_commands.json.
run-clang-tidy -quiet -p "$build" -j "$(nproc)" "${sources[@]/#/$root/}" >"$build/clang-tidy.log" 2>&1 || true
if grep -E '(warning|error):' "$build/clang-tidy.log" | grep -v '^Suppressed' ; then
  echo "clang-tidy reported findings (full log: $build/clang-tidy.log)"
  exit 1
fi
echo "static analysis clean"
