#include "danemq/jose/message.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <tuple>

#include "danemq/jose/dns_uri.hpp"
#include "danemq/jose/jwe.hpp"
#include "encoding.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose {
namespace {

using test::ec_key;
using test::rsa_key;
using test::test_now;

enum class kind { rsa, ec };
const EVP_PKEY& key_of(kind k, int index) {
  return k == kind::rsa ? rsa_key(index) : ec_key(index);
}
std::string name_of(kind k) {
  return k == kind::rsa ? "rsa" : "ec";
}

/// Alice (sender), Bob (recipient) and Carol (a third party), each with a
/// key of the chosen type, all published in the fake DNS.
struct parties {
  identity::local_identity alice;
  identity::local_identity bob;
  identity::local_identity carol;
  test::fake_identity_source dns;

  explicit parties(kind sender = kind::rsa, kind recipient = kind::rsa)
      : alice(test::local("alice.example", key_of(sender, 0))),
        bob(test::local("bob.example", key_of(recipient, 1))),
        carol(test::local("carol.example", key_of(recipient, 2))) {
    dns.publish("alice.example", {alice.key.get()});
    dns.publish("bob.example", {bob.key.get()});
    dns.publish("carol.example", {carol.key.get()});
  }

  [[nodiscard]] std::string seal_to_bob(const std::string& text, seal_options options = {}) {
    if (!options.now) options.now = test_now;
    auto sealed = seal({"bob.example", text}, alice, dns, options);
    if (!sealed) ADD_FAILURE() << sealed.error().message();
    return sealed ? *sealed : std::string{};
  }
};

open_options pinned(open_options options = {}) {
  options.now = test_now;
  return options;
}

void expect_error(const result<opened_message>& opened, errc expected) {
  ASSERT_FALSE(opened) << "opened a message that must be refused";
  EXPECT_EQ(opened.error().code, make_error_code(expected)) << opened.error().message();
}

// ---------------------------------------------------------------------------
// Round trips: every pair of key types, both formats, both serializations.

using round_trip_case = std::tuple<kind, kind, message_format, serialization>;
class MessageRoundTrip : public ::testing::TestWithParam<round_trip_case> {};

TEST_P(MessageRoundTrip, OpensWhatItSealsWithTheExpectedAlgorithms) {
  const auto [sender, recipient, format, form] = GetParam();
  parties p(sender, recipient);
  seal_options options;
  options.format = format;
  options.form = form;
  const std::string text = "Grüße, Bob — 200 bytes or so of text";
  const std::string wire = p.seal_to_bob(text, options);
  ASSERT_FALSE(wire.empty());
  EXPECT_EQ(wire.front() == '{', form == serialization::flattened_json);

  auto jwe = parse_jwe(wire, 1 << 16, 1 << 16);
  ASSERT_TRUE(jwe) << jwe.error().message();
  EXPECT_EQ(jwe->header.alg, recipient == kind::rsa ? "RSA-OAEP-256" : "ECDH-ES");
  EXPECT_EQ(jwe->header.enc, recipient == kind::rsa ? "A256CBC-HS512" : "A256GCM");
  EXPECT_EQ(jwe->header.typ, "JWE");
  EXPECT_EQ(jwe->header.x5u,
            format == message_format::compat ? "dns://bob.example?type=TLSA" : "dns:bob.example?type=TLSA");

  open_options options_in = pinned();
  options_in.accept_legacy = format == message_format::compat;
  in_memory_replay_memory replay;
  auto opened = open(wire, p.bob, p.dns, options_in, &replay);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->text, text);
  EXPECT_EQ(opened->sender, "alice.example");
  EXPECT_EQ(opened->recipient, "bob.example");
  EXPECT_TRUE(opened->dnssec_secure);
  EXPECT_EQ(opened->outer_form, form);
  EXPECT_EQ(opened->inner_form, form);
  if (format == message_format::v2) {
    EXPECT_FALSE(opened->legacy);
    ASSERT_TRUE(opened->issued_at);
    EXPECT_EQ(*opened->issued_at, test_now);
    ASSERT_TRUE(opened->jti);
    EXPECT_GE(opened->jti->size(), 22U);
    EXPECT_EQ(opened->replay_expires_at, test_now + options_in.max_age + options_in.max_clock_skew);
    EXPECT_EQ(replay.size(), 1U);
  } else {
    EXPECT_TRUE(opened->legacy);
    EXPECT_FALSE(opened->issued_at);
    EXPECT_FALSE(opened->jti);
    EXPECT_EQ(replay.size(), 0U);
  }
}

