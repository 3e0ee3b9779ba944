// An RSA-2048 key in a SoftHSM2 token with the original's message layer
// (Debian's python3-jwcrypto driven by tests/integration/jose/jwcrypto_peer.py)
// as the peer, both ways: the original opens what the token key signs, and
// the token key unwraps (raw RSA in the token, OAEP-SHA-256 decoded in the
// process) what the original encrypts to it.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "danemq/jose/message.hpp"
#include "danemq/pkcs11/token_key.hpp"
#include "support/jose_test_support.hpp"
#include "support/skip.hpp"
#include "support/softhsm_token.hpp"

namespace danemq::jose {
namespace {

namespace fs = std::filesystem;

const std::string python = "/usr/bin/python3";
const fs::path peer_script = fs::path(DANEMQ_SOURCE_DIR) / "tests" / "integration" / "jose" / "jwcrypto_peer.py";

class TokenJwcrypto : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!danemq::test::softhsm_token::available()) DANEMQ_SKIP_UNLESS_CI("SoftHSM2 is not installed (softhsm2)");
    auto probe = danemq::test::run_command({python, "-c", "import jwcrypto.jwe, jwcrypto.jws"});
    ASSERT_EQ(probe.exit_code, 0) << "Debian's python3-jwcrypto is required (deps/test.txt): " << probe.err;
    token_ = std::make_unique<danemq::test::softhsm_token>();
    auto key = pkcs11::generate_token_key(
        {danemq::test::softhsm_token::uri("tok.example"), danemq::test::softhsm_token::module, token_->pin_file()},
        crypto::key_kind::rsa, false);
    ASSERT_TRUE(key) << key.error().message();
    me_.name = "tok.example";
    me_.key = std::move(key->public_key);
    me_.outside_key = std::move(key->operations);
    write(dir_.path() / "tok.example.pub.pem", crypto::public_key_to_pem(*me_.key));
    write(dir_.path() / "alice.example.key.pem", crypto::private_key_to_pem(test::rsa_key(0)));
    write(dir_.path() / "alice.example.pub.pem", crypto::public_key_to_pem(test::rsa_key(0)));
    dns_.publish("tok.example", {me_.key.get()});
    dns_.publish("alice.example", {&test::rsa_key(0)});
  }

  static void write(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }

  danemq::test::command_result run_peer(const std::string& mode, const std::string& input,
                                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{python,
                                  peer_script.string(),
                                  mode,
                                  "--key",
                                  (dir_.path() / "alice.example.key.pem").string(),
                                  "--name",
                                  "alice.example",
                                  "--peer",
                                  "tok.example=" + (dir_.path() / "tok.example.pub.pem").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return danemq::test::run_command(argv, {}, input, std::chrono::seconds(30));
  }

  std::unique_ptr<danemq::test::softhsm_token> token_;
  danemq::test::temp_dir dir_{"danemq-token-jwcrypto"};
  test::fake_identity_source dns_;
  identity::local_identity me_;
};

TEST_F(TokenJwcrypto, OriginalOpensWhatTheTokenKeySigns) {
  seal_options options;
  options.format = message_format::compat;
  auto wire = seal({"alice.example", "signed in the token"}, me_, dns_, options);
  ASSERT_TRUE(wire) << wire.error().message();
  const auto result = run_peer("open", *wire);
  ASSERT_EQ(result.exit_code, 0) << "jwcrypto refused the message: " << result.err;
  const auto opened = nlohmann::json::parse(result.out);
  EXPECT_EQ(opened["sender"], "tok.example");
  EXPECT_EQ(opened["text"], "signed in the token");
  EXPECT_EQ(opened["headers"]["alg"], "RS256");
}

TEST_F(TokenJwcrypto, TokenKeyOpensWhatTheOriginalEncryptsToIt) {
  const auto result = run_peer("seal", "for the token", {"--to", "tok.example"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  open_options options;
  options.accept_legacy = true;
  in_memory_replay_memory replay;
  auto opened = open(result.out, me_, dns_, options, &replay);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->text, "for the token");
  EXPECT_EQ(opened->sender, "alice.example");
}

}  // namespace
}  // namespace danemq::jose
