// Interoperation with the original: Debian's python3-jwcrypto, driven by
// tests/integration/jose/jwcrypto_peer.py exactly as the original's dane-jwe-jws
// drives it, is the peer. Messages danemq seals are decrypted and verified
// by it; messages it seals the original's way are opened by danemq.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "danemq/identity/key.hpp"
#include "danemq/jose/message.hpp"
#include "support/jose_test_support.hpp"
#include "support/process.hpp"

namespace danemq::jose {
namespace {

namespace fs = std::filesystem;

const std::string python = "/usr/bin/python3";
const fs::path peer_script = fs::path(DANEMQ_SOURCE_DIR) / "tests" / "integration" / "jose" / "jwcrypto_peer.py";

enum class kind { rsa, ec };
std::string name_of(kind k) {
  return k == kind::rsa ? "rsa" : "ec";
}

/// Two parties per key type, their keys written as the original keeps them (PEM files).
class JwcryptoInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto probe = danemq::test::run_command({python, "-c", "import jwcrypto.jwe, jwcrypto.jws"});
    ASSERT_EQ(probe.exit_code, 0) << "Debian's python3-jwcrypto is required (deps/test.txt): " << probe.err;
  }

  void SetUp() override {
    for (const auto& [name, key] :
         {std::pair{"alice.example", &test::rsa_key(0)}, std::pair{"bob.example", &test::rsa_key(1)},
          std::pair{"erin.example", &test::ec_key(0)}, std::pair{"frank.example", &test::ec_key(1)}}) {
      write(dir_.path() / (std::string(name) + ".key.pem"), crypto::private_key_to_pem(*key));
      write(dir_.path() / (std::string(name) + ".pub.pem"), crypto::public_key_to_pem(*key));
      dns_.publish(name, {key});
      keys_[name] = key;
    }
  }

  static void write(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }

  static std::string sender_of(kind k) { return k == kind::rsa ? "alice.example" : "erin.example"; }
  static std::string recipient_of(kind k) { return k == kind::rsa ? "bob.example" : "frank.example"; }

