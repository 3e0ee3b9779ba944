#include "ecdh_es.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "danemq/jose/errors.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose::detail {
namespace {

TEST(EcdhEs, BothSidesAgreeOnTheContentKeyAndBindTheParameters) {
  crypto::unique_evp_pkey ephemeral(EVP_EC_gen("P-256"));
  const auto recipient_public = test::public_only(test::ec_key(1));
  const auto ephemeral_public = test::public_only(*ephemeral);
  auto sender_side = ecdh_es_content_key(*ephemeral, *recipient_public, "A256GCM", 256);
  auto recipient_side = ecdh_es_content_key(test::ec_key(1), *ephemeral_public, "A256GCM", 256);
  ASSERT_TRUE(sender_side);
  ASSERT_TRUE(recipient_side);
  EXPECT_EQ(*sender_side, *recipient_side);
  EXPECT_EQ(sender_side->size(), 32U);
  // The algorithm id, the length and apu/apv all enter the KDF.
  EXPECT_NE(*ecdh_es_content_key(test::ec_key(1), *ephemeral_public, "A128GCM", 256), *recipient_side);
  EXPECT_EQ(ecdh_es_content_key(test::ec_key(1), *ephemeral_public, "A256CBC-HS512", 512)->size(), 64U);
  const crypto::bytes apu{'A'};
  EXPECT_NE(*ecdh_es_content_key(test::ec_key(1), *ephemeral_public, "A256GCM", 256, apu), *recipient_side);
}

TEST(EcdhEs, RefusesAnEphemeralKeyOnAnotherCurve) {
  crypto::unique_evp_pkey p384(EVP_EC_gen("P-384"));
  auto agreed = ecdh_es_content_key(test::ec_key(1), *test::public_only(*p384), "A256GCM", 256);
  ASSERT_FALSE(agreed);
  EXPECT_EQ(agreed.error().code, make_error_code(errc::decryption_failed));
}

TEST(EphemeralKey, ReadsOnlyP256PointsOnTheCurve) {
  // The point from RFC 7518 Appendix C (Alice's ephemeral key).
  const std::string good =
      R"({"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"})";
  auto key = p256_public_key_from_jwk(good);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(crypto::kind_of(**key), crypto::key_kind::ec_p256);
  for (
      const std::string bad :
      {R"({"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFppo"})",
       R"({"kty":"EC","crv":"P-384","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"})",
       R"({"kty":"RSA","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"})",
       R"({"kty":"EC","crv":"P-256","x":"AA","y":"AA"})", R"({"kty":"EC","crv":"P-256"})", R"("x")"}) {
    auto refused = p256_public_key_from_jwk(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, make_error_code(errc::bad_format)) << bad;
  }
}

}  // namespace
}  // namespace danemq::jose::detail
