// Tampering, table-driven: one byte of each field of each serialization is
// flipped (in the decoded bytes, re-encoded canonically, as an attacker
// would), and open() must refuse with exactly the expected error.

#include <gtest/gtest.h>

#include <functional>

#include "danemq/jose/dns_uri.hpp"
#include "danemq/jose/jwe.hpp"
#include "danemq/jose/message.hpp"
#include "encoding.hpp"
#include "json_serialization.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose {
namespace {

using bytes_mutation = std::function<void(std::string&)>;

/// XORs the byte at `position` with `mask`.
bytes_mutation flip_at(std::size_t position, std::uint8_t mask = 0x01) {
  return [=](std::string& data) {
    ASSERT_LT(position, data.size());
    data[position] = static_cast<char>(data[position] ^ mask);
  };
}
bytes_mutation flip_middle() {
  return [](std::string& data) {
    ASSERT_FALSE(data.empty());
    data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x01);
  };
}
/// Flips a byte inside the first occurrence of `anchor` (a header's JSON text).
bytes_mutation flip_in(std::string anchor, std::size_t offset, std::uint8_t mask) {
  return [=](std::string& data) {
    const auto found = data.find(anchor);
    ASSERT_NE(found, std::string::npos) << anchor << " in " << data;
    data[found + offset] = static_cast<char>(data[found + offset] ^ mask);
  };
}

enum class layer { jwe, jws };
enum class field { protected_header, encrypted_key, iv, ciphertext, tag, payload, signature };

struct tampering {
  const char* what;
  layer where;
  field which;
  bytes_mutation mutate;
  errc expected;
  bool rsa_only{false};  ///< the field is empty with ECDH-ES (the encrypted key): there, one is inserted instead
};

std::string* field_of(detail::jwe_parts& parts, field which) {
  switch (which) {
    case field::protected_header: return &parts.protected_b64;
    case field::encrypted_key: return &parts.encrypted_key_b64;
    case field::iv: return &parts.iv_b64;
    case field::ciphertext: return &parts.ciphertext_b64;
    case field::tag: return &parts.tag_b64;
    default: return nullptr;
  }
}
std::string* field_of(detail::jws_parts& parts, field which) {
  switch (which) {
    case field::protected_header: return &parts.protected_b64;
    case field::payload: return &parts.payload_b64;
    case field::signature: return &parts.signature_b64;
    default: return nullptr;
  }
}

void mutate_base64(std::string& b64, const bytes_mutation& mutate) {
  auto decoded = detail::base64url_decode_text(b64, "field");
  ASSERT_TRUE(decoded);
  std::string data = std::move(decoded).value();
  mutate(data);
  b64 = detail::base64url_encode(data);
}

const std::vector<tampering>& table() {
  static const std::vector<tampering> rows{
      // The outer JWE, as it travels.
      {"JWE header: typ JWE -> jWE (accepted by policy, breaks the AAD)", layer::jwe, field::protected_header,
       flip_in(R"("JWE")", 1, 0x20), errc::decryption_failed},
      {"JWE header: recipient name bob -> cob", layer::jwe, field::protected_header, flip_in("bob.example", 0, 0x01),
       errc::not_for_us},
      {"JWE header: first byte is no longer '{'", layer::jwe, field::protected_header, flip_at(0, 0x01),
       errc::bad_format},
      {"JWE header: alg RSA-OAEP-256 / ECDH-ES -> SSA-... / DCDH-...", layer::jwe, field::protected_header,
       flip_in(R"("alg")", 8, 0x01), errc::bad_algorithm},
      {"JWE encrypted key", layer::jwe, field::encrypted_key, flip_middle(), errc::decryption_failed, true},
      {"JWE iv", layer::jwe, field::iv, flip_middle(), errc::decryption_failed},
      {"JWE ciphertext", layer::jwe, field::ciphertext, flip_middle(), errc::decryption_failed},
      {"JWE ciphertext, first block", layer::jwe, field::ciphertext, flip_at(0), errc::decryption_failed},
      {"JWE tag", layer::jwe, field::tag, flip_middle(), errc::decryption_failed},
      {"JWE tag, last byte", layer::jwe, field::tag, [](std::string& d) { d.back() ^= 0x80; }, errc::decryption_failed},
      // The inner JWS, changed and re-encrypted to the recipient (anyone can).
      {"JWS header: sender alice -> Alice (same name, other bytes)", layer::jws, field::protected_header,
       flip_in("alice.example", 0, 0x20), errc::signature_failed},
      {"JWS header: signed recipient bob -> cob", layer::jws, field::protected_header, flip_in("bob.example", 0, 0x01),
       errc::not_for_us},
      {"JWS header: iat one second later", layer::jws, field::protected_header, flip_in(R"("iat")", 15, 0x01),
       errc::signature_failed},
      {"JWS header: first byte is no longer '{'", layer::jws, field::protected_header, flip_at(0, 0x01),
       errc::bad_format},
      {"JWS header: alg RS256 / ES256 -> RS257 / ES257", layer::jws, field::protected_header,
       flip_in(R"("alg")", 11, 0x01), errc::bad_algorithm},
      {"JWS payload", layer::jws, field::payload, flip_middle(), errc::signature_failed},
      {"JWS signature", layer::jws, field::signature, flip_middle(), errc::signature_failed},
      {"JWS signature, last byte", layer::jws, field::signature, [](std::string& d) { d.back() ^= 0x01; },
       errc::signature_failed},
  };
  return rows;
}

