#include "danemq/jose/jwe.hpp"

#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include "content_encryption.hpp"
#include "ecdh_es.hpp"
#include "encoding.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose {
namespace {

using test::ec_key;
using test::rsa_key;
constexpr std::size_t limit = 1 << 16;

void expect_refused(const std::string& text, errc expected) {
  auto parsed = parse_jwe(text, limit, limit);
  ASSERT_FALSE(parsed) << text;
  EXPECT_EQ(parsed.error().code, make_error_code(expected)) << parsed.error().message();
}

nlohmann::json flattened(const EVP_PKEY& recipient, std::string_view plaintext = "secret") {
  return nlohmann::json::parse(
      *encrypt_jwe(plaintext, recipient, "dns:bob.example?type=TLSA", serialization::flattened_json));
}

std::string header_of(const nlohmann::json& jwe) {
  return *detail::base64url_decode_text(jwe["protected"].get<std::string>(), "p");
}

std::string with_header(nlohmann::json jwe, const std::string& header_json) {
  jwe["protected"] = detail::base64url_encode(header_json);
  return jwe.dump();
}

/// The public JWK of a P-256 key, as an `epk` member.
nlohmann::json epk_of(const EVP_PKEY& key) {
  crypto::bytes x(32);
  crypto::bytes y(32);
  for (auto [name, out] : {std::pair{"qx", &x}, std::pair{"qy", &y}}) {
    BIGNUM* raw = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(&key, name, &raw), 1);
    const crypto::unique_bignum number(raw);
    BN_bn2binpad(number.get(), out->data(), 32);
  }
  return {{"crv", "P-256"}, {"kty", "EC"}, {"x", detail::base64url_encode(x)}, {"y", detail::base64url_encode(y)}};
}

TEST(JweEncrypt, UsesThePairTheRecipientKeyDecidesAndDecrypts) {
  for (const EVP_PKEY* key : {&rsa_key(1), &ec_key(1)}) {
    for (const auto form : {serialization::flattened_json, serialization::compact}) {
      auto text = encrypt_jwe("secret text", *test::public_only(*key), "dns:bob.example?type=TLSA", form);
      ASSERT_TRUE(text) << text.error().message();
      auto parsed = parse_jwe(*text, limit, limit);
      ASSERT_TRUE(parsed) << parsed.error().message();
      EXPECT_EQ(parsed->form, form);
      const bool rsa = key == &rsa_key(1);
      EXPECT_EQ(parsed->header.alg, rsa ? "RSA-OAEP-256" : "ECDH-ES");
      EXPECT_EQ(parsed->header.enc, rsa ? "A256CBC-HS512" : "A256GCM");
      EXPECT_EQ(parsed->encrypted_key.size(), rsa ? 256U : 0U);
      EXPECT_EQ(parsed->tag.size(), rsa ? 32U : 16U);
      EXPECT_EQ(rsa, parsed->ephemeral_key == nullptr);
      auto plaintext = decrypt_jwe(*parsed, *key, limit);
      ASSERT_TRUE(plaintext) << plaintext.error().message();
      EXPECT_EQ(*plaintext, "secret text");
    }
  }
}

TEST(JweEncrypt, FlattenedJsonHasJwcryptosMembers) {
  auto rsa = flattened(rsa_key(1));
  EXPECT_EQ(rsa.size(), 5U);
  EXPECT_TRUE(rsa.contains("encrypted_key"));
  auto ec = flattened(ec_key(1));
  EXPECT_EQ(ec.size(), 4U);  // no encrypted key with direct key agreement, as jwcrypto writes it
  EXPECT_NE(header_of(ec).find("\"epk\""), std::string::npos);
}

