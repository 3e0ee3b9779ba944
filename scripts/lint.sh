#!/usr/bin/env bash
# Static analysis with the checked-in configuration: cppcheck over the
# library and services, clang-tidy (.clang-tidy) over the same files using the
# compile commands of a build directory. Findings fail the run; suppress one
# only next to its line, with the reason (// cppcheck-suppress id, NOLINT(check)).
#
# Usage: scripts/lint.sh [--changed] [build-dir]   (default build/test, configured if absent)
#   --changed: clang-tidy only over what changed since the commit recorded in
#   .ci/clang-tidy-baseline (the last commit whose full run was clean): the
#   changed sources, and the sources that include a changed header. A full run
#   takes several minutes on two cores; after one is clean, record its commit
#   there. Without a usable baseline, --changed checks everything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
changed=0
if [[ "${1:-}" == "--changed" ]]; then
  changed=1
  shift
fi
build="${1:-build/test}"
[[ -f "$build/compile_commands.json" ]] || cmake -S . -B "$build" -G Ninja >/dev/null

mapfile -t sources < <(git ls-files 'common/src/*.cpp' 'services/*.cpp')

echo "== cppcheck =="
cppcheck --std=c++20 --enable=warning,performance,portability --inline-suppr --error-exitcode=1 --quiet \
  --suppress=missingIncludeSystem -I common/include "${sources[@]}"

baseline="$(sed -n 's/^\([0-9a-f]\{40\}\).*/\1/p' .ci/clang-tidy-baseline 2>/dev/null | head -n 1)"
if ((changed)) && [[ -n "$baseline" ]] && git cat-file -e "$baseline^{commit}" 2>/dev/null; then
  mapfile -t touched < <(git diff --name-only "$baseline" -- common services .clang-tidy)
  if printf '%s\n' "${touched[@]}" | grep -qx '.clang-tidy'; then
    echo "== clang-tidy: .clang-tidy changed since $baseline, checking everything =="
  else
    selected=()
    for source in "${sources[@]}"; do
      for file in "${touched[@]}"; do
        if [[ "$file" == "$source" ]] ||
          { [[ "$file" == *.hpp ]] && grep -q "#include \"\(danemq/\)\?\(${file##*/include/}\|${file##*/}\)\"" "$source"; }; then
          selected+=("$source")
          break
        fi
      done
    done
    echo "== clang-tidy: ${#selected[@]} of ${#sources[@]} sources changed since ${baseline:0:12} =="
    sources=("${selected[@]}")
  fi
else
  echo "== clang-tidy: all ${#sources[@]} sources =="
fi

if ((${#sources[@]} > 0)); then
  run-clang-tidy -quiet -p "$build" -j "$(nproc)" "${sources[@]/#/$root/}" >"$build/clang-tidy.log" 2>&1 || true
  if sed 's/\x1b\[[0-9;]*m//g' "$build/clang-tidy.log" | grep -E '(warning|error):' | sort -u; then
    echo "clang-tidy reported findings (full log: $build/clang-tidy.log)"
    exit 1
  fi
fi
echo "static analysis clean"
