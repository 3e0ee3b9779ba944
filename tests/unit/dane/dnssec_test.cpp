#include "danemq/dane/dnssec.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/skip.hpp"
#include "unit/dane/dns_packets.hpp"

namespace danemq::dane {
namespace {

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

constexpr const char* anchor_ds =
    "example.test. IN DS 61478 13 2 2243abc42ea18aa913328905558dff55c351fa24bfb911725cef50225dd92c46\n";
constexpr const char* hash = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

std::shared_ptr<const stub_resolver> unreachable_resolver() {
  // Nothing is asked in these tests: an unsigned answer needs no key.
  return std::make_shared<const stub_resolver>(
      resolver_options{{"127.0.0.1", 9}, std::chrono::milliseconds(50), 0, 1232});
}

TEST(DnssecMode, ParsesTheTwoModes) {
  EXPECT_EQ(*parse_dnssec_mode("resolver"), dnssec_mode::resolver);
  EXPECT_EQ(*parse_dnssec_mode("local"), dnssec_mode::local);
  EXPECT_TRUE(failed_with(parse_dnssec_mode("on"), errc::bad_configuration));
  EXPECT_EQ(to_string(dnssec_mode::local), "local");
  EXPECT_EQ(to_string(dnssec_status::bogus), "bogus");
}

TEST(LocalValidator, LoadsDsAndDnskeyAnchorsAndSkipsTheRest) {
  test::temp_dir dir;
  const auto path = dir.path() / "anchors";
  std::ofstream(path) << "; a comment\n$TTL 3600\n"
                      << anchor_ds
                      << "example.test. 3600 IN DNSKEY 257 3 13 "
                         "d9T9IkXUsK+Ub96JBOjIUkFJYx8b5+Qy9QVtN+kTlfvHDoFQNbhW3CfSRSW1Eo9hTqmEU58GKj22HxpAxAFqfw==\n"
                      << "example.test. 3600 IN A 192.0.2.1\n\n";
  auto validator = local_validator::create(path, unreachable_resolver());
  ASSERT_TRUE(validator) << validator.error().message();
  EXPECT_EQ((*validator)->anchor_count(), 2u);
}

TEST(LocalValidator, LoadsDebiansRootAnchorWhenInstalled) {
  if (!std::filesystem::exists(default_trust_anchor)) DANEMQ_SKIP_UNLESS_CI("dns-root-data not installed");
  auto validator = local_validator::create(default_trust_anchor, unreachable_resolver());
  ASSERT_TRUE(validator) << validator.error().message();
  EXPECT_GE((*validator)->anchor_count(), 1u);
}

TEST(LocalValidator, RefusesAMissingOrEmptyAnchorFile) {
  test::temp_dir dir;
  EXPECT_TRUE(
      failed_with(local_validator::create(dir.path() / "missing", unreachable_resolver()), errc::bad_configuration));
  const auto empty = dir.path() / "empty";
  std::ofstream(empty) << "; nothing\nexample.test. IN A 192.0.2.1\n";
  EXPECT_TRUE(failed_with(local_validator::create(empty, unreachable_resolver()), errc::bad_configuration));
  const auto broken = dir.path() / "broken";
  std::ofstream(broken) << "example.test. IN DS not a record\n";
  EXPECT_TRUE(failed_with(local_validator::create(broken, unreachable_resolver()), errc::bad_configuration));
}

TEST(LocalValidator, CallsAnUnsignedAnswerBogusWithoutTheProofOfAnUnsignedDelegation) {
  test::temp_dir dir;
  const auto path = dir.path() / "anchors";
  std::ofstream(path) << anchor_ds;
  auto validator = local_validator::create(path, unreachable_resolver());
  ASSERT_TRUE(validator);
  // Under the anchor: insecure only if the chain of trust provably ends above
  // it, which nothing here can show.
  auto wire = testing::make_response(
      {.name = "dev.example.test", .answer = {std::string("dev.example.test. 60 IN TLSA 3 1 1 ") + hash}});
  const auto verdict = (*validator)->validate(wire, "dev.example.test", rr_type::tlsa);
  EXPECT_EQ(verdict.status, dnssec_status::bogus);
  EXPECT_NE(verdict.reason.find("no RRSIG"), std::string::npos) << verdict.reason;
}

TEST(LocalValidator, CallsAnUnsignedAnswerOutsideEveryAnchorInsecure) {
  test::temp_dir dir;
  const auto path = dir.path() / "anchors";
  std::ofstream(path) << anchor_ds;
  auto validator = local_validator::create(path, unreachable_resolver());
  ASSERT_TRUE(validator);
  auto wire = testing::make_response(
      {.name = "dev.other.test", .answer = {std::string("dev.other.test. 60 IN TLSA 3 1 1 ") + hash}});
  const auto verdict = (*validator)->validate(wire, "dev.other.test", rr_type::tlsa);
  EXPECT_EQ(verdict.status, dnssec_status::insecure);
  EXPECT_NE(verdict.reason.find("no trust anchor covers"), std::string::npos) << verdict.reason;
}

TEST(LocalValidator, CallsAnUnprovenDenialBogus) {
  test::temp_dir dir;
  const auto path = dir.path() / "anchors";
  std::ofstream(path) << anchor_ds;
  auto validator = local_validator::create(path, unreachable_resolver());
  ASSERT_TRUE(validator);
  // NODATA (NOERROR, nothing in the answer) without NSEC/NSEC3 records.
  auto wire = testing::make_response({.name = "dev.example.test"});
  const auto verdict = (*validator)->validate(wire, "dev.example.test", rr_type::tlsa);
  EXPECT_EQ(verdict.status, dnssec_status::bogus);
  EXPECT_NE(verdict.reason.find("without NSEC/NSEC3 proof"), std::string::npos) << verdict.reason;
}

TEST(LocalValidator, IgnoresSignaturesOfAlgorithmsOutsideTheAllowList) {
  test::temp_dir dir;
  const auto path = dir.path() / "anchors";
  std::ofstream(path) << anchor_ds;
  auto validator = local_validator::create(path, unreachable_resolver());
  ASSERT_TRUE(validator);
  // Algorithm 5 (RSASHA1) is not accepted: the record counts as unsigned,
  // and with nothing to prove the zone unsigned, bogus.
  auto wire = testing::make_response(
      {.name = "dev.example.test",
       .answer = {std::string("dev.example.test. 60 IN TLSA 3 1 1 ") + hash,
                  "dev.example.test. 60 IN RRSIG TLSA 5 3 60 20300101000000 20200101000000 12345 example.test. "
                  "bUO4YIz2XAqzEj3nSUyHAatqL/1MeEK3dfdv3y8xee8BKErLXyT5w0yFx4x5g5kKQ/VSxYlY0AVKNk7ntexEKQ=="}});
  const auto verdict = (*validator)->validate(wire, "dev.example.test", rr_type::tlsa);
  EXPECT_EQ(verdict.status, dnssec_status::bogus);
  EXPECT_NE(verdict.reason.find("no RRSIG (of an allowed algorithm)"), std::string::npos) << verdict.reason;
}

TEST(LocalValidator, CallsASignatureFromOutsideTheOwnersZoneBogus) {
  test::temp_dir dir;
  const auto path = dir.path() / "anchors";
  std::ofstream(path) << anchor_ds;
  auto validator = local_validator::create(path, unreachable_resolver());
  ASSERT_TRUE(validator);
  auto wire = testing::make_response(
      {.name = "dev.example.test",
       .answer = {std::string("dev.example.test. 60 IN TLSA 3 1 1 ") + hash,
                  "dev.example.test. 60 IN RRSIG TLSA 13 3 60 20300101000000 20200101000000 12345 attacker.test. "
                  "bUO4YIz2XAqzEj3nSUyHAatqL/1MeEK3dfdv3y8xee8BKErLXyT5w0yFx4x5g5kKQ/VSxYlY0AVKNk7ntexEKQ=="}});
  EXPECT_EQ((*validator)->validate(wire, "dev.example.test", rr_type::tlsa).status, dnssec_status::bogus);
}

TEST(LocalValidator, DoesNotFollowAnUnsignedCname) {
  test::temp_dir dir;
  const auto path = dir.path() / "anchors";
  std::ofstream(path) << anchor_ds;
  auto validator = local_validator::create(path, unreachable_resolver());
  ASSERT_TRUE(validator);
  auto wire = testing::make_response({.name = "alias.other.test",
                                      .answer = {"alias.other.test. 60 IN CNAME dev.example.test.",
                                                 std::string("dev.example.test. 60 IN TLSA 3 1 1 ") + hash}});
  const auto verdict = (*validator)->validate(wire, "alias.other.test", rr_type::tlsa);
  EXPECT_EQ(verdict.status, dnssec_status::insecure);
  EXPECT_NE(verdict.reason.find("CNAME"), std::string::npos);
}

}  // namespace
}  // namespace danemq::dane
