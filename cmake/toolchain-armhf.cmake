# 32-bit ARM (Debian armhf, ARMv7 with hardware floating point: Raspberry Pi 2/3
# with a 32-bit system). 32-bit time_t, size_t and long on Debian 12.
# Used by scripts/cross-build.sh armhf.
set(DANEMQ_CROSS_ARCH armhf)
set(DANEMQ_CROSS_TRIPLET arm-linux-gnueabihf)
set(DANEMQ_CROSS_PROCESSOR armv7l)
set(DANEMQ_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/cross-debian.cmake)
# g++ notes every std::map iterator passed by value that GCC 7.1 began to pass
# differently on ARM: it matters only against code built by GCC 6, and
# everything here is built by Debian 12's GCC 12.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