TEST(JweDecrypt, AcceptsJwcryptosPlacementOfTheEphemeralKey) {
  // jwcrypto puts `epk` in the per-recipient unprotected header. Built here
  // with the gap functions: ECDH is symmetric, so the ephemeral private key
  // and the recipient's public key give the recipient's content key.
  crypto::unique_evp_pkey ephemeral(EVP_EC_gen("P-256"));
  const std::string protected_json = R"({"alg":"ECDH-ES","enc":"A256GCM"})";
  auto cek = detail::ecdh_es_content_key(*ephemeral, *test::public_only(ec_key(1)), "A256GCM", 256);
  ASSERT_TRUE(cek) << cek.error().message();
  auto content = detail::encrypt_content(nlohmann::json::parse(protected_json), *cek, "from jwcrypto");
  ASSERT_TRUE(content) << content.error().message();
  const nlohmann::json epk = epk_of(*ephemeral);
  const nlohmann::json jwe = {{"ciphertext", content->ciphertext_b64},
                              {"header", {{"epk", epk}}},
                              {"iv", content->iv_b64},
                              {"protected", content->protected_b64},
                              {"tag", content->tag_b64}};
  auto parsed = parse_jwe(jwe.dump(), limit, limit);
  ASSERT_TRUE(parsed) << parsed.error().message();
  auto plaintext = decrypt_jwe(*parsed, ec_key(1), limit);
  ASSERT_TRUE(plaintext) << plaintext.error().message();
  EXPECT_EQ(*plaintext, "from jwcrypto");

  // Anything else in that header, or epk in both places, is refused.
  auto extra = jwe;
  extra["header"]["alg"] = "dir";
  expect_refused(extra.dump(), errc::bad_format);
  auto twice = nlohmann::json::parse(*encrypt_jwe("x", ec_key(1), "u", serialization::flattened_json));
  twice["header"] = {{"epk", epk}};
  expect_refused(twice.dump(), errc::bad_format);
}

TEST(JweParse, RefusesTruncatedGcmTagBeforeCjose) {
  // CVE-2023-37464: cjose < 0.6.2.2 took the GCM tag length from the input.
  auto jwe = flattened(ec_key(1));
  const auto tag = *detail::base64url_decode(jwe["tag"].get<std::string>(), "tag");
  for (const std::size_t length : {1U, 4U, 12U, 15U}) {
    auto truncated = jwe;
    truncated["tag"] = detail::base64url_encode(std::span(tag.data(), length));
    auto parsed = parse_jwe(truncated.dump(), limit, limit);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, make_error_code(errc::bad_format));
    EXPECT_NE(parsed.error().detail.find("authentication tag of " + std::to_string(length) + " bytes"),
              std::string::npos);
  }
}

TEST(JweParse, RefusesShortenedCbcHmacTagAndWrongIvLengths) {
  auto jwe = flattened(rsa_key(1));
  auto tag = *detail::base64url_decode(jwe["tag"].get<std::string>(), "tag");
  auto shortened = jwe;
  shortened["tag"] = detail::base64url_encode(std::span(tag.data(), 16));
  expect_refused(shortened.dump(), errc::bad_format);
  auto short_iv = jwe;
  short_iv["iv"] = detail::base64url_encode(std::string_view("twelve bytes"));
  expect_refused(short_iv.dump(), errc::bad_format);
}

TEST(JweParse, RefusesKeyManagementAndContentEncryptionOutsideTheAllowList) {
  auto jwe = flattened(rsa_key(1));
  for (const char* alg : {"RSA-OAEP", "RSA1_5", "dir", "A256KW", "ECDH-ES+A256KW", "PBES2-HS512+A256KW", "none"}) {
    expect_refused(with_header(jwe, std::string(R"({"alg":")") + alg + R"(","enc":"A256CBC-HS512"})"),
                   errc::bad_algorithm);
  }
  for (const char* enc : {"A128CBC-HS256", "A192CBC-HS384", "A128GCM", "A192GCM", "none"}) {
    expect_refused(with_header(jwe, std::string(R"({"alg":"RSA-OAEP-256","enc":")") + enc + R"("})"),
                   errc::bad_algorithm);
  }
  expect_refused(with_header(jwe, R"({"alg":"RSA-OAEP-256"})"), errc::bad_format);
}

TEST(JweParse, RefusesCompressionAndCriticalExtensions) {
  auto jwe = flattened(rsa_key(1));
  auto zipped = with_header(jwe, R"({"alg":"RSA-OAEP-256","enc":"A256CBC-HS512","zip":"DEF"})");
  auto refused = parse_jwe(zipped, limit, limit);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::bad_algorithm));
  EXPECT_NE(refused.error().detail.find("zip"), std::string::npos);
  expect_refused(with_header(jwe, R"({"alg":"RSA-OAEP-256","enc":"A256CBC-HS512","crit":["x"],"x":1})"),
                 errc::unsupported_extension);
}

