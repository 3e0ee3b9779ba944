#!/usr/bin/env bash
# Formatting and static analysis with the checked-in configuration, each
# declared here once (scripts/test.sh runs these checks through this script):
#   format      clang-format (.clang-format) over every tracked C++ file:
#               any difference fails;
#   cppcheck    over the library and services;
#   clang-tidy  (.clang-tidy) over the same files, using the compile commands
#               of a build directory.
# Findings fail the run; suppress one only next to its line, with the reason
# (// cppcheck-suppress id, NOLINT(check)).
#
# Usage: scripts/lint.sh [--only format|cppcheck|clang-tidy] [--changed] [build-dir]
#   build-dir: for clang-tidy (default build/test, configured if absent).
#   --changed: clang-tidy only over what changed since the commit recorded in
#   .ci/clang-tidy-baseline (the last commit whose full run was clean): the
#   changed sources, and the sources that include a changed header. A full run
#   takes several minutes on two cores; after one is clean, record its commit
#   there. Without a usable baseline, --changed checks everything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
only=""
changed=0
while (($#)); do
  case "$1" in
    --only)
      only="${2:-}"
      shift 2 || { echo "--only needs format, cppcheck or clang-tidy" >&2; exit 2; }
      ;;
    --changed)
      changed=1
      shift
      ;;
    *) break ;;
  esac
done
case "$only" in
  "" | format | cppcheck | clang-tidy) ;;
  *) echo "unknown check: $only (format, cppcheck or clang-tidy)" >&2; exit 2 ;;
esac
build="${1:-build/test}"
runs() { [[ -z "$only" || "$only" == "$1" ]]; }

mapfile -t sources < <(git ls-files 'common/src/*.cpp' 'services/*.cpp')

if runs format; then
  echo "== clang-format =="
  mapfile -t cxx_files < <(git ls-files '*.cpp' '*.hpp')
  if ! clang-format --dry-run --Werror "${cxx_files[@]}"; then
    echo "formatting differs from .clang-format; fix: clang-format -i \$(git ls-files '*.cpp' '*.hpp')" >&2
    exit 1
  fi
fi

if runs cppcheck; then
  echo "== cppcheck =="
  cppcheck --std=c++20 --enable=warning,performance,portability --inline-suppr --error-exitcode=1 --quiet \
    --suppress=missingIncludeSystem -I common/include "${sources[@]}"
fi

if ! runs clang-tidy; then
  exit 0
fi
[[ -f "$build/compile_commands.json" ]] || cmake -S . -B "$build" -G Ninja >/dev/null
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
