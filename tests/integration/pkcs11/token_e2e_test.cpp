// A device whose identity key lives in a SoftHSM2 token, end to end with
// real processes, the real broker and the real DNS rig: the key is made in
// the token (create-selfsigned-id --key-uri), the record published by TSIG
// update (publish-tlsa), and messages go both ways with file-key peers. No
// file in CRYPTO_PATH holds the key. A wrong PIN, a missing token and a
// missing module are one-line errors with the documented exit codes, and
// the receiver waits for its token instead of exiting, losing nothing. A
// rotation stays inside the token: begin, commit and finish while messages
// keep arriving, the old key object destroyed at the end.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "danemq/jose/mqtt_token.hpp"
#include "danemq/pkcs11/token_key.hpp"
#include "support/e2e_support.hpp"
#include "support/skip.hpp"
#include "support/softhsm_token.hpp"

namespace danemq::e2e {
namespace {

const std::string device = "tok.danemq.test";

class TokenIdentity : public ::testing::TestWithParam<identity::key_type> {
 protected:
  void SetUp() override {
    if (!test::softhsm_token::available()) DANEMQ_SKIP_UNLESS_CI("SoftHSM2 is not installed (softhsm2)");
    token_ = std::make_unique<test::softhsm_token>();
    world_ = std::make_unique<world>();
  }

  [[nodiscard]] std::map<std::string, std::string> token_env(std::map<std::string, std::string> extra = {}) const {
    auto out = token_->env(device);
    for (auto& [key, value] : extra) out[key] = value;
    return out;
  }