INSTANTIATE_TEST_SUITE_P(AllPairs, MessageRoundTrip,
                         ::testing::Combine(::testing::Values(kind::rsa, kind::ec),
                                            ::testing::Values(kind::rsa, kind::ec),
                                            ::testing::Values(message_format::compat, message_format::v2),
                                            ::testing::Values(serialization::flattened_json, serialization::compact)),
                         [](const auto& info) {
                           return name_of(std::get<0>(info.param)) + "_to_" + name_of(std::get<1>(info.param)) + "_" +
                                  (std::get<2>(info.param) == message_format::v2 ? "v2" : "compat") + "_" +
                                  (std::get<3>(info.param) == serialization::compact ? "compact" : "json");
                         });

TEST(MessageSeal, CompatFormatWritesExactlyTheOriginalHeaders) {
  parties p;
  seal_options options;
  options.format = message_format::compat;
  const std::string wire = p.seal_to_bob("hello", options);
  auto jwe = parse_jwe(wire, 1 << 16, 1 << 16);
  ASSERT_TRUE(jwe);
  auto header = nlohmann::json::parse(jwe->header.json);
  EXPECT_EQ(header,
            nlohmann::json::parse(
                R"({"alg":"RSA-OAEP-256","enc":"A256CBC-HS512","typ":"JWE","x5u":"dns://bob.example?type=TLSA"})"));
  auto inner = decrypt_jwe(*jwe, *p.bob.key, 1 << 16);
  ASSERT_TRUE(inner);
  auto jws = parse_jws(*inner);
  ASSERT_TRUE(jws);
  EXPECT_EQ(nlohmann::json::parse(jws->header.json),
            nlohmann::json::parse(R"({"alg":"RS256","x5u":"dns://alice.example?type=TLSA"})"));
  // jwcrypto's flattened JSON: exactly these members.
  auto outer = nlohmann::json::parse(wire);
  for (const char* member : {"protected", "encrypted_key", "iv", "ciphertext", "tag"})
    EXPECT_TRUE(outer.contains(member));
  EXPECT_EQ(outer.size(), 5U);
  auto signed_object = nlohmann::json::parse(*inner);
  EXPECT_EQ(signed_object.size(), 3U);
  for (const char* member : {"payload", "protected", "signature"}) EXPECT_TRUE(signed_object.contains(member));
}

TEST(MessageSeal, V2SignsRecipientTimeAndRandomId) {
  parties p;
  const std::string first = p.seal_to_bob("hello");
  const std::string second = p.seal_to_bob("hello");
  std::vector<std::string> jtis;
  for (const auto& wire : {first, second}) {
    auto jwe = parse_jwe(wire, 1 << 16, 1 << 16);
    ASSERT_TRUE(jwe);
    auto jws = parse_jws(*decrypt_jwe(*jwe, *p.bob.key, 1 << 16));
    ASSERT_TRUE(jws);
    EXPECT_EQ(jws->header.aud, "dns:bob.example?type=TLSA");
    EXPECT_EQ(jws->header.x5u, "dns:alice.example?type=TLSA");
    EXPECT_EQ(jws->header.iat, test::seconds_of(test_now));
    jtis.push_back(jws->header.jti.value_or(""));
  }
  EXPECT_NE(jtis[0], jtis[1]);
}

// ---------------------------------------------------------------------------
// Recipient binding.

TEST(MessageOpen, RefusesJweAddressedToAnotherName) {
  parties p;
  const std::string wire = p.seal_to_bob("for bob");
  // Carol holds Bob's key (a shared or stolen key): the JWE still names Bob.
  const auto carol_with_bobs_key = test::local("carol.example", rsa_key(1));
  expect_error(open(wire, carol_with_bobs_key, p.dns, pinned()), errc::not_for_us);
}

TEST(MessageOpen, RefusesSignedNoteForwardedByTheRecipientToSomeoneElse) {
  // Surreptitious forwarding: Bob decrypts Alice's signed note and
  // re-encrypts the same JWS to Carol, with a JWE that names Carol.
  parties p;
  const std::string wire = p.seal_to_bob("I owe you 100");
  auto jwe = parse_jwe(wire, 1 << 16, 1 << 16);
  ASSERT_TRUE(jwe);
  auto signed_by_alice = decrypt_jwe(*jwe, *p.bob.key, 1 << 16);
  ASSERT_TRUE(signed_by_alice);
  auto forwarded = encrypt_jwe(*signed_by_alice, *p.carol.key, dns_uri("carol.example"), serialization::flattened_json);
  ASSERT_TRUE(forwarded);
  auto opened = open(*forwarded, p.carol, p.dns, pinned());
  expect_error(opened, errc::not_for_us);
  EXPECT_NE(opened.error().detail.find("signed for bob.example"), std::string::npos);
}

TEST(MessageOpen, ForwardedLegacyNoteIsOnlyAcceptedAsLegacy) {
  // The original's format cannot carry the binding: with ACCEPT_LEGACY the
  // forwarded note opens, flagged as legacy, so the receiver can tell.
  parties p;
  seal_options compat;
  compat.format = message_format::compat;
  const std::string wire = p.seal_to_bob("I owe you 100", compat);
  auto jwe = parse_jwe(wire, 1 << 16, 1 << 16);
  auto signed_by_alice = decrypt_jwe(*jwe, *p.bob.key, 1 << 16);
  auto forwarded = encrypt_jwe(*signed_by_alice, *p.carol.key, dns_uri("carol.example"), serialization::flattened_json);
  ASSERT_TRUE(forwarded);
  expect_error(open(*forwarded, p.carol, p.dns, pinned()), errc::legacy_refused);
  open_options legacy = pinned();
  legacy.accept_legacy = true;
  auto opened = open(*forwarded, p.carol, p.dns, legacy);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->legacy);
}

TEST(MessageOpen, RefusesLegacyMessagesUnlessAcceptLegacyIsSet) {
  parties p;
  seal_options compat;
  compat.format = message_format::compat;
  const std::string wire = p.seal_to_bob("old style", compat);
  auto refused = open(wire, p.bob, p.dns, pinned());
  expect_error(refused, errc::legacy_refused);
  EXPECT_NE(refused.error().detail.find("ACCEPT_LEGACY"), std::string::npos);
  open_options legacy = pinned();
  legacy.accept_legacy = true;
  auto opened = open(wire, p.bob, p.dns, legacy);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->legacy);
  EXPECT_EQ(opened->text, "old style");
}

TEST(MessageOpen, RefusesHeaderWithSomeButNotAllV2Claims) {
  parties p;
  const std::string jws =
      test::raw_jws(R"({"alg":"RS256","aud":"dns:bob.example?type=TLSA","x5u":"dns:alice.example?type=TLSA"})",
                    "partial", rsa_key(0));
  auto wire = encrypt_jwe(jws, *p.bob.key, dns_uri("bob.example"), serialization::flattened_json);
  open_options legacy = pinned();
  legacy.accept_legacy = true;
  expect_error(open(*wire, p.bob, p.dns, legacy), errc::bad_format);
}

TEST(MessageOpen, AcceptsAudienceAsBareNameOrAnyDnsUriForm) {
  parties p;
  for (const std::string aud :
       {"bob.example", "dns://bob.example?type=TLSA", "dns://10.0.0.1/bob.example?type=TLSA", "BOB.example."}) {
    const std::string header = R"({"alg":"RS256","aud":")" + aud + R"(","iat":)" +
                               std::to_string(test::seconds_of(test_now)) + R"(,"jti":")" + "id-" + aud +
                               R"(","x5u":"dns:alice.example?type=TLSA"})";
    auto wire = encrypt_jwe(test::raw_jws(header, "hi", rsa_key(0)), *p.bob.key, dns_uri("bob.example"),
                            serialization::flattened_json);
    auto opened = open(*wire, p.bob, p.dns, pinned());
    EXPECT_TRUE(opened) << aud << ": " << opened.error().message();
  }
}

