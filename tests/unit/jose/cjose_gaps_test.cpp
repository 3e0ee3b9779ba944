#include "cjose_gaps.hpp"

#include <gtest/gtest.h>
#include <openssl/rsa.h>
#include <nlohmann/json.hpp>

#include "danemq/jose/errors.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose::detail {
namespace {

TEST(JwsSerialization, ConvertsBetweenFlattenedJsonAndCompact) {
  const jws_parts parts{serialization::compact, "eyJhbGciOiJSUzI1NiJ9", "aGk", "c2ln"};
  const std::string compact = join_jws(parts, serialization::compact);
  const std::string json = join_jws(parts, serialization::flattened_json);
  EXPECT_EQ(compact, "eyJhbGciOiJSUzI1NiJ9.aGk.c2ln");
  EXPECT_EQ(json, R"({"payload":"aGk","protected":"eyJhbGciOiJSUzI1NiJ9","signature":"c2ln"})");
  for (const auto& text : {compact, json}) {
    auto split = split_jws(text);
    ASSERT_TRUE(split) << text;
    EXPECT_EQ(split->protected_b64, parts.protected_b64);
    EXPECT_EQ(split->payload_b64, parts.payload_b64);
    EXPECT_EQ(split->signature_b64, parts.signature_b64);
    EXPECT_EQ(join_jws(*split, split->form), text);
  }
}

TEST(JweSerialization, ConvertsBetweenFlattenedJsonAndCompact) {
  const jwe_parts parts{serialization::compact, "cA", "aw", "aQ", "Yw", "dA", std::nullopt};
  const std::string compact = join_jwe(parts, serialization::compact);
  const std::string json = join_jwe(parts, serialization::flattened_json);
  EXPECT_EQ(compact, "cA.aw.aQ.Yw.dA");
  EXPECT_EQ(json, R"({"ciphertext":"Yw","encrypted_key":"aw","iv":"aQ","protected":"cA","tag":"dA"})");
  for (const auto& text : {compact, json}) {
    auto split = split_jwe(text);
    ASSERT_TRUE(split) << text;
    EXPECT_EQ(join_jwe(*split, serialization::compact), compact);
    EXPECT_EQ(join_jwe(*split, serialization::flattened_json), json);
  }
  auto direct = parts;
  direct.encrypted_key_b64.clear();
  EXPECT_EQ(join_jwe(direct, serialization::flattened_json),
            R"({"ciphertext":"Yw","iv":"aQ","protected":"cA","tag":"dA"})");
  EXPECT_EQ(join_jwe(direct, serialization::compact), "cA..aQ.Yw.dA");
}

TEST(JweSerialization, KeepsThePerRecipientHeaderForThePolicyToJudge) {
  auto split = split_jwe(R"({"ciphertext":"Yw","header":{"epk":{"kty":"EC"}},"iv":"aQ","protected":"cA","tag":"dA"})");
  ASSERT_TRUE(split);
  ASSERT_TRUE(split->recipient_header_json);
  EXPECT_EQ(nlohmann::json::parse(*split->recipient_header_json), nlohmann::json::parse(R"({"epk":{"kty":"EC"}})"));
  EXPECT_FALSE(split_jwe(R"({"ciphertext":"Yw","header":"x","iv":"aQ","protected":"cA","tag":"dA"})"));
}

TEST(JoseSerialization, ReadsAnyJsonSpellingOfTheSameEnvelopeAlike) {
  // The one-pass reader takes the plain envelopes; whitespace, escapes and
  // reordering take the full JSON parser: the parts are the same.
  for (const char* text : {R"({"payload":"aGk","protected":"eyJ9","signature":"c2ln"})",
                           " {\n \"payload\" : \"aGk\",\t\"protected\":\"eyJ9\" , \"signature\":\"c2ln\" }\r\n",
                           R"({"signature":"c2ln","protected":"eyJ9","payload":"aGk"})",
                           R"({"\u0070ayload":"aGk","protected":"eyJ9","signature":"c\u0032ln"})"}) {
    auto split = split_jws(text);
    ASSERT_TRUE(split) << text << ": " << split.error().message();
    EXPECT_EQ(split->payload_b64, "aGk") << text;
    EXPECT_EQ(split->protected_b64, "eyJ9") << text;
    EXPECT_EQ(split->signature_b64, "c2ln") << text;
  }
  // A member twice is refused whichever reader sees it.
  for (const char* text : {R"({"payload":"aGk","protected":"eyJ9","signature":"c2ln","payload":"eA"})",
                           R"({"payload":"aGk","protected":"eyJ9","signature":"c2ln","\u0070ayload":"eA"})"}) {
    auto split = split_jws(text);
    ASSERT_FALSE(split) << text;
    EXPECT_NE(split.error().detail.find("twice"), std::string::npos) << split.error().detail;
  }
  // Trailing text, a missing brace or comma: not JSON.
  for (const char* text : {R"({"payload":"aGk","protected":"eyJ9","signature":"c2ln"}x)",
                           R"({"payload":"aGk","protected":"eyJ9","signature":"c2ln")",
                           R"({"payload":"aGk" "protected":"eyJ9","signature":"c2ln"})"}) {
    EXPECT_FALSE(split_jws(text)) << text;
  }
}

TEST(JoseSerialization, RefusesWhatItDoesNotKnow) {
  for (const char* text : {R"({"payload":"a","protected":"b","signature":"c","x":1})",
                           R"({"payload":"a","protected":"b","signatures":[]})",
                           R"({"payload":"a","protected":"b","signature":"c","header":{}})",
                           R"({"payload":"a","protected":"b"})", "a.b", "a.b.c.d", "{"}) {
    auto split = split_jws(text);
    ASSERT_FALSE(split) << text;
    EXPECT_EQ(split.error().code, make_error_code(errc::bad_format)) << text;
  }
  for (const char* text : {R"({"ciphertext":"a","iv":"b","protected":"c"})",
                           R"({"ciphertext":"a","iv":"b","protected":"c","tag":"d","recipients":[]})",
                           R"({"ciphertext":"a","iv":"b","protected":"c","tag":"d","unprotected":{}})",
                           R"({"ciphertext":"a","iv":"b","protected":"c","tag":"d","aad":"e"})",
                           R"({"ciphertext":1,"iv":"b","protected":"c","tag":"d"})", "a.b.c.d", "a.b.c.d.e.f"}) {
    auto split = split_jwe(text);
    ASSERT_FALSE(split) << text;
    EXPECT_EQ(split.error().code, make_error_code(errc::bad_format)) << text;
  }
}

TEST(RsaOaep256, WrapsAndUnwrapsAContentKey) {
  const crypto::bytes cek(64, 0x5a);
  auto wrapped = rsa_oaep256_wrap(*test::public_only(test::rsa_key(1)), cek);
  ASSERT_TRUE(wrapped) << wrapped.error().message();
  EXPECT_EQ(wrapped->size(), 256U);
  auto unwrapped = rsa_oaep256_unwrap(test::rsa_key(1), *wrapped);
  ASSERT_TRUE(unwrapped) << unwrapped.error().message();
  EXPECT_EQ(*unwrapped, cek);
  // Randomized padding: two wraps differ.
  EXPECT_NE(*rsa_oaep256_wrap(test::rsa_key(1), cek), *wrapped);
}

TEST(RsaOaep256, IsNotOaepWithSha1) {
  // A key wrapped with RSA-OAEP (SHA-1, what cjose calls RSA-OAEP) must not unwrap.
  const crypto::bytes cek(64, 0x5a);
  const crypto::unique_evp_pkey_ctx ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&test::rsa_key(1)), nullptr));
  ASSERT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
  std::size_t size = 256;
  crypto::bytes sha1_wrapped(size);
  ASSERT_EQ(EVP_PKEY_encrypt(ctx.get(), sha1_wrapped.data(), &size, cek.data(), cek.size()), 1);
  auto unwrapped = rsa_oaep256_unwrap(test::rsa_key(1), sha1_wrapped);
  ASSERT_FALSE(unwrapped);
  EXPECT_EQ(unwrapped.error().code, make_error_code(errc::decryption_failed));
}

TEST(RsaOaep256, RefusesWrongLengthsAndNonRsaKeys) {
  EXPECT_EQ(rsa_oaep256_unwrap(test::rsa_key(1), crypto::bytes(255, 1)).error().code,
            make_error_code(errc::decryption_failed));
  EXPECT_EQ(rsa_oaep256_unwrap(test::rsa_key(1), crypto::bytes{}).error().code,
            make_error_code(errc::decryption_failed));
  EXPECT_EQ(rsa_oaep256_wrap(test::ec_key(0), crypto::bytes(64)).error().code, make_error_code(errc::unsupported_key));
}

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
