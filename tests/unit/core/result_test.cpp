#include "danemq/core/result.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "danemq/identity/errors.hpp"

namespace danemq {
namespace {

result<int> half(int value) {
  if (value % 2 != 0) return fail(identity::errc::bad_dns_name, "odd: " + std::to_string(value));
  return value / 2;
}

TEST(Result, CarriesAValue) {
  auto r = half(8);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 4);
}

TEST(Result, CarriesATypedFailureWithItsDetail) {
  auto r = half(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, identity::errc::bad_dns_name);
  EXPECT_EQ(r.error().message(), "invalid DNS name: odd: 3");
  EXPECT_THROW((void)r.value(), bad_result_access);
}

TEST(Result, HoldsMoveOnlyValues) {
  result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  auto owned = std::move(r).value();
  EXPECT_EQ(*owned, 7);
}

TEST(Result, VoidResultIsSuccessOrFailure) {
  result<void> good = ok();
  EXPECT_TRUE(good);
  result<void> bad = fail(identity::errc::file_exists);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "file exists");
}

}  // namespace
}  // namespace danemq