  /// The peer acting as `me`, knowing `peer`'s public key.
  danemq::test::command_result run_peer(const std::string& mode, const std::string& me, const std::string& peer,
                                        const std::string& input, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{python,
                                  peer_script.string(),
                                  mode,
                                  "--key",
                                  (dir_.path() / (me + ".key.pem")).string(),
                                  "--name",
                                  me,
                                  "--peer",
                                  peer + "=" + (dir_.path() / (peer + ".pub.pem")).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return danemq::test::run_command(argv, {}, input, std::chrono::seconds(30));
  }

  identity::local_identity local(const std::string& name) { return test::local(name, *keys_.at(name)); }

  danemq::test::temp_dir dir_{"danemq-jwcrypto"};
  test::fake_identity_source dns_;
  std::map<std::string, const EVP_PKEY*> keys_;
};

using danemq_to_original = std::tuple<kind, kind, message_format, serialization>;
class DanemqToOriginal : public JwcryptoInterop, public ::testing::WithParamInterface<danemq_to_original> {};

TEST_P(DanemqToOriginal, OriginalDecryptsAndVerifiesWhatDanemqSeals) {
  const auto [sender_kind, recipient_kind, format, form] = GetParam();
  const std::string sender = sender_of(sender_kind);
  const std::string recipient = recipient_of(recipient_kind);
  const std::string text = "Hello from danemq — ünïcödé ✓ " + std::string(150, 'x');
  seal_options options;
  options.format = format;
  options.form = form;
  auto wire = seal({recipient, text}, local(sender), dns_, options);
  ASSERT_TRUE(wire) << wire.error().message();

  const auto result = run_peer("open", recipient, sender, *wire);
  ASSERT_EQ(result.exit_code, 0) << "jwcrypto refused the message: " << result.err << "\nmessage: " << *wire;
  const auto opened = nlohmann::json::parse(result.out);
  EXPECT_EQ(opened["sender"], sender);
  EXPECT_EQ(opened["text"], text);
  const auto& headers = opened["headers"];
  EXPECT_EQ(headers["alg"], sender_kind == kind::rsa ? "RS256" : "ES256");
  EXPECT_EQ(opened["outer_headers"]["alg"], recipient_kind == kind::rsa ? "RSA-OAEP-256" : "ECDH-ES");
  EXPECT_EQ(opened["outer_headers"]["enc"], recipient_kind == kind::rsa ? "A256CBC-HS512" : "A256GCM");
  if (format == message_format::compat) {
    // Exactly the original's signed header.
    nlohmann::json expected;
    expected["alg"] = headers["alg"];
    expected["x5u"] = "dns://" + sender + "?type=TLSA";
    EXPECT_EQ(headers, expected);
  } else {
    EXPECT_EQ(headers["x5u"], "dns:" + sender + "?type=TLSA");
    EXPECT_EQ(headers["aud"], "dns:" + recipient + "?type=TLSA");
    EXPECT_TRUE(headers["iat"].is_number_integer());
    EXPECT_TRUE(headers["jti"].is_string());
  }
}

INSTANTIATE_TEST_SUITE_P(AllPairs, DanemqToOriginal,
                         ::testing::Combine(::testing::Values(kind::rsa, kind::ec),
                                            ::testing::Values(kind::rsa, kind::ec),
                                            ::testing::Values(message_format::compat, message_format::v2),
                                            ::testing::Values(serialization::flattened_json, serialization::compact)),
                         [](const auto& info) {
                           return name_of(std::get<0>(info.param)) + "_to_" + name_of(std::get<1>(info.param)) + "_" +
                                  (std::get<2>(info.param) == message_format::v2 ? "v2" : "compat") + "_" +
                                  (std::get<3>(info.param) == serialization::compact ? "compact" : "json");
                         });

TEST_F(JwcryptoInterop, OriginalRefusesADanemqMessageTamperedInTransit) {
  auto wire = seal({"bob.example", "pay 10"}, local("alice.example"), dns_);
  ASSERT_TRUE(wire);
  auto object = nlohmann::json::parse(*wire);
  auto ciphertext = object["ciphertext"].get<std::string>();
  ciphertext[10] = ciphertext[10] == 'A' ? 'B' : 'A';
  object["ciphertext"] = ciphertext;
  const auto result = run_peer("open", "bob.example", "alice.example", object.dump());
  EXPECT_EQ(result.exit_code, 1) << result.out;
}

using original_to_danemq = std::tuple<kind, kind, bool>;  // sender, recipient, compact
class OriginalToDanemq : public JwcryptoInterop, public ::testing::WithParamInterface<original_to_danemq> {};

TEST_P(OriginalToDanemq, DanemqOpensWhatTheOriginalSealsAsLegacy) {
  const auto [sender_kind, recipient_kind, compact] = GetParam();
  const std::string sender = sender_of(sender_kind);
  const std::string recipient = recipient_of(recipient_kind);
  const std::string text = "Hello from the original — ✓ " + std::string(150, 'y');
  const auto result = run_peer(
      "seal", sender, recipient, text,
      compact ? std::vector<std::string>{"--to", recipient, "--compact"} : std::vector<std::string>{"--to", recipient});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string& wire = result.out;
  EXPECT_EQ(wire.front() == '{', !compact);

  open_options options;
  // The original's messages carry no recipient binding: refused by default...
  auto refused = open(wire, local(recipient), dns_, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::legacy_refused)) << refused.error().message();
  // ...and opened, flagged, with ACCEPT_LEGACY.
  options.accept_legacy = true;
  in_memory_replay_memory replay;
  auto opened = open(wire, local(recipient), dns_, options, &replay);
  ASSERT_TRUE(opened) << opened.error().message() << "\nmessage: " << wire;
  EXPECT_EQ(opened->text, text);
  EXPECT_EQ(opened->sender, sender);
  EXPECT_EQ(opened->recipient, recipient);
  EXPECT_TRUE(opened->legacy);
  EXPECT_EQ(opened->outer_form, compact ? serialization::compact : serialization::flattened_json);
  EXPECT_EQ(opened->inner_form, compact ? serialization::compact : serialization::flattened_json);

  // The peer's message is addressed: another identity refuses it.
  const std::string other = recipient == "bob.example" ? "frank.example" : "bob.example";
  auto misdirected = open(wire, test::local(other, *keys_.at(recipient)), dns_, options);
  ASSERT_FALSE(misdirected);
  EXPECT_EQ(misdirected.error().code, make_error_code(errc::not_for_us));
}

INSTANTIATE_TEST_SUITE_P(Pairs, OriginalToDanemq,
                         ::testing::Values(original_to_danemq{kind::rsa, kind::rsa, false},  // exactly the original
                                           original_to_danemq{kind::rsa, kind::rsa, true},
                                           original_to_danemq{kind::ec, kind::ec, false},
                                           original_to_danemq{kind::ec, kind::ec, true},
                                           original_to_danemq{kind::rsa, kind::ec, false},
                                           original_to_danemq{kind::ec, kind::rsa, false}),
                         [](const auto& info) {
                           return name_of(std::get<0>(info.param)) + "_to_" + name_of(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_compact" : "_json");
                         });

TEST_F(JwcryptoInterop, DanemqRefusesAnOriginalMessageSignedByAKeyNotInDns) {
  // Alice's DNS now holds another key: the original's message no longer verifies.
  const auto result = run_peer("seal", "alice.example", "bob.example", "forged?", {"--to", "bob.example"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  dns_.publish("alice.example", {&test::rsa_key(5)});
  open_options options;
  options.accept_legacy = true;
  auto opened = open(result.out, local("bob.example"), dns_, options);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, make_error_code(errc::signature_failed));
}

}  // namespace
}  // namespace danemq::jose
