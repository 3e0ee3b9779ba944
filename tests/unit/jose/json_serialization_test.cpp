#include "json_serialization.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "danemq/jose/errors.hpp"

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

TEST(JsonMembers, ReadsStringsObjectsAndOtherValuesAndTakesOnlyTheStringsAsked) {
  auto plain = read_members(R"({"kty":"EC","crv":"P-256"})", "epk");
  ASSERT_TRUE(plain) << plain.error().message();
  ASSERT_EQ(plain->size(), 2U);
  EXPECT_EQ((*plain)[0].name, "kty");
  EXPECT_EQ((*plain)[0].type, json_member::kind::string);
  EXPECT_EQ((*plain)[1].value, "P-256");

  auto mixed = read_members(R"({"header":{"epk":{}},"n":1,"s":"x y"})", "JWE");
  ASSERT_TRUE(mixed) << mixed.error().message();
  ASSERT_EQ(mixed->size(), 3U);
  EXPECT_EQ((*mixed)[0].type, json_member::kind::object);
  EXPECT_EQ((*mixed)[0].value, R"({"epk":{}})");
  EXPECT_EQ((*mixed)[1].type, json_member::kind::other);
  EXPECT_EQ((*mixed)[2].value, "x y");

  std::string kty;
  std::string crv;
  EXPECT_TRUE(take_string_members(*plain, "epk", {{"kty", &kty}, {"crv", &crv}}, {}));
  EXPECT_EQ(kty, "EC");
  EXPECT_EQ(crv, "P-256");
  std::string x;
  EXPECT_TRUE(take_string_members(*plain, "epk", {{"kty", &kty}, {"crv", &crv}, {"x", &x}}, {"x"}));
  EXPECT_FALSE(take_string_members(*plain, "epk", {{"kty", &kty}, {"crv", &crv}, {"x", &x}}, {}));
  EXPECT_FALSE(take_string_members(*plain, "epk", {{"kty", &kty}}, {}));
  EXPECT_FALSE(take_string_members(*mixed, "JWE", {{"header", &x}, {"n", &x}, {"s", &x}}, {}));
  EXPECT_FALSE(read_members(R"({"a":"b","a":"c"})", "epk"));
  EXPECT_FALSE(read_members("[]", "epk"));
}

}  // namespace
}  // namespace danemq::jose::detail
