# Shared by cmake/toolchain-<arch>.cmake: cross-compiling with Debian 12's
# cross toolchain (crossbuild-essential-<arch>) against a sysroot holding the
# target's own Debian packages, which scripts/cross-build.sh extracts into
# build/sysroot-<arch>/ (not every -dev package can be installed next to the
# host's: libcjose-dev is not Multi-Arch). The toolchain file sets
# DANEMQ_CROSS_ARCH, DANEMQ_CROSS_TRIPLET, DANEMQ_CROSS_PROCESSOR and
# DANEMQ_CROSS_QEMU before including this.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${DANEMQ_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${DANEMQ_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${DANEMQ_CROSS_TRIPLET}-g++)

# Always the checkout's own sysroot: CMake re-reads this file for every
# check it compiles, without the cache, so a path computed here is the one
# every check sees.
get_filename_component(DANEMQ_CROSS_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-${DANEMQ_CROSS_ARCH}" ABSOLUTE)
if(NOT EXISTS "${DANEMQ_CROSS_SYSROOT}/usr/lib/${DANEMQ_CROSS_TRIPLET}")
  message(FATAL_ERROR "no sysroot at ${DANEMQ_CROSS_SYSROOT}: scripts/cross-build.sh ${DANEMQ_CROSS_ARCH} makes it")
endif()
set(CMAKE_SYSROOT "${DANEMQ_CROSS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${DANEMQ_CROSS_SYSROOT}")
# Programs (pkg-config, the servers the tests start) are the host's; headers,
# libraries and CMake packages only the target's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(ENV{PKG_CONFIG_SYSROOT_DIR} "${DANEMQ_CROSS_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${DANEMQ_CROSS_SYSROOT}/usr/lib/${DANEMQ_CROSS_TRIPLET}/pkgconfig:${DANEMQ_CROSS_SYSROOT}/usr/share/pkgconfig")
unset(ENV{PKG_CONFIG_PATH})

# binfmt_misc is not assumed: ctest and gtest_discover_tests run the target's
# programs through the user-mode emulator, which finds the target's dynamic
# loader and libraries in the sysroot (-L).
set(CMAKE_CROSSCOMPILING_EMULATOR ${DANEMQ_CROSS_QEMU} -L "${DANEMQ_CROSS_SYSROOT}")