// ---------------------------------------------------------------------------
// Freshness and replay.

TEST(MessageOpen, RefusesMessagesOlderThanTheWindow) {
  parties p;
  seal_options old;
  old.now = test_now - std::chrono::minutes(5) - std::chrono::seconds(1);
  const std::string wire = p.seal_to_bob("stale", old);
  open_options five_minutes = pinned();
  five_minutes.max_age = std::chrono::minutes(5);
  expect_error(open(wire, p.bob, p.dns, five_minutes), errc::too_old);
  open_options wider = pinned();
  wider.max_age = std::chrono::minutes(10);
  EXPECT_TRUE(open(wire, p.bob, p.dns, wider));
}

TEST(MessageOpen, AcceptsMessagesOfTheLastSevenDaysByDefault) {
  parties p;
  EXPECT_EQ(open_options{}.max_age, std::chrono::days(7));
  seal_options days_ago;
  days_ago.now = test_now - std::chrono::days(6);
  EXPECT_TRUE(open(p.seal_to_bob("waited at the broker", days_ago), p.bob, p.dns, pinned()));
  days_ago.now = test_now - std::chrono::days(7) - std::chrono::seconds(1);
  expect_error(open(p.seal_to_bob("too long", days_ago), p.bob, p.dns, pinned()), errc::too_old);
}

