#include "danemq/identity/dns_name.hpp"

#include <gtest/gtest.h>

namespace danemq::identity {
namespace {

TEST(DnsName, CanonicalFormIsLowercaseWithoutTrailingDot) {
  auto name = canonical_dns_name("Alice.Example.NET.");
  ASSERT_TRUE(name) << name.error().message();
  EXPECT_EQ(*name, "alice.example.net");
}

TEST(DnsName, AcceptsServiceLabelsAndSingleLabels) {
  EXPECT_TRUE(canonical_dns_name("abc123._device.example.net"));
  EXPECT_TRUE(canonical_dns_name("alice"));
  EXPECT_TRUE(canonical_dns_name("a-b.c-d.e"));
}

struct bad_name_case {
  std::string name;
  std::string reason_contains;
};

class DnsNameRefuses : public ::testing::TestWithParam<bad_name_case> {};

TEST_P(DnsNameRefuses, WithTheReason) {
  auto name = canonical_dns_name(GetParam().name);
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().code, errc::bad_dns_name);
  EXPECT_NE(name.error().detail.find(GetParam().reason_contains), std::string::npos) << name.error().detail;
}

INSTANTIATE_TEST_SUITE_P(BadNames, DnsNameRefuses,
                         ::testing::Values(bad_name_case{"", "empty name"}, bad_name_case{".", "empty name"},
                                           bad_name_case{"a..b", "empty label"}, bad_name_case{".a", "empty label"},
                                           bad_name_case{std::string(64, 'a') + ".example", "more than 63"},
                                           bad_name_case{std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                                             std::string(63, 'c') + "." + std::string(63, 'd'),
                                                         "more than 253"},
                                           bad_name_case{"al ice.example", "character"},
                                           bad_name_case{"alice!.example", "character"},
                                           bad_name_case{"caf\xc3\xa9.example", "character"},
                                           bad_name_case{"-alice.example", "'-'"},
                                           bad_name_case{"alice-.example", "'-'"}, bad_name_case{"a/b", "character"}));

TEST(DnsName, AcceptsExactlyTheLengthLimits) {
  EXPECT_TRUE(canonical_dns_name(std::string(63, 'a') + ".example"));
  // 63+1+63+1+63+1+61 = 253 octets.
  const std::string longest =
      std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(longest.size(), 253U);
  EXPECT_TRUE(canonical_dns_name(longest));
  EXPECT_TRUE(canonical_dns_name(longest + "."));
}

}  // namespace
}  // namespace danemq::identity
