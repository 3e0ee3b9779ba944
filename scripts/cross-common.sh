# Sourced by scripts/cross-build.sh, cross-run.sh and cross-test.sh: what an
# architecture name means here. Sets arch, triplet, qemu, sysroot, build_dir
# from <arch> ($root is the checkout).
# shellcheck shell=bash disable=SC2034,SC2154
cross_arch() {
  case "${1:-}" in
    arm64) triplet=aarch64-linux-gnu qemu=qemu-aarch64-static ;;
    armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm-static ;;
    *)
      echo "unknown architecture '${1:-}': arm64 or armhf" >&2
      exit 1
      ;;
  esac
  arch="$1"
  sysroot="$root/build/sysroot-$arch"
  build_dir="$root/build/$arch"
}