// The age used to be counted in whole seconds: a message half a second past
// the horizon passed as exactly at the horizon.
TEST(MessageOpen, JudgesTheAgeInMillisecondsNotWholeSeconds) {
  parties p;
  const std::string wire = p.seal_to_bob("on the edge");
  open_options edge = pinned();
  edge.max_age = std::chrono::minutes(5);
  edge.now = test_now + std::chrono::minutes(5);
  EXPECT_TRUE(open(wire, p.bob, p.dns, edge));
  edge.now = test_now + std::chrono::minutes(5) + std::chrono::milliseconds(500);
  expect_error(open(wire, p.bob, p.dns, edge), errc::too_old);
  edge.now = test_now - std::chrono::seconds(60) - std::chrono::milliseconds(1);
  expect_error(open(wire, p.bob, p.dns, edge), errc::from_the_future);
}

// Reproduced: the original's entry expired at iat + window and was
// overwritten by a copy that arrived in the last second of the window.
TEST(MessageOpen, RefusesACopyArrivingInTheLastSecondOfTheHorizon) {
  parties p;
  const std::string wire = p.seal_to_bob("once only");
  in_memory_replay_memory replay;
  open_options at = pinned();
  at.max_age = std::chrono::minutes(5);
  at.now = test_now + std::chrono::seconds(1);
  ASSERT_TRUE(open(wire, p.bob, p.dns, at, &replay));
  for (const auto late :
       {std::chrono::milliseconds(299'000), std::chrono::milliseconds(300'000), std::chrono::milliseconds(300'500)}) {
    at.now = test_now + late;
    auto copy = open(wire, p.bob, p.dns, at, &replay);
    ASSERT_FALSE(copy) << "copy accepted " << late.count() << " ms after iat";
    EXPECT_TRUE(copy.error().code == make_error_code(errc::replay) ||
                copy.error().code == make_error_code(errc::too_old))
        << copy.error().message();
  }
}

TEST(MessageOpen, AcceptsClockSkewButNotMessagesFromTheFuture) {
  parties p;
  seal_options ahead;
  ahead.now = test_now + std::chrono::seconds(60);
  EXPECT_TRUE(open(p.seal_to_bob("skewed", ahead), p.bob, p.dns, pinned()));
  ahead.now = test_now + std::chrono::seconds(61);
  expect_error(open(p.seal_to_bob("future", ahead), p.bob, p.dns, pinned()), errc::from_the_future);
}

TEST(MessageOpen, RefusesHugeIatWithoutOverflow) {
  parties p;
  for (const std::int64_t iat : {std::int64_t{9'000'000'000'000'000'000}, std::int64_t{-9'000'000'000'000'000'000}}) {
    auto wire =
        encrypt_jwe(test::raw_jws(test::v2_header("RS256", "alice.example", "bob.example", iat, "j"), "x", rsa_key(0)),
                    *p.bob.key, dns_uri("bob.example"), serialization::flattened_json);
    expect_error(open(*wire, p.bob, p.dns, pinned()), errc::bad_format);
  }
}

TEST(MessageOpen, RefusesJtiThatIsNotPrintableAscii) {
  // A jti goes to logs and to the replay memory's keys.
  parties p;
  for (const std::string& jti : std::vector<std::string>{std::string("line\\nbreak"), std::string("tab\\tx"),
                                                         std::string(129, 'j'), std::string("")}) {
    auto wire = encrypt_jwe(
        test::raw_jws(test::v2_header("RS256", "alice.example", "bob.example", test::seconds_of(test_now), jti), "x",
                      rsa_key(0)),
        *p.bob.key, dns_uri("bob.example"), serialization::flattened_json);
    expect_error(open(*wire, p.bob, p.dns, pinned()), errc::bad_format);
  }
}

TEST(MessageOpen, RefusesReplayOfTheSameMessage) {
  parties p;
  const std::string wire = p.seal_to_bob("once");
  in_memory_replay_memory replay;
  ASSERT_TRUE(open(wire, p.bob, p.dns, pinned(), &replay));
  auto again = open(wire, p.bob, p.dns, pinned(), &replay);
  expect_error(again, errc::replay);
  EXPECT_FALSE(is_temporary(again.error()));
  // A fresh message from the same sender is not a replay.
  EXPECT_TRUE(open(p.seal_to_bob("twice"), p.bob, p.dns, pinned(), &replay));
}

TEST(MessageOpen, ReplayKeyIsSenderAndJti) {
  parties p;
  in_memory_replay_memory replay;
  const auto header_of = [&](const std::string& sender) {
    return test::v2_header(sender == "alice.example" ? "RS256" : "ES256", sender, "bob.example",
                           test::seconds_of(test_now), "same-jti");
  };
  p.dns.publish("dave.example", {&ec_key(3)});
  auto from_alice = encrypt_jwe(test::raw_jws(header_of("alice.example"), "a", rsa_key(0)), *p.bob.key,
                                dns_uri("bob.example"), serialization::flattened_json);
  auto from_dave = encrypt_jwe(test::raw_jws(header_of("dave.example"), "d", ec_key(3)), *p.bob.key,
                               dns_uri("bob.example"), serialization::flattened_json);
  EXPECT_TRUE(open(*from_alice, p.bob, p.dns, pinned(), &replay));
  EXPECT_TRUE(open(*from_dave, p.bob, p.dns, pinned(), &replay));
  expect_error(open(*from_dave, p.bob, p.dns, pinned(), &replay), errc::replay);
}

TEST(MessageOpen, WithoutRememberInOpenOnlyAsksAndLeavesRecordingToTheCaller) {
  parties p;
  const std::string wire = p.seal_to_bob("stored by the receiver");
  in_memory_replay_memory replay;
  open_options options = pinned();
  options.remember_in_open = false;
  auto first = open(wire, p.bob, p.dns, options, &replay);
  ASSERT_TRUE(first);
  EXPECT_EQ(replay.size(), 0U);
  ASSERT_TRUE(first->replay_expires_at);
  ASSERT_TRUE(replay.remember(first->sender, *first->jti, test_now, *first->replay_expires_at));
  expect_error(open(wire, p.bob, p.dns, options, &replay), errc::replay);
}

TEST(MessageOpen, ReplayMemoryFailureIsTemporary) {
  class broken_memory final : public replay_memory {
   public:
    result<bool> seen(std::string_view, std::string_view, std::chrono::system_clock::time_point) override {
      return fail(std::make_error_code(std::errc::io_error), "disk gone");
    }
    result<verdict> remember(std::string_view, std::string_view, std::chrono::system_clock::time_point,
                             std::chrono::system_clock::time_point) override {
      return fail(std::make_error_code(std::errc::io_error), "disk gone");
    }
  } broken;
  parties p;
  auto opened = open(p.seal_to_bob("x"), p.bob, p.dns, pinned(), &broken);
  expect_error(opened, errc::replay_memory_failed);
  EXPECT_TRUE(is_temporary(opened.error()));
}

TEST(MessageOpen, DoesNotRememberMessagesThatFailVerification) {
  parties p;
  in_memory_replay_memory replay;
  // Signed by Carol's key but claiming to be Alice.
  auto forged = encrypt_jwe(
      test::raw_jws(test::v2_header("RS256", "alice.example", "bob.example", test::seconds_of(test_now), "j1"), "x",
                    rsa_key(2)),
      *p.bob.key, dns_uri("bob.example"), serialization::flattened_json);
  expect_error(open(*forged, p.bob, p.dns, pinned(), &replay), errc::signature_failed);
  EXPECT_EQ(replay.size(), 0U);
}

// ---------------------------------------------------------------------------
// Algorithms.

TEST(MessageOpen, RefusesUnsignedJws) {
  parties p;
  const std::string header = test::v2_header("none", "alice.example", "bob.example", test::seconds_of(test_now), "n");
  auto wire = encrypt_jwe(test::raw_jws_with_signature(header, "x", ""), *p.bob.key, dns_uri("bob.example"),
                          serialization::flattened_json);
  auto opened = open(*wire, p.bob, p.dns, pinned());
  expect_error(opened, errc::bad_algorithm);
  EXPECT_NE(opened.error().detail.find("none"), std::string::npos);
}

TEST(MessageOpen, RefusesHmacSignedWithThePublicKeyAsSecret) {
  // The classic: HS256 keyed with the sender's public key, which anyone has.
  parties p;
  const std::string header = test::v2_header("HS256", "alice.example", "bob.example", test::seconds_of(test_now), "h");
  const std::string secret = crypto::public_key_to_pem(*test::public_only(rsa_key(0)));
  const std::string input = detail::base64url_encode(header) + "." + detail::base64url_encode(std::string_view("x"));
  unsigned char mac[32];
  std::size_t mac_size = 0;
  ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                      reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &mac_size),
            nullptr);
  auto wire = encrypt_jwe(test::raw_jws_with_signature(header, "x", detail::base64url_encode(std::span(mac, mac_size))),
                          *p.bob.key, dns_uri("bob.example"), serialization::flattened_json);
  auto opened = open(*wire, p.bob, p.dns, pinned());
  expect_error(opened, errc::bad_algorithm);
  EXPECT_NE(opened.error().detail.find("HMAC"), std::string::npos);
}