using tampering_case =
    std::tuple<std::size_t, bool, serialization>;  // row, RSA (else EC), serialization of both layers
class MessageTampering : public ::testing::TestWithParam<tampering_case> {};

TEST_P(MessageTampering, IsRefusedWithTheExactError) {
  const auto [index, rsa, form] = GetParam();
  const tampering& row = table().at(index);
  const EVP_PKEY& alice_key = rsa ? test::rsa_key(0) : test::ec_key(0);
  const EVP_PKEY& bob_key = rsa ? test::rsa_key(1) : test::ec_key(1);
  const auto alice = test::local("alice.example", alice_key);
  const auto bob = test::local("bob.example", bob_key);
  test::fake_identity_source dns;
  dns.publish("alice.example", {&alice_key});
  dns.publish("bob.example", {&bob_key});
  seal_options seal_with;
  seal_with.form = form;
  seal_with.now = test::test_now;
  auto wire = seal({"bob.example", "pay 10 to carol"}, alice, dns, seal_with);
  ASSERT_TRUE(wire) << wire.error().message();
  open_options open_with;
  open_with.now = test::test_now;
  ASSERT_TRUE(open(*wire, bob, dns, open_with)) << "the untouched message must open";

  std::string tampered;
  if (row.where == layer::jwe) {
    auto parts = detail::split_jwe(*wire);
    ASSERT_TRUE(parts);
    if (row.rsa_only && !rsa) {
      // ECDH-ES has no encrypted key: a message that brings one is malformed.
      parts->encrypted_key_b64 = "AAAA";
      tampered = detail::join_jwe(*parts, form);
      auto opened = open(tampered, bob, dns, open_with);
      ASSERT_FALSE(opened);
      EXPECT_EQ(opened.error().code, make_error_code(errc::bad_format)) << opened.error().message();
      return;
    }
    mutate_base64(*field_of(*parts, row.which), row.mutate);
    tampered = detail::join_jwe(*parts, form);
  } else {
    auto jwe = parse_jwe(*wire, 1 << 16, 1 << 16);
    ASSERT_TRUE(jwe);
    auto inner = decrypt_jwe(*jwe, bob_key, 1 << 16);
    ASSERT_TRUE(inner);
    auto parts = detail::split_jws(*inner);
    ASSERT_TRUE(parts);
    mutate_base64(*field_of(*parts, row.which), row.mutate);
    auto reencrypted =
        encrypt_jwe(detail::join_jws(*parts, form), *test::public_only(bob_key), dns_uri("bob.example"), form);
    ASSERT_TRUE(reencrypted);
    tampered = std::move(reencrypted).value();
  }
  ASSERT_NE(tampered, *wire);
  auto opened = open(tampered, bob, dns, open_with);
  ASSERT_FALSE(opened) << row.what;
  EXPECT_EQ(opened.error().code, make_error_code(row.expected)) << row.what << ": " << opened.error().message();
}

INSTANTIATE_TEST_SUITE_P(EveryFieldOfEverySerialization, MessageTampering,
                         ::testing::Combine(::testing::Range<std::size_t>(0, 18), ::testing::Bool(),
                                            ::testing::Values(serialization::flattened_json, serialization::compact)),
                         [](const auto& info) {
                           return "row" + std::to_string(std::get<0>(info.param)) +
                                  (std::get<1>(info.param) ? "_rsa" : "_ec") +
                                  (std::get<2>(info.param) == serialization::compact ? "_compact" : "_json");
                         });

TEST(MessageTampering, TableCoversEveryRowTheInstantiationRuns) {
  EXPECT_EQ(table().size(), 18U);
}

TEST(MessageTampering, AnotherSpellingOfAnyFieldIsBadFormat) {
  // Wrong alphabet, padding, or non-zero unused bits in the last character
  // (the same bytes spelled differently): refused before any crypto.
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto alice = test::local("alice.example", test::rsa_key(0));
  const auto bob = test::local("bob.example", test::rsa_key(1));
  test::fake_identity_source dns;
  dns.publish("alice.example", {&test::rsa_key(0)});
  dns.publish("bob.example", {&test::rsa_key(1)});
  for (const auto form : {serialization::flattened_json, serialization::compact}) {
    seal_options seal_with;
    seal_with.form = form;
    auto wire = seal({"bob.example", "x"}, alice, dns, seal_with);
    ASSERT_TRUE(wire);
    const auto parts = *detail::split_jwe(*wire);
    for (const field which :
         {field::protected_header, field::encrypted_key, field::iv, field::ciphertext, field::tag}) {
      std::vector<std::string> spellings;
      auto copy = parts;
      const std::string b64 = *field_of(copy, which);
      spellings.push_back(b64.substr(0, b64.size() / 2) + "+" + b64.substr(b64.size() / 2 + 1));
      spellings.push_back(b64 + "=");
      if (b64.size() % 4 != 0) {
        // The last character's low bits are unused: set one of them.
        std::string unused_bit = b64;
        unused_bit.back() = alphabet[alphabet.find(b64.back()) + 1];
        spellings.push_back(unused_bit);
      }
      for (const auto& spelling : spellings) {
        *field_of(copy, which) = spelling;
        auto opened = open(detail::join_jwe(copy, form), bob, dns);
        ASSERT_FALSE(opened) << spelling;
        EXPECT_EQ(opened.error().code, make_error_code(errc::bad_format)) << opened.error().message();
      }
    }
  }
}

}  // namespace
}  // namespace danemq::jose
