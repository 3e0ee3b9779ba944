#include "danemq/jose/jws.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "encoding.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose {
namespace {

using test::ec_key;
using test::rsa_key;

void expect_refused(const std::string& text, errc expected) {
  auto parsed = parse_jws(text);
  ASSERT_FALSE(parsed) << text;
  EXPECT_EQ(parsed.error().code, make_error_code(expected)) << parsed.error().message();
}

TEST(JwsSign, SignsWithTheAlgorithmTheKeyDecidesAndVerifies) {
  for (const EVP_PKEY* key : {&rsa_key(0), &ec_key(0)}) {
    for (const auto form : {serialization::flattened_json, serialization::compact}) {
      auto text = sign_jws("payload ✓", *key, {"dns:alice.example?type=TLSA", {}, {}, {}, false, {}}, form);
      ASSERT_TRUE(text) << text.error().message();
      auto parsed = parse_jws(*text);
      ASSERT_TRUE(parsed) << parsed.error().message();
      EXPECT_EQ(parsed->form, form);
      EXPECT_EQ(parsed->header.alg, key == &rsa_key(0) ? "RS256" : "ES256");
      EXPECT_EQ(parsed->header.x5u, "dns:alice.example?type=TLSA");
      EXPECT_EQ(parsed->payload, "payload ✓");
      EXPECT_TRUE(verify_jws(*parsed, *test::public_only(*key)));
    }
  }
}

TEST(JwsSign, WritesTheV2ClaimsInLexicalOrder) {
  auto text = sign_jws("x", rsa_key(0), {"dns:a.example?type=TLSA", "dns:b.example?type=TLSA", 1234, "id", false, {}},
                       serialization::compact);
  ASSERT_TRUE(text);
  auto parsed = parse_jws(*text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->header.aud, "dns:b.example?type=TLSA");
  EXPECT_EQ(parsed->header.iat, 1234);
  EXPECT_EQ(parsed->header.jti, "id");
  const auto& json = parsed->header.json;
  EXPECT_LT(json.find("\"alg\""), json.find("\"aud\""));
  EXPECT_LT(json.find("\"aud\""), json.find("\"iat\""));
  EXPECT_LT(json.find("\"jti\""), json.find("\"x5u\""));
}

TEST(JwsSign, RefusesKeysOutsideTheAllowList) {
  crypto::unique_evp_pkey weak(EVP_RSA_gen(1024));
  crypto::unique_evp_pkey p384(EVP_EC_gen("P-384"));
  for (const EVP_PKEY* key : {weak.get(), p384.get()}) {
    auto text = sign_jws("x", *key, {"dns:a.example?type=TLSA", {}, {}, {}, false, {}}, serialization::compact);
    ASSERT_FALSE(text);
    EXPECT_EQ(text.error().code, make_error_code(errc::unsupported_key));
  }
}

TEST(JwsVerify, AcceptsTheSameSignatureBuiltIndependentlyWithEvp) {
  for (const EVP_PKEY* key : {&rsa_key(0), &ec_key(0)}) {
    const std::string header = key == &rsa_key(0) ? R"({"alg":"RS256"})" : R"({"alg":"ES256"})";
    auto parsed = parse_jws(test::raw_jws(header, "independent", *key, serialization::compact));
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(verify_jws(*parsed, *key));
  }
}

TEST(JwsVerify, RefusesAWrongKeyAndAnAlgorithmThatDoesNotFitTheKey) {
  auto by_rsa = parse_jws(*sign_jws("x", rsa_key(0), {"u", {}, {}, {}, false, {}}, serialization::compact));
  ASSERT_TRUE(by_rsa);
  EXPECT_EQ(verify_jws(*by_rsa, rsa_key(1)).error().code, make_error_code(errc::signature_failed));
  EXPECT_EQ(verify_jws(*by_rsa, ec_key(0)).error().code, make_error_code(errc::bad_algorithm));
  auto by_ec = parse_jws(*sign_jws("x", ec_key(0), {"u", {}, {}, {}, false, {}}, serialization::compact));
  ASSERT_TRUE(by_ec);
  EXPECT_EQ(verify_jws(*by_ec, ec_key(1)).error().code, make_error_code(errc::signature_failed));
  EXPECT_EQ(verify_jws(*by_ec, rsa_key(0)).error().code, make_error_code(errc::bad_algorithm));
}

TEST(JwsVerify, RefusesSignaturesOfTheWrongLength) {
  // A valid signature with one byte more or less, for each algorithm.
  for (const EVP_PKEY* key : {&rsa_key(0), &ec_key(0)}) {
    auto parsed = parse_jws(*sign_jws("x", *key, {"u", {}, {}, {}, false, {}}, serialization::compact));
    ASSERT_TRUE(parsed);
    auto signature = *detail::base64url_decode(parsed->signature_b64, "signature");
    for (const bool longer : {false, true}) {
      auto changed = signature;
      if (longer) {
        changed.push_back(0);
      } else {
        changed.pop_back();
      }
      auto copy = *parsed;
      copy.signature_b64 = detail::base64url_encode(changed);
      auto verified = verify_jws(copy, *key);
      ASSERT_FALSE(verified);
      EXPECT_EQ(verified.error().code, make_error_code(errc::signature_failed));
      EXPECT_NE(verified.error().detail.find("wrong length"), std::string::npos);
    }
  }
}

TEST(JwsParse, RefusesAlgorithmsOutsideTheAllowList) {
  for (const char* alg :
       {"none", "HS256", "HS384", "HS512", "PS256", "RS384", "RS512", "ES384", "ES512", "EdDSA", "rs256"}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"("})";
    expect_refused(test::raw_jws_with_signature(header, "x", "AAAA"), errc::bad_algorithm);
  }
}