TEST(MessageOpen, RefusesAlgorithmThatDoesNotFitTheSendersKey) {
  // Alice's DNS key is RSA; an ES256 signature (made with some EC key) must
  // not be tried against it.
  parties p;
  const std::string header = test::v2_header("ES256", "alice.example", "bob.example", test::seconds_of(test_now), "m");
  auto wire = encrypt_jwe(test::raw_jws(header, "x", ec_key(0)), *p.bob.key, dns_uri("bob.example"),
                          serialization::flattened_json);
  expect_error(open(*wire, p.bob, p.dns, pinned()), errc::bad_algorithm);
}

TEST(MessageOpen, RefusesJweWhoseKeyManagementDoesNotFitOurKey) {
  // Bob's key is RSA: an ECDH-ES message (made to an EC key) is refused as
  // an algorithm mismatch before any decryption attempt.
  parties p;
  auto jws = test::raw_jws(test::v2_header("RS256", "alice.example", "bob.example", test::seconds_of(test_now), "k"),
                           "x", rsa_key(0));
  auto wire = encrypt_jwe(jws, ec_key(5), dns_uri("bob.example"), serialization::flattened_json);
  expect_error(open(*wire, p.bob, p.dns, pinned()), errc::bad_algorithm);
}

TEST(MessageOpen, RefusesUnknownCriticalHeader) {
  parties p;
  const std::string header = R"({"alg":"RS256","aud":"dns:bob.example?type=TLSA","crit":["exp"],"exp":1,"iat":)" +
                             std::to_string(test::seconds_of(test_now)) +
                             R"(,"jti":"c","x5u":"dns:alice.example?type=TLSA"})";
  auto wire = encrypt_jwe(test::raw_jws(header, "x", rsa_key(0)), *p.bob.key, dns_uri("bob.example"),
                          serialization::flattened_json);
  expect_error(open(*wire, p.bob, p.dns, pinned()), errc::unsupported_extension);
}