TEST(JweParse, RefusesStructuresWithSeveralRecipientsOrUnprotectedData) {
  auto jwe = flattened(rsa_key(1));
  for (const char* member : {"recipients", "unprotected", "aad", "extra"}) {
    auto copy = jwe;
    copy[member] = nlohmann::json::object();
    expect_refused(copy.dump(), errc::bad_format);
  }
  auto header = jwe;
  header["header"] = {{"alg", "dir"}};  // our own trick must not be accepted from outside
  expect_refused(header.dump(), errc::bad_format);
  auto no_key = jwe;
  no_key.erase("encrypted_key");
  expect_refused(no_key.dump(), errc::bad_format);
  expect_refused(with_header(jwe, R"({"alg":"RSA-OAEP-256","enc":"A256CBC-HS512","typ":"JWT"})"), errc::bad_format);
}

TEST(JweParse, RefusesEphemeralKeysOffTheCurveOrMisplaced) {
  auto jwe = flattened(ec_key(1));
  auto header = nlohmann::json::parse(header_of(jwe));
  auto off_curve = header;
  auto y = *detail::base64url_decode(off_curve["epk"]["y"].get<std::string>(), "y");
  y[31] ^= 1;
  off_curve["epk"]["y"] = detail::base64url_encode(y);
  expect_refused(with_header(jwe, off_curve.dump()), errc::bad_format);
  auto p384 = header;
  p384["epk"]["crv"] = "P-384";
  expect_refused(with_header(jwe, p384.dump()), errc::bad_format);
  auto missing = header;
  missing.erase("epk");
  expect_refused(with_header(jwe, missing.dump()), errc::bad_format);
  auto with_private = header;
  with_private["epk"]["d"] = "AAAA";
  expect_refused(with_header(jwe, with_private.dump()), errc::bad_format);
  auto rsa_with_epk = flattened(rsa_key(1));
  auto rsa_header = nlohmann::json::parse(header_of(rsa_with_epk));
  rsa_header["epk"] = header["epk"];
  expect_refused(with_header(rsa_with_epk, rsa_header.dump()), errc::bad_format);
}

TEST(JweParse, RefusesCiphertextThatWouldDecryptOverTheLimitBeforeDecrypting) {
  auto text = *encrypt_jwe(std::string(2000, 'x'), rsa_key(1), "u", serialization::compact);
  auto parsed = parse_jwe(text, limit, 1000);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, make_error_code(errc::too_large));
  EXPECT_FALSE(parse_jwe(text, text.size() - 1, limit));
  EXPECT_TRUE(parse_jwe(text, text.size(), 2000));
}

TEST(JweDecrypt, WrongKeyAndCorruptedKeyFailTheSameWay) {
  auto parsed = parse_jwe(*encrypt_jwe("x", rsa_key(1), "u", serialization::compact), limit, limit);
  ASSERT_TRUE(parsed);
  auto wrong_key = decrypt_jwe(*parsed, rsa_key(2), limit);
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, make_error_code(errc::decryption_failed));
  parsed->encrypted_key[10] ^= 0x40;
  auto corrupted = decrypt_jwe(*parsed, rsa_key(1), limit);
  ASSERT_FALSE(corrupted);
  EXPECT_EQ(corrupted.error().code, make_error_code(errc::decryption_failed));
  EXPECT_EQ(corrupted.error().detail, wrong_key.error().detail);
}

TEST(JweDecrypt, RefusesKeyManagementThatDoesNotFitOurKey) {
  auto for_ec = parse_jwe(*encrypt_jwe("x", ec_key(1), "u", serialization::compact), limit, limit);
  ASSERT_TRUE(for_ec);
  EXPECT_EQ(decrypt_jwe(*for_ec, rsa_key(1), limit).error().code, make_error_code(errc::bad_algorithm));
  auto for_rsa = parse_jwe(*encrypt_jwe("x", rsa_key(1), "u", serialization::compact), limit, limit);
  ASSERT_TRUE(for_rsa);
  EXPECT_EQ(decrypt_jwe(*for_rsa, ec_key(1), limit).error().code, make_error_code(errc::bad_algorithm));
}

TEST(JweEncrypt, RefusesRecipientKeysOutsideTheAllowList) {
  crypto::unique_evp_pkey weak(EVP_RSA_gen(1024));
  auto text = encrypt_jwe("x", *weak, "u", serialization::compact);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, make_error_code(errc::unsupported_key));
}

}  // namespace
}  // namespace danemq::jose
