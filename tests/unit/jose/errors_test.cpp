#include "danemq/jose/errors.hpp"

#include <gtest/gtest.h>

namespace danemq::jose {
namespace {

TEST(JoseErrors, EveryCodeHasAMessageInTheJoseCategory) {
  for (int value = 0; value <= static_cast<int>(errc::internal_error); ++value) {
    const std::error_code code = make_error_code(static_cast<errc>(value));
    EXPECT_STREQ(code.category().name(), "jose");
    EXPECT_NE(code.message(), "unknown error") << value;
  }
  EXPECT_EQ(fail(errc::replay, "jti x").message(), "message replayed: jti x");
}

TEST(JoseErrors, OnlyDnsTroubleAndReplayMemoryFailuresAreTemporary) {
  for (int value = 0; value <= static_cast<int>(errc::internal_error); ++value) {
    const auto code = static_cast<errc>(value);
    const bool expected = code == errc::lookup_temporarily_failed || code == errc::replay_memory_failed;
    EXPECT_EQ(is_temporary(make_error_code(code)), expected) << make_error_code(code).message();
  }
  EXPECT_TRUE(is_temporary(fail(errc::lookup_temporarily_failed, "timeout")));
  // Codes of other categories with the same value are not ours.
  EXPECT_FALSE(
      is_temporary(std::make_error_code(static_cast<std::errc>(static_cast<int>(errc::lookup_temporarily_failed)))));
}

}  // namespace
}  // namespace danemq::jose
