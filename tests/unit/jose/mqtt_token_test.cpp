#include "danemq/jose/mqtt_token.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "encoding.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose {
namespace {

using namespace std::chrono_literals;
using test::ec_key;
using test::rsa_key;

const auto issued = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

mqtt_token_policy broker_policy() {
  mqtt_token_policy policy;
  policy.audience = "broker.example.net";
  return policy;
}

std::string token_for(const EVP_PKEY& key, std::string_view audience = "broker.example.net") {
  auto token = make_mqtt_token("Alice.Example.NET.", audience, key, issued);
  EXPECT_TRUE(token) << token.error().message();
  return token ? *token : std::string();
}

/// A compact JWS over `claims` signed by `key`, for claims make_mqtt_token never writes.
std::string signed_claims(const nlohmann::json& claims, const EVP_PKEY& key) {
  auto text =
      sign_jws(claims.dump(), key, {"dns:alice.example.net?type=TLSA", {}, {}, {}, false, {}}, serialization::compact);
  EXPECT_TRUE(text);
  return text ? *text : std::string();
}

void expect_parse_refused(std::string_view text, errc expected) {
  auto parsed = parse_mqtt_token(text);
  ASSERT_FALSE(parsed) << text;
  EXPECT_EQ(parsed.error().code, make_error_code(expected)) << parsed.error().message();
}

TEST(MqttToken, ATokenOfEitherKeyTypeParsesChecksAndVerifies) {
  for (const EVP_PKEY* key : {&rsa_key(0), &ec_key(0)}) {
    const std::string text = token_for(*key);
    auto parsed = parse_mqtt_token(text);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->claims.iss, "alice.example.net");
    EXPECT_EQ(parsed->claims.aud, "broker.example.net");
    EXPECT_EQ(parsed->claims.iat, 1'800'000'000);
    EXPECT_FALSE(parsed->claims.jti.empty());
    EXPECT_EQ(parsed->jws.header.alg, key == &rsa_key(0) ? "RS256" : "ES256");
    EXPECT_TRUE(check_mqtt_token_claims(*parsed, "alice.example.net", broker_policy(), issued + 10s));
    EXPECT_TRUE(verify_mqtt_token(*parsed, *test::public_only(*key)));
  }
}

TEST(MqttToken, EveryTokenHasItsOwnJti) {
  auto first = parse_mqtt_token(token_for(ec_key(0)));
  auto second = parse_mqtt_token(token_for(ec_key(0)));
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->claims.jti, second->claims.jti);
}

TEST(MqttToken, ATokenSignedByAnotherKeyDoesNotVerify) {
  auto parsed = parse_mqtt_token(token_for(ec_key(0)));
  ASSERT_TRUE(parsed);
  auto other_ec = verify_mqtt_token(*parsed, *test::public_only(ec_key(1)));
  ASSERT_FALSE(other_ec);
  EXPECT_EQ(other_ec.error().code, make_error_code(errc::signature_failed));
  auto rsa = verify_mqtt_token(*parsed, *test::public_only(rsa_key(0)));
  ASSERT_FALSE(rsa);
  EXPECT_EQ(rsa.error().code, make_error_code(errc::bad_algorithm));
}

TEST(MqttToken, RefusesAnotherAudienceAnotherUserAnOldAndAFutureToken) {
  auto parsed = parse_mqtt_token(token_for(ec_key(0)));
  ASSERT_TRUE(parsed);
  const auto refused = [&](std::string_view user, const mqtt_token_policy& policy,
                           std::chrono::system_clock::time_point now) {
    auto checked = check_mqtt_token_claims(*parsed, user, policy, now);
    return checked ? errc::ok : static_cast<errc>(checked.error().code.value());
  };
  auto other = broker_policy();
  other.audience = "other-broker.example.net";
  EXPECT_EQ(refused("alice.example.net", other, issued), errc::not_for_us);
  EXPECT_EQ(refused("bob.example.net", broker_policy(), issued), errc::bad_format);
  EXPECT_EQ(refused("alice.example.net", broker_policy(), issued + 61s), errc::too_old);
  EXPECT_EQ(refused("alice.example.net", broker_policy(), issued + 60s), errc::ok);
  EXPECT_EQ(refused("alice.example.net", broker_policy(), issued - 6s), errc::from_the_future);
  EXPECT_EQ(refused("alice.example.net", broker_policy(), issued - 5s), errc::ok);
  auto spelled = broker_policy();
  spelled.audience = "Broker.Example.Net.";
  EXPECT_EQ(refused("ALICE.example.net.", spelled, issued), errc::ok);
}

