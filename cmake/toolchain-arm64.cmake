# 64-bit ARM (Debian arm64: Raspberry Pi 3/4/5 with a 64-bit system).
# Used by scripts/cross-build.sh arm64.
set(DANEMQ_CROSS_ARCH arm64)
set(DANEMQ_CROSS_TRIPLET aarch64-linux-gnu)
set(DANEMQ_CROSS_PROCESSOR aarch64)
set(DANEMQ_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/cross-debian.cmake)
