#include "danemq/identity/name_allow_list.hpp"

#include <gtest/gtest.h>

#include "danemq/identity/errors.hpp"

namespace danemq::identity {
namespace {

name_allow_list parsed(std::string_view list) {
  auto result = name_allow_list::parse(list);
  EXPECT_TRUE(result) << list << ": " << (result ? "" : result.error().message());
  return result ? *result : name_allow_list{};
}

TEST(NameAllowList, EmptyAllowsAnyone) {
  for (const char* list : {"", "  ", "\t"}) {
    const auto allowed = parsed(list);
    EXPECT_TRUE(allowed.allows_anyone());
    EXPECT_TRUE(allowed.allows("anyone.example.net"));
  }
}

TEST(NameAllowList, ExactNamesMatchOnlyThemselvesInCanonicalForm) {
  const auto allowed = parsed("Alice.Example.NET., bob.example.net");
  EXPECT_TRUE(allowed.allows("alice.example.net"));
  EXPECT_TRUE(allowed.allows("bob.example.net"));
  EXPECT_FALSE(allowed.allows("mallory.example.net"));
  EXPECT_FALSE(allowed.allows("x.alice.example.net"));
  EXPECT_FALSE(allowed.allows("example.net"));
  EXPECT_FALSE(allowed.allows_anyone());
  EXPECT_EQ(allowed.to_string(), "alice.example.net,bob.example.net");
}

TEST(NameAllowList, ZonePatternMatchesEveryNameBelowTheZoneAtAnyDepthButNotTheZone) {
  const auto allowed = parsed("*._device.example.net");
  EXPECT_TRUE(allowed.allows("abc123._device.example.net"));
  EXPECT_TRUE(allowed.allows("a.b.c._device.example.net"));
  EXPECT_FALSE(allowed.allows("_device.example.net"));
  EXPECT_FALSE(allowed.allows("evil_device.example.net"));  // a label boundary, not a suffix of text
  EXPECT_FALSE(allowed.allows("abc123._device.example.net.evil.org"));
  EXPECT_FALSE(allowed.allows("other.example.net"));
  EXPECT_EQ(allowed.to_string(), "*._device.example.net");
}

TEST(NameAllowList, MixesNamesAndPatternsAndReadsItsOwnOutputBack) {
  const auto allowed = parsed(" *.fleet.example.net ,operator.example.org");
  EXPECT_TRUE(allowed.allows("operator.example.org"));
  EXPECT_TRUE(allowed.allows("pi7.fleet.example.net"));
  EXPECT_FALSE(allowed.allows("x.operator.example.org"));
  EXPECT_EQ(parsed(allowed.to_string()).to_string(), allowed.to_string());
}

TEST(NameAllowList, RefusesEntriesThatAreNotNamesOrZonePatterns) {
  for (const char* list : {"a.example,,b.example", "a.example,", "*", "*.", "a.*.example", "*example.net",
                           "**.example.net", "bad name.example", "-x.example", "a..example"}) {
    auto result = name_allow_list::parse(list);
    ASSERT_FALSE(result) << list;
    EXPECT_EQ(result.error().code, make_error_code(errc::bad_dns_name)) << list;
    EXPECT_NE(result.error().detail.find("allowed names"), std::string::npos) << list;
  }
}

}  // namespace
}  // namespace danemq::identity
