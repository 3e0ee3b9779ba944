#include "danemq/dane/dns_update.hpp"

#include <gtest/gtest.h>

namespace danemq::dane {
namespace {

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

constexpr const char* secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";

TEST(TsigKey, ParsesAlgorithmNameAndSecret) {
  auto key = parse_tsig_key(std::string("HMAC-SHA256.:Update-Key.:") + secret);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->algorithm, "hmac-sha256");
  EXPECT_EQ(key->name, "update-key");
  EXPECT_EQ(key->secret, secret);
}

TEST(TsigKey, AcceptsOnlyTheSha2Hmacs) {
  EXPECT_TRUE(parse_tsig_key(std::string("hmac-sha512:k:") + secret));
  EXPECT_TRUE(parse_tsig_key(std::string("hmac-sha384:k:") + secret));
  auto md5 = parse_tsig_key(std::string("hmac-md5:k:") + secret);
  ASSERT_TRUE(failed_with(md5, errc::bad_configuration));
  EXPECT_NE(md5.error().detail.find("hmac-md5"), std::string::npos);
  EXPECT_TRUE(failed_with(parse_tsig_key(std::string("hmac-sha1:k:") + secret), errc::bad_configuration));
}

TEST(TsigKey, RefusesMalformedTextWithoutEchoingTheSecret) {
  EXPECT_TRUE(failed_with(parse_tsig_key("hmac-sha256:k"), errc::bad_configuration));
  EXPECT_TRUE(failed_with(parse_tsig_key(std::string("hmac-sha256::") + secret), errc::bad_configuration));
  auto bad_secret = parse_tsig_key("hmac-sha256:k:not*base64!");
  ASSERT_TRUE(failed_with(bad_secret, errc::bad_configuration));
  EXPECT_EQ(bad_secret.error().message().find("not*base64"), std::string::npos);
}

TEST(DnsUpdate, RefusesAnInvalidName) {
  update_target target{
      {"127.0.0.1", 9}, *parse_tsig_key(std::string("hmac-sha256:k:") + secret), std::chrono::milliseconds(50), 0};
  EXPECT_TRUE(failed_with(replace_tlsa_records(target, "bad..name", {}), errc::bad_name));
}

}  // namespace
}  // namespace danemq::dane
