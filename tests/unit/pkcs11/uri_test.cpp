#include "danemq/pkcs11/uri.hpp"

#include <gtest/gtest.h>

namespace danemq::pkcs11 {
namespace {

TEST(Pkcs11Uri, ReadsTokenObjectIdAndType) {
  auto parsed = parse_uri("pkcs11:token=danemq;object=abc123._device.example.net;id=%01%ff;type=private");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->token, "danemq");
  EXPECT_EQ(parsed->object, "abc123._device.example.net");
  ASSERT_TRUE(parsed->id);
  EXPECT_EQ(*parsed->id, (std::vector<std::uint8_t>{0x01, 0xff}));
  EXPECT_EQ(parsed->type, "private");
}

TEST(Pkcs11Uri, DecodesPercentEncodingAndWritesItBack) {
  auto parsed = parse_uri("pkcs11:token=my%20token;object=a%3Bb");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->token, "my token");
  EXPECT_EQ(parsed->object, "a;b");
  EXPECT_EQ(to_string(*parsed), "pkcs11:token=my%20token;object=a%3Bb");
}

TEST(Pkcs11Uri, RefusesThePinInTheUri) {
  for (const char* text : {"pkcs11:token=t;object=o;pin-value=1234", "pkcs11:token=t;object=o?pin-value=1234",
                           "pkcs11:token=t;object=o?pin-source=file:/pin"}) {
    auto parsed = parse_uri(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, make_error_code(errc::bad_uri));
    EXPECT_NE(parsed.error().detail.find("PKCS11_PIN_FILE"), std::string::npos);
    EXPECT_EQ(parsed.error().detail.find("1234"), std::string::npos) << "the PIN is not repeated";
  }
}

TEST(Pkcs11Uri, RefusesWhatNamesNoPrivateKey) {
  EXPECT_FALSE(parse_uri("token=danemq;object=x")) << "no scheme";
  EXPECT_FALSE(parse_uri("pkcs11:token=danemq")) << "no object or id";
  EXPECT_FALSE(parse_uri("pkcs11:object=x;type=cert")) << "not a private key";
  EXPECT_FALSE(parse_uri("pkcs11:object=x;object=y")) << "repeated";
  EXPECT_FALSE(parse_uri("pkcs11:object=x;colour=blue")) << "unknown attribute";
  EXPECT_FALSE(parse_uri("pkcs11:object=x%4")) << "truncated escape";
  EXPECT_FALSE(parse_uri("pkcs11:object=x%zz")) << "bad escape";
  EXPECT_TRUE(parse_uri("pkcs11:id=%01"));
  EXPECT_TRUE(parse_uri("pkcs11:object=x?module-path=/usr/lib/softhsm/libsofthsm2.so"));
}

}  // namespace
}  // namespace danemq::pkcs11
