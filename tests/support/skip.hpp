#pragma once
// Skipping a test whose prerequisite this machine lacks (a program, root, a
// mount). ctest shows a GoogleTest skip as "Not Run", never as "Passed"; and
// under CI (CI=true), which runs where every prerequisite is provided, the
// skip is a failure, so a test CI can run is never silently left out.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace danemq::test {

/// True when running under CI (the environment variable CI is "true").
[[nodiscard]] inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

}  // namespace danemq::test

/// Skips the current test saying `reason` (anything streamable), or fails it under CI.
#define DANEMQ_SKIP_UNLESS_CI(reason)                                                      \
  do {                                                                                     \
    if (::danemq::test::in_ci()) {                                                         \
      GTEST_FAIL() << "CI=true, where every test must run, but it would skip: " << reason; \
    } else {                                                                               \
      GTEST_SKIP() << reason;                                                              \
    }                                                                                      \
  } while (false)