TEST(JwsParse, KeepsAttackerTextInFailureDetailsPrintableAndShort) {
  auto parsed = parse_jws(test::raw_jws_with_signature(
      R"({"alg":"RS256\n2026-01-01 INFO accepted message from bank.example )" + std::string(200, 'x') + R"("})", "x",
      "AAAA"));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, make_error_code(errc::bad_algorithm));
  EXPECT_EQ(parsed.error().detail.find('\n'), std::string::npos) << parsed.error().detail;
  EXPECT_LT(parsed.error().detail.size(), 120U) << parsed.error().detail;
}

TEST(JwsParse, RefusesCritZipAndB64) {
  expect_refused(test::raw_jws(R"({"alg":"RS256","crit":["b64"],"b64":false})", "x", rsa_key(0)),
                 errc::unsupported_extension);
  expect_refused(test::raw_jws(R"({"alg":"RS256","crit":["urn:example:whatever"]})", "x", rsa_key(0)),
                 errc::unsupported_extension);
  expect_refused(test::raw_jws(R"({"alg":"RS256","zip":"DEF"})", "x", rsa_key(0)), errc::bad_algorithm);
  expect_refused(test::raw_jws(R"({"alg":"RS256","b64":true})", "x", rsa_key(0)), errc::bad_format);
}

TEST(JwsParse, RefusesDuplicateHeaderMembers) {
  // A header read as RS256 by one parser and as none by another.
  expect_refused(test::raw_jws(R"({"alg":"RS256","alg":"none"})", "x", rsa_key(0)), errc::bad_format);
}

TEST(JwsParse, RefusesHeadersThatAreNotObjectsOrHaveNoStringAlg) {
  expect_refused(test::raw_jws_with_signature(R"(["RS256"])", "x", "AAAA"), errc::bad_format);
  expect_refused(test::raw_jws_with_signature(R"({"alg":256})", "x", "AAAA"), errc::bad_format);
  expect_refused(test::raw_jws_with_signature(R"({"typ":"JWT"})", "x", "AAAA"), errc::bad_format);
  expect_refused(test::raw_jws_with_signature(R"({"alg":"RS256","x5u":5})", "x", "AAAA"), errc::bad_format);
  expect_refused(test::raw_jws_with_signature(R"({"alg":"RS256","iat":"now"})", "x", "AAAA"), errc::bad_format);
  expect_refused(test::raw_jws_with_signature(R"({"alg":"RS256","iat":1.5})", "x", "AAAA"), errc::bad_format);
}

TEST(JwsParse, RefusesGeneralJsonUnprotectedHeadersAndUnknownMembers) {
  const std::string good = test::raw_jws(R"({"alg":"RS256"})", "x", rsa_key(0));
  auto object = nlohmann::json::parse(good);
  auto with = [&](const char* member, nlohmann::json value) {
    auto copy = object;
    copy[member] = std::move(value);
    return copy.dump();
  };
  expect_refused(with("header", {{"alg", "none"}}), errc::bad_format);
  expect_refused(with("signatures", nlohmann::json::array()), errc::bad_format);
  expect_refused(with("extra", 1), errc::bad_format);
  auto missing = object;
  missing.erase("signature");
  expect_refused(missing.dump(), errc::bad_format);
  expect_refused(with("payload", 5), errc::bad_format);
}

TEST(JwsParse, RefusesCompactWithTheWrongNumberOfPartsOrAnEmptySignature) {
  auto compact = *sign_jws("x", rsa_key(0), {"u", {}, {}, {}, false, {}}, serialization::compact);
  expect_refused(compact + ".AAAA", errc::bad_format);
  expect_refused(compact.substr(0, compact.rfind('.')), errc::bad_format);
  expect_refused(compact.substr(0, compact.rfind('.') + 1), errc::bad_format);
}

TEST(JwsParse, RefusesOversizedInput) {
  auto compact = *sign_jws("x", rsa_key(0), {"u", {}, {}, {}, false, {}}, serialization::compact);
  auto parsed = parse_jws(compact, compact.size() - 1);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, make_error_code(errc::too_large));
}

}  // namespace
}  // namespace danemq::jose