TEST(MessageOpen, VerifiesWithAnyOfTheSendersPublishedKeys) {
  // Key rollover: the TLSA RRset holds the old and the new key.
  parties p;
  p.dns.publish("alice.example", {&rsa_key(7), &rsa_key(0)});
  EXPECT_TRUE(open(p.seal_to_bob("rolled"), p.bob, p.dns, pinned()));
}

TEST(MessageOpen, RefusesSignatureByAnotherKey) {
  parties p;
  p.dns.publish("alice.example", {&rsa_key(7)});
  expect_error(open(p.seal_to_bob("x"), p.bob, p.dns, pinned()), errc::signature_failed);
}

TEST(MessageOpen, RefusesWhenOurOwnKeyDoesNotDecrypt) {
  parties p;
  const auto bob_with_wrong_key = test::local("bob.example", rsa_key(8));
  expect_error(open(p.seal_to_bob("x"), bob_with_wrong_key, p.dns, pinned()), errc::decryption_failed);
}

TEST(MessageOpen, DecryptsWithAnyKeyOfARotatingIdentity) {
  // Bob mid-rotation holds his current key and the next (and maybe the
  // previous); the sender encrypted to one of them.
  parties p;
  const auto sealed = p.seal_to_bob("rotating");
  identity::key_set keys;
  keys.name = "bob.example";
  for (const auto* key : {&rsa_key(8), &rsa_key(9)}) {
    auto other = identity::key_set_of(test::local("bob.example", *key));
    keys.keys.push_back(std::move(other.keys.front()));
  }
  expect_error(open(sealed, keys, p.dns, pinned()), errc::decryption_failed);
  auto with_bob = identity::key_set_of(p.bob);
  with_bob.keys.front().role = identity::key_role::next;
  keys.keys.push_back(std::move(with_bob.keys.front()));
  auto opened = open(sealed, keys, p.dns, pinned());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->text, "rotating");
}

// ---------------------------------------------------------------------------
// DANE lookups.

TEST(MessageOpen, MapsSenderLookupFailuresToTypedErrors) {
  const std::vector<std::pair<dane::errc, errc>> cases{
      {dane::errc::nxdomain, errc::unknown_in_dns},
      {dane::errc::nodata, errc::unknown_in_dns},
      {dane::errc::insecure, errc::not_dnssec_secure},
      {dane::errc::bogus, errc::not_dnssec_secure},
      {dane::errc::timeout, errc::lookup_temporarily_failed},
      {dane::errc::servfail, errc::lookup_temporarily_failed},
      {dane::errc::network_error, errc::lookup_temporarily_failed},
      {dane::errc::malformed_answer, errc::lookup_failed},
      {dane::errc::no_usable_record, errc::lookup_failed},
  };
  parties p;
  const std::string wire = p.seal_to_bob("x");
  for (const auto& [dane_error, expected] : cases) {
    p.dns.fail_with("alice.example", dane_error);
    auto opened = open(wire, p.bob, p.dns, pinned());
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, make_error_code(expected)) << opened.error().message();
    EXPECT_EQ(is_temporary(opened.error()), expected == errc::lookup_temporarily_failed) << opened.error().message();
    EXPECT_NE(opened.error().detail.find("sender alice.example"), std::string::npos);
  }
}

