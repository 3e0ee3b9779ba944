#!/usr/bin/env bash
# Cross-compiles the project for ARM with Debian 12's cross toolchain into
# build/<arch>/ (programs in build/<arch>/bin/):
#   scripts/cross-build.sh <arch> [cmake --build targets...]
# <arch> is arm64 or armhf; without targets, everything (library, services,
# unit and integration tests; no benchmarks). Run what it builds with
# scripts/cross-run.sh, test it with scripts/cross-test.sh.
# The target's libraries come from Debian's archive for that architecture:
# deps/cross-target.txt and every -dev package of deps/build.txt, with what
# they depend on, downloaded by apt (its own state under build/, the host's
# dpkg untouched) and extracted into build/sysroot-<arch>/, again only when
# that list changes. Each step's time is printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/cross-common.sh
source scripts/cross-common.sh
cross_arch "${1:-}"
shift
started=$SECONDS
step_started=$SECONDS
step_done() {
  printf -- '-- %s: %ds\n' "$1" "$((SECONDS - step_started))"
  step_started=$SECONDS
}

scripts/install-deps.sh build cross
step_done "host packages"

# The packages, and this script's way of making the sysroot (bump the
# version when it changes): the sysroot is remade when either changes.
sysroot_recipe() {
  echo "recipe 1 $arch"
  {
    grep -E -- '-dev$' deps/build.txt
    grep -vE '^[[:space:]]*(#|$)' deps/cross-target.txt
  } | sort -u
}
make_sysroot() {
  local apt_dir="$root/build/sysroot-$arch.apt" fresh="$sysroot.new"
  local apt_options=(
    -q -y
    -o "Dir::State=$apt_dir/state" -o "Dir::State::status=$apt_dir/status" -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
    -o APT::Install-Recommends=false -o APT::Sandbox::User=root
  )
  rm -rf "$apt_dir" "$fresh"
  mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$fresh"
  : >"$apt_dir/status"
  # The host's sources, read for the target's architecture; with an empty
  # package status, apt downloads the whole closure of what is asked.
  local packages
  mapfile -t packages < <(sysroot_recipe | tail -n +2)
  apt-get "${apt_options[@]}" update >/dev/null
  apt-get "${apt_options[@]}" install --download-only "${packages[@]}" >/dev/null
  local deb
  for deb in "$apt_dir"/cache/archives/*.deb; do
    dpkg-deb -x "$deb" "$fresh"
  done
  # Absolute links (/usr/lib/<triplet>/libfoo.so -> /lib/...) would leave the
  # sysroot for the host's files: make them relative.
  local link target
  while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$fresh$target")" "$link"
  done < <(find "$fresh" -type l -lname '/*' -print0)
  sysroot_recipe >"$fresh/.danemq-recipe"
  echo "sysroot $sysroot: $(find "$apt_dir"/cache/archives -name '*.deb' | wc -l) packages"
  rm -rf "$sysroot" "$apt_dir"
  mv "$fresh" "$sysroot"
}
if [[ -f "$sysroot/.danemq-recipe" ]] && diff -q <(sysroot_recipe) "$sysroot/.danemq-recipe" >/dev/null; then
  step_done "sysroot (up to date)"
else
  make_sysroot
  step_done "sysroot (extracted)"
fi

# Optimised, warnings as errors (as scripts/test.sh's build): the 32-bit
# target's own warnings (narrowing size_t, time_t) count.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-$arch.cmake" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
  -DDANEMQ_WERROR=ON -DDANEMQ_BUILD_BENCH=OFF -DDANEMQ_BUILD_FUZZ=OFF >/dev/null
step_done "configure"
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
step_done "build${*:+ ($*)}"
printf -- '-- cross-build %s: %ds in all\n' "$arch" "$((SECONDS - started))"
