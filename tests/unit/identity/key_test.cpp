#include "danemq/identity/key.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace danemq::identity {
namespace {

TEST(KeyType, ParsesTheDocumentedNames) {
  EXPECT_EQ(*parse_key_type("rsa-2048"), key_type::rsa_2048);
  EXPECT_EQ(*parse_key_type("ec-p256"), key_type::ec_p256);
  auto bad = parse_key_type("ed25519");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::bad_key_type);
  EXPECT_NE(bad.error().detail.find("ed25519"), std::string::npos);
}

TEST(KeyGeneration, MakesRsa2048) {
  auto key = generate_key(key_type::rsa_2048);
  ASSERT_TRUE(key);
  EXPECT_EQ(crypto::kind_of(**key), crypto::key_kind::rsa);
  EXPECT_EQ(crypto::key_bits(**key), 2048);
  EXPECT_TRUE(check_acceptable_key(**key));
}

TEST(KeyGeneration, MakesP256) {
  auto key = generate_key(key_type::ec_p256);
  ASSERT_TRUE(key);
  EXPECT_EQ(crypto::kind_of(**key), crypto::key_kind::ec_p256);
  EXPECT_TRUE(check_acceptable_key(**key));
}

TEST(KeyPolicy, RefusesWeakRsaAndOtherCurves) {
  crypto::unique_evp_pkey weak(EVP_RSA_gen(1024));
  ASSERT_TRUE(weak);
  auto refused = check_acceptable_key(*weak);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find("1024"), std::string::npos);

  crypto::unique_evp_pkey p384(EVP_EC_gen("P-384"));
  ASSERT_TRUE(p384);
  EXPECT_FALSE(check_acceptable_key(*p384));

  crypto::unique_evp_pkey ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed25519);
  EXPECT_FALSE(check_acceptable_key(*ed25519));
}

}  // namespace
}  // namespace danemq::identity