TEST(MessageSeal, MapsRecipientLookupFailuresAndSpendsNoSignature) {
  parties p;
  p.dns.fail_with("bob.example", dane::errc::timeout);
  auto sealed = seal({"bob.example", "x"}, p.alice, p.dns);
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().code, make_error_code(errc::lookup_temporarily_failed));
  EXPECT_TRUE(is_temporary(sealed.error()));
  auto unknown = seal({"nobody.example", "x"}, p.alice, p.dns);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, make_error_code(errc::unknown_in_dns));
}

TEST(MessageOpen, RefusesSenderWithoutDnssecUnlessAllowed) {
  parties p;
  p.dns.publish("alice.example", {&rsa_key(0)}, /*dnssec_secure=*/false);
  const std::string wire = p.seal_to_bob("x");
  expect_error(open(wire, p.bob, p.dns, pinned()), errc::not_dnssec_secure);
  open_options lax = pinned();
  lax.require_dnssec = false;
  auto opened = open(wire, p.bob, p.dns, lax);
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->dnssec_secure);
}

TEST(MessageSeal, RefusesRecipientWithoutDnssecUnlessAllowed) {
  parties p;
  p.dns.publish("bob.example", {p.bob.key.get()}, /*dnssec_secure=*/false);
  auto sealed = seal({"bob.example", "x"}, p.alice, p.dns);
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().code, make_error_code(errc::not_dnssec_secure));
  seal_options lax;
  lax.require_dnssec = false;
  EXPECT_TRUE(seal({"bob.example", "x"}, p.alice, p.dns, lax));
}

TEST(MessageOpen, LooksUpTheSenderOnlyAfterCheapChecksPass) {
  parties p;
  seal_options old;
  old.now = test_now - std::chrono::days(8);
  const std::string wire = p.seal_to_bob("stale", old);
  const int before = p.dns.lookups();
  expect_error(open(wire, p.bob, p.dns, pinned()), errc::too_old);
  EXPECT_EQ(p.dns.lookups(), before);
}

TEST(MessageOpen, RefusesASenderNotOnTheAllowListWithoutLookingItUp) {
  parties p;
  const std::string wire = p.seal_to_bob("hello");
  open_options options = pinned();
  auto allowed = identity::name_allow_list::parse("carol.example, *.fleet.example");
  ASSERT_TRUE(allowed);
  options.allowed_senders = *allowed;
  const int before = p.dns.lookups();
  auto opened = open(wire, p.bob, p.dns, options);
  expect_error(opened, errc::sender_not_allowed);
  EXPECT_NE(opened.error().detail.find("alice.example"), std::string::npos);
  EXPECT_EQ(p.dns.lookups(), before);
  EXPECT_EQ(static_cast<int>(errc::sender_not_allowed), 19);
  EXPECT_EQ(make_error_code(errc::sender_not_allowed).message(), "sender not allowed");

  allowed = identity::name_allow_list::parse("carol.example,ALICE.example.");
  ASSERT_TRUE(allowed);
  options.allowed_senders = *allowed;
  auto accepted = open(wire, p.bob, p.dns, options);
  ASSERT_TRUE(accepted) << accepted.error().message();
  EXPECT_EQ(accepted->sender, "alice.example");
}

// ---------------------------------------------------------------------------
// Sizes and robustness.