  [[nodiscard]] test::command_result maintenance(const std::vector<std::string>& args,
                                                 const std::map<std::string, std::string>& extra = {}) const {
    std::vector<std::string> argv = {(test::binary_dir() / "danemq-maintenance").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto env = world_->env(device, token_env(extra));
    env["DNS_UPDATE_SERVER"] = world_->dns().authoritative();
    env["DNS_UPDATE_TSIG"] = world_->dns().tsig();
    return test::run_command(argv, env, {}, std::chrono::seconds(60));
  }

  /// create-selfsigned-id in the token, then publish-tlsa by TSIG update.
  void create_and_publish() {
    const auto type = std::string(identity::to_string(GetParam()));
    const auto created =
        maintenance({"create-selfsigned-id", "--key-type", type, "--key-uri", test::softhsm_token::uri(device)}, {});
    ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
    const auto published = maintenance({"publish-tlsa"});
    ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
    world_->dns().flush(test::dns_rig::signed_zone);
    const auto checked = maintenance({"check"});
    ASSERT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  }

  std::unique_ptr<test::softhsm_token> token_;
  std::unique_ptr<world> world_;
};

TEST_P(TokenIdentity, KeyMadeInTheTokenReceivesAndSendsWithFileKeyPeers) {
  create_and_publish();
  auto& w = *world_;

  // Nothing in CRYPTO_PATH holds the key: only the certificate was written.
  EXPECT_FALSE(std::filesystem::exists(w.crypto_path() / (device + ".key.pem")));
  for (const auto& entry : std::filesystem::directory_iterator(w.crypto_path())) {
    if (entry.path().filename().string().rfind(device, 0) != 0) continue;
    EXPECT_EQ(entry.path().filename().string(), device + ".crt.pem");
    std::ifstream file(entry.path());
    const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  }
  auto attributes =
      pkcs11::inspect_private_key({test::softhsm_token::uri(device), test::softhsm_token::module, token_->pin_file()});
  ASSERT_TRUE(attributes) << attributes.error().message();
  EXPECT_FALSE(attributes->extractable);
  EXPECT_TRUE(attributes->sensitive);

  // mqtt-token signs in the token: the key DANE publishes verifies it.
  const auto printed = maintenance({"mqtt-token", "--audience", "broker.danemq.test"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  auto token = jose::parse_mqtt_token(printed.out.substr(0, printed.out.find('\n')));
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(token->claims.iss, device);
  auto published = w.discovery().discover(device);
  ASSERT_TRUE(published) << published.error().message();
  EXPECT_TRUE(jose::verify_mqtt_token(*token, *(*published)->keys.front().public_key));

  // alice (key file) -> the token device.
  auto receiver = w.start_receiver(device, token_env());
  EXPECT_TRUE(receiver->errors().find("Reading " + test::softhsm_token::uri(device)) != std::string::npos)
      << receiver->errors();
  auto sent = w.sender("alice", {"send", device, "to the secure element"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(receiver->wait_for_output("alice.danemq.test says: to the secure element\n", 20s)) << receiver->errors();

  // The token device -> bob (key file).
  auto bob = w.start_receiver("bob");
  auto from_token = w.sender(device, {"send", "bob.danemq.test", "signed in the token"}, token_env());
  ASSERT_EQ(from_token.exit_code, 0) << from_token.err;
  ASSERT_TRUE(bob->wait_for_output(device + " says: signed in the token\n", 20s)) << bob->errors();
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_TRUE(w.quarantine(device).empty());
  EXPECT_EQ(receiver->stop(), 0);
  EXPECT_EQ(bob->stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, TokenIdentity,
                         ::testing::Values(identity::key_type::ec_p256, identity::key_type::rsa_2048),
                         [](const auto& info) {
                           return info.param == identity::key_type::ec_p256 ? "P256" : "Rsa2048";
                         });

class TokenRotation : public TokenIdentity {};

TEST_P(TokenRotation, BeginCommitFinishInsideTheTokenWhileMessagesKeepArriving) {
  const std::map<std::string, std::string> rotation{{"TLSA_TTL", "2"}, {"MESSAGE_MAX_AGE", "10s"}};
  const auto type = std::string(identity::to_string(GetParam()));
  ASSERT_EQ(maintenance({"create-selfsigned-id", "--key-type", type, "--key-uri", test::softhsm_token::uri(device)})
                .exit_code,
            0);
  ASSERT_EQ(maintenance({"publish-tlsa"}, rotation).exit_code, 0);
  auto& w = *world_;
  w.dns().flush(test::dns_rig::signed_zone);
  auto receiver = w.start_receiver(device, token_env({{"MESSAGE_MAX_AGE", "10s"}, {"DANE_CACHE_MAX_TTL", "2s"}}));
  const auto receiver_pid = receiver->pid();
  const auto to_old_key = w.seal("alice", device, "sealed before begin");
  const auto run_phase = [&](const std::string& phase) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
      auto result = maintenance({"rotate", phase}, rotation);
      if (result.exit_code != 4 || std::chrono::steady_clock::now() > deadline) return result;
      std::this_thread::sleep_for(250ms);
    }
  };
  const auto token_of = [&](const std::string& object) {
    return pkcs11::token_settings{test::softhsm_token::uri(object), test::softhsm_token::module, token_->pin_file()};
  };

  // alice writes every 200 ms, each message sealed to what DNS publishes then.
  std::atomic<bool> sending{true};
  std::atomic<int> sent{0};
  std::thread traffic([&] {
    while (sending) {
      w.publish(device, {w.seal("alice", device, "tick " + std::to_string(sent.load()))});
      ++sent;
      std::this_thread::sleep_for(200ms);
    }
  });
  struct joiner {
    std::atomic<bool>& sending;
    std::thread& thread;
    ~joiner() {
      sending = false;
      if (thread.joinable()) thread.join();
    }
  } const join_traffic{sending, traffic};

  const auto begun = maintenance({"rotate", "begin"}, rotation);
  ASSERT_EQ(begun.exit_code, 0) << begun.out << begun.err;
  auto next = pkcs11::inspect_private_key(token_of(device + ".next"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_FALSE(next->extractable);
  EXPECT_TRUE(next->sensitive);
  EXPECT_EQ(maintenance({"rotate", "begin"}, rotation).exit_code, 4);

  const auto committed = run_phase("commit");
  ASSERT_EQ(committed.exit_code, 0) << committed.out << committed.err;
  EXPECT_NE(committed.out.find(test::softhsm_token::uri(device + ".prev")), std::string::npos) << committed.out;
  EXPECT_EQ(pkcs11::open_token_key(token_of(device + ".next")).error().code,
            make_error_code(pkcs11::errc::key_not_found));
  ASSERT_TRUE(pkcs11::open_token_key(token_of(device + ".prev")));
  w.publish(device, {to_old_key});  // decrypted by the previous key, still in the token
  const auto status = maintenance({"rotate", "status"}, rotation);
  EXPECT_NE(status.out.find("previous: " + test::softhsm_token::uri(device + ".prev")), std::string::npos)
      << status.out << status.err;

  const auto finished = run_phase("finish");
  ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  std::this_thread::sleep_for(1s);
  sending = false;
  traffic.join();
  const auto destroyed = run_phase("finish");
  ASSERT_EQ(destroyed.exit_code, 0) << destroyed.out << destroyed.err;
  EXPECT_EQ(pkcs11::open_token_key(token_of(device + ".prev")).error().code,
            make_error_code(pkcs11::errc::key_not_found));
  EXPECT_FALSE(std::filesystem::exists(w.crypto_path() / (device + ".prev.crt.pem")));

  const auto expected = static_cast<std::size_t>(sent.load()) + 1;
  ASSERT_GT(sent.load(), 20);
  EXPECT_TRUE(w.wait_for_stored(device, expected, 30s)) << receiver->errors();
  EXPECT_EQ(w.inbox(device).size(), expected);
  EXPECT_TRUE(w.quarantine(device).empty()) << w.quarantine(device).front().reason.line();
  const auto texts = texts_of(w.inbox(device));
  EXPECT_NE(std::find(texts.begin(), texts.end(), "sealed before begin"), texts.end());
  EXPECT_EQ(receiver->pid(), receiver_pid);
  EXPECT_NE(receiver->errors().find("identity keys reloaded"), std::string::npos) << receiver->errors();

  // The new key signs and DNS publishes it alone; still no key in a file.
  w.dns().flush(test::dns_rig::signed_zone);
  const auto checked = maintenance({"check"});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_EQ(checked.out.find("[1]"), std::string::npos) << checked.out;
  for (const auto& entry : std::filesystem::directory_iterator(w.crypto_path())) {
    if (entry.path().filename().string().rfind(device, 0) == 0) {
      EXPECT_EQ(entry.path().filename().string(), device + ".crt.pem");
    }
  }
  EXPECT_EQ(receiver->stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(P256, TokenRotation, ::testing::Values(identity::key_type::ec_p256));

class TokenFailures : public TokenIdentity {};

TEST_P(TokenFailures, WrongPinMissingTokenAndMissingModuleAreOneLineErrorsAndTheReceiverWaits) {
  create_and_publish();
  auto& w = *world_;
  const auto wrong_pin = token_->directory() / "wrong-pin";
  test::softhsm_token::write_pin_file(wrong_pin, "00000000");
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> broken{
      {{{"PKCS11_PIN_FILE", wrong_pin.string()}}, "refuses the PIN"},
      {{{"IDENTITY_KEY_URI", "pkcs11:token=elsewhere;object=" + device}}, "PKCS#11 token not found"},
      {{{"PKCS11_MODULE", "/nonexistent/libpkcs11.so"}}, "PKCS#11 module unavailable"},
  };
  for (const auto& [env, says] : broken) {
    const auto tlsa = maintenance({"generate-tlsa"}, env);
    EXPECT_EQ(tlsa.exit_code, 2) << tlsa.err;
    EXPECT_NE(tlsa.err.find(says), std::string::npos) << tlsa.err;
    EXPECT_EQ(std::count(tlsa.err.begin(), tlsa.err.end(), '\n'), 1) << tlsa.err;
    const auto sent = w.sender(device, {"send", "bob.danemq.test", "x"}, token_env(env));
    EXPECT_EQ(sent.exit_code, 1) << sent.err;
    EXPECT_NE(sent.err.find(says), std::string::npos) << sent.err;
  }

  // The receiver's persistent session exists; messages wait in the broker
  // while the receiver cannot log in to its token.
  {
    auto receiver = w.start_receiver(device, token_env());
    ASSERT_EQ(receiver->stop(), 0);
  }
  std::vector<std::string> texts;
  std::vector<std::string> wires;
  for (int i = 0; i < 5; ++i) {
    texts.push_back("while the token was locked #" + std::to_string(i));
    wires.push_back(w.seal("alice", device, texts.back()));
  }
  w.publish(device, wires);
  const auto pin_file = token_->directory() / "receiver-pin";
  test::softhsm_token::write_pin_file(pin_file, "00000000");
  test::child_process receiver({(test::binary_dir() / "danemq-receiver").string()},
                               w.env(device, token_env({{"PKCS11_PIN_FILE", pin_file.string()}})));
  ASSERT_TRUE(receiver.wait_for_output("refuses the PIN", 20s, true)) << receiver.errors();
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(receiver.running()) << "waits for its token, does not exit:\n" << receiver.errors();
  EXPECT_EQ(w.inbox(device).size(), 0u);

  test::softhsm_token::write_pin_file(pin_file, test::softhsm_token::pin);
  ASSERT_TRUE(w.wait_for_stored(device, texts.size(), 30s)) << receiver.errors();
  EXPECT_EQ(texts_of(w.inbox(device)), texts);
  EXPECT_TRUE(w.quarantine(device).empty());

  // The token goes away while the receiver runs: what arrives waits, and
  // health says why (a supervisor that restarts unhealthy services, such as
  // Balena's, then restarts it).
  const auto tokens = token_->directory() / "tokens";
  const auto away = token_->directory() / "tokens.away";
  std::filesystem::rename(tokens, away);
  w.publish(device, {w.seal("alice", device, "while the token was away")});
  std::string health;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto asked = w.receiver_command(device, {"health"});
    health = asked.out + asked.err;
    if (health.find("identity key unavailable") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(health.find("identity key unavailable, messages wait"), std::string::npos) << health << receiver.errors();
  EXPECT_EQ(w.inbox(device).size(), texts.size()) << "waits, not accepted";
  EXPECT_TRUE(w.quarantine(device).empty()) << "and never quarantined for it";
  EXPECT_EQ(w.pending(device), 1u);
  EXPECT_EQ(receiver.stop(), 0);
  // The token back and the receiver started again: delivered.
  std::filesystem::rename(away, tokens);
  test::child_process again({(test::binary_dir() / "danemq-receiver").string()},
                            w.env(device, token_env({{"PKCS11_PIN_FILE", pin_file.string()}})));
  ASSERT_TRUE(w.wait_for_stored(device, texts.size() + 1, 30s)) << again.errors();
  EXPECT_EQ(w.inbox(device).back().message, "while the token was away");
  EXPECT_EQ(again.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(P256, TokenFailures, ::testing::Values(identity::key_type::ec_p256));

}  // namespace
}  // namespace danemq::e2e