TEST(MqttToken, RefusesClaimsOtherThanExactlyTheFour) {
  const nlohmann::json good = {{"aud", "b"}, {"iat", 1}, {"iss", "alice.example.net"}, {"jti", "x"}};
  EXPECT_TRUE(parse_mqtt_token(signed_claims(good, ec_key(0))));
  auto extra = good;
  extra["exp"] = 2;
  expect_parse_refused(signed_claims(extra, ec_key(0)), errc::bad_format);
  for (const char* member : {"aud", "iat", "iss", "jti"}) {
    auto missing = good;
    missing.erase(member);
    expect_parse_refused(signed_claims(missing, ec_key(0)), errc::bad_format);
    auto wrong_type = good;
    wrong_type[member] = nlohmann::json::array();
    expect_parse_refused(signed_claims(wrong_type, ec_key(0)), errc::bad_format);
  }
  auto not_canonical = good;
  not_canonical["iss"] = "Alice.example.net";
  expect_parse_refused(signed_claims(not_canonical, ec_key(0)), errc::bad_format);
  auto long_jti = good;
  long_jti["jti"] = std::string(65, 'j');
  expect_parse_refused(signed_claims(long_jti, ec_key(0)), errc::bad_format);
  auto fractional = good;
  fractional["iat"] = 1.5;
  expect_parse_refused(signed_claims(fractional, ec_key(0)), errc::bad_format);
  expect_parse_refused(signed_claims(nlohmann::json::array(), ec_key(0)), errc::bad_format);
}

TEST(MqttToken, RefusesOtherSerializationsAlgorithmsAndSizes) {
  const nlohmann::json good = {{"aud", "b"}, {"iat", 1}, {"iss", "alice.example.net"}, {"jti", "x"}};
  auto flattened = sign_jws(good.dump(), ec_key(0), {"dns:alice.example.net?type=TLSA", {}, {}, {}, false, {}},
                            serialization::flattened_json);
  ASSERT_TRUE(flattened);
  expect_parse_refused(*flattened, errc::bad_format);
  const std::string payload = detail::base64url_encode(good.dump());
  for (const char* alg : {"none", "HS256", "PS256", "ES384"}) {
    const std::string header = detail::base64url_encode(nlohmann::json{{"alg", alg}}.dump());
    expect_parse_refused(header + "." + payload + ".c2lnbmF0dXJl", errc::bad_algorithm);
  }
  const std::string header = detail::base64url_encode(nlohmann::json{{"alg", "ES256"}}.dump());
  expect_parse_refused(header + "." + payload + ".", errc::bad_format);
  expect_parse_refused(std::string(max_mqtt_token_size + 1, 'a'), errc::too_large);
  expect_parse_refused("", errc::bad_format);
  expect_parse_refused("password", errc::bad_format);
  expect_parse_refused("a.b.c.d", errc::bad_format);
}

TEST(MqttToken, MakingRefusesABadNameAnEmptyAudienceAndAWeakKey) {
  EXPECT_FALSE(make_mqtt_token("not a name", "broker", ec_key(0), issued));
  EXPECT_FALSE(make_mqtt_token("alice.example.net", "", ec_key(0), issued));
  crypto::unique_evp_pkey weak(EVP_RSA_gen(1024));
  auto refused = make_mqtt_token("alice.example.net", "broker", *weak, issued);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::unsupported_key));
}

}  // namespace
}  // namespace danemq::jose