TEST(MessageOpen, RefusesDeeplyNestedJsonInEitherLayerWithoutCrashing) {
  parties p;
  open_options options = pinned();
  options.max_message_size = 1 << 20;
  options.max_plaintext_size = 1 << 20;
  const std::string arrays = std::string(100'000, '[') + std::string(100'000, ']');
  std::string objects;
  for (int i = 0; i < 50'000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(50'000, '}');
  for (const std::string* deep : {&arrays, static_cast<const std::string*>(&objects)}) {
    // Unauthenticated: any publisher can send this.
    const std::string outer = R"({"protected":"eyJhbGciOiJSU0EtT0FFUC0yNTYifQ","unprotected":)" + *deep +
                              R"(,"encrypted_key":"AA","iv":"AA","ciphertext":"AA","tag":"AA"})";
    ASSERT_GT(outer.size(), 200'000u);
    expect_error(open(outer, p.bob, p.dns, options), errc::bad_format);
  }
}

TEST(MessageOpen, RefusesOversizedInputBeforeParsing) {
  parties p;
  open_options options = pinned();
  options.max_message_size = 100;
  // Not even JSON: the size is checked first.
  auto opened = open(std::string(101, '{'), p.bob, p.dns, options);
  expect_error(opened, errc::too_large);
  EXPECT_NE(opened.error().detail.find("MAX_MESSAGE_SIZE"), std::string::npos);
  expect_error(open(std::string(100, '{'), p.bob, p.dns, options), errc::bad_format);
}

TEST(MessageOpen, RefusesPlaintextOverTheLimit) {
  parties p;
  seal_options big;
  big.max_message_size = 0;
  const std::string wire = p.seal_to_bob(std::string(1500, 'a'), big);
  open_options options = pinned();
  options.max_message_size = 1 << 16;
  options.max_plaintext_size = 1000;
  expect_error(open(wire, p.bob, p.dns, options), errc::too_large);
  options.max_plaintext_size = 4000;
  EXPECT_TRUE(open(wire, p.bob, p.dns, options));
}

TEST(MessageSeal, RefusesToProduceAMessageOverTheLimit) {
  parties p;
  auto sealed = seal({"bob.example", std::string(5000, 'a')}, p.alice, p.dns);
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().code, make_error_code(errc::too_large));
}

TEST(MessageSeal, SaysHowManyCharactersOfTextFit) {
  parties p;
  auto sealed = seal({"bob.example", std::string(3000, 'a')}, p.alice, p.dns);
  ASSERT_FALSE(sealed);
  const auto& detail = sealed.error().detail;
  const auto about = detail.find("about ");
  ASSERT_NE(about, std::string::npos) << detail;
  EXPECT_NE(detail.find("characters of text fit"), std::string::npos) << detail;
  const std::size_t fits = std::stoul(detail.substr(about + 6));
  EXPECT_GT(fits, 1000u) << detail;
  EXPECT_TRUE(seal({"bob.example", std::string(fits, 'a')}, p.alice, p.dns)) << "the number said fits: " << fits;
  EXPECT_FALSE(seal({"bob.example", std::string(fits + 64, 'a')}, p.alice, p.dns)) << "and is close: " << fits;
}

TEST(MessageSeal, RefusesTextThatIsNotUtf8AndBadRecipientNames) {
  parties p;
  EXPECT_EQ(seal({"bob.example", "\xff\xfe"}, p.alice, p.dns).error().code, make_error_code(errc::bad_format));
  EXPECT_EQ(seal({"bob..example", "x"}, p.alice, p.dns).error().code, make_error_code(errc::bad_format));
}

TEST(MessageOpen, RefusesSignedTextThatIsNotUtf8) {
  parties p;
  auto wire = encrypt_jwe(
      test::raw_jws(test::v2_header("RS256", "alice.example", "bob.example", test::seconds_of(test_now), "u"),
                    "\xc0\xaf", rsa_key(0)),
      *p.bob.key, dns_uri("bob.example"), serialization::flattened_json);
  expect_error(open(*wire, p.bob, p.dns, pinned()), errc::bad_format);
}

TEST(MessageOpen, AnExceptionFromTheIdentitySourceBecomesAnError) {
  parties p;
  const std::string wire = p.seal_to_bob("x");
  p.dns.throw_on("alice.example");
  expect_error(open(wire, p.bob, p.dns, pinned()), errc::internal_error);
  p.dns.throw_on("bob.example");
  auto sealed = seal({"bob.example", "x"}, p.alice, p.dns);
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().code, make_error_code(errc::internal_error));
}

TEST(MessageOpen, RefusesGarbageWithTypedErrors) {
  parties p;
  for (const std::string& garbage :
       std::vector<std::string>{"", "{", "{}", "[]", "null", "a.b.c.d.e", "....", "{\"protected\":1}",
                                "eyJhbGciOiJub25lIn0.e30.", std::string(3000, '.')}) {
    auto opened = open(garbage, p.bob, p.dns, pinned());
    ASSERT_FALSE(opened) << garbage;
    EXPECT_EQ(opened.error().code.category(), jose_category()) << garbage;
  }
}

TEST(MessageOpen, IdentityWithoutKeyIsRefusedNotCrashed) {
  parties p;
  identity::local_identity keyless;
  keyless.name = "bob.example";
  expect_error(open(p.seal_to_bob("x"), keyless, p.dns, pinned()), errc::unsupported_key);
}

}  // namespace
}  // namespace danemq::jose
