// End to end with the original's message format, both ways: Debian's
// python3-jwcrypto driven as the original's dane-jwe-jws drives it
// (tests/integration/jose/jwcrypto_peer.py) reads what `danemq-sender --format
// compat` publishes, and danemq-receiver reads what the original seals.

#include <condition_variable>
#include <fstream>
#include <mutex>

#include "danemq/crypto/openssl.hpp"
#include "support/e2e_support.hpp"
#include "support/skip.hpp"

namespace danemq::e2e {
namespace {

const std::string python = "/usr/bin/python3";
const std::filesystem::path peer_script =
    std::filesystem::path(DANEMQ_SOURCE_DIR) / "tests/integration/jose/jwcrypto_peer.py";

class EndToEndCompat : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::have_program(python) || test::run_command({python, "-c", "import jwcrypto.jwe"}).exit_code != 0) {
      DANEMQ_SKIP_UNLESS_CI("python3-jwcrypto is not installed (deps/test.txt)");
    }
    for (const auto* who : {"alice", "bob"}) {
      const auto& id = w.id(who);
      std::ofstream(keys.path() / (std::string(who) + ".pub.pem")) << crypto::public_key_to_pem(*id.key);
    }
  }

  /// The original's peer acting as `me` (our key file), knowing `peer`'s public key.
  test::command_result original(const std::string& mode, const std::string& me, const std::string& peer,
                                const std::string& input, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {python,
                                     peer_script.string(),
                                     mode,
                                     "--key",
                                     (w.crypto_path() / (full_name(me) + ".key.pem")).string(),
                                     "--name",
                                     full_name(me),
                                     "--peer",
                                     full_name(peer) + "=" + (keys.path() / (peer + ".pub.pem")).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run_command(argv, {}, input, 30s);
  }

  world w;
  test::temp_dir keys{"danemq-compat-keys"};
};

TEST_F(EndToEndCompat, TheOriginalReadsWhatDanemqSendsInCompatFormat) {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::string> captured;
  mqtt::client_options options;
  options.host = w.broker().host();
  options.port = w.broker().port();
  options.client_id = "original-bob";
  options.subscriptions = {{"bob.danemq.test", 1}};
  mqtt::client original_bob(options, [&](std::vector<mqtt::message>& batch) {
    std::lock_guard lock(mutex);
    for (auto& m : batch) captured.emplace_back(m.payload.begin(), m.payload.end());
    arrived.notify_all();
    return ok();
  });
  ASSERT_TRUE(original_bob.start());
  ASSERT_TRUE(original_bob.wait_connected(10s));

  auto sent = w.sender("alice", {"--format", "compat", "send", "bob.danemq.test", "for the original"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::unique_lock lock(mutex);
  ASSERT_TRUE(arrived.wait_for(lock, 10s, [&] { return !captured.empty(); }));
  const auto opened = original("open", "bob", "alice", captured.front());
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  EXPECT_NE(opened.out.find("\"sender\": \"alice.danemq.test\""), std::string::npos) << opened.out;
  EXPECT_NE(opened.out.find("\"text\": \"for the original\""), std::string::npos) << opened.out;
  EXPECT_NE(opened.out.find("dns://alice.danemq.test?type=TLSA"), std::string::npos) << "the original's x5u form";
}

TEST_F(EndToEndCompat, DanemqReadsTheOriginalAsLegacyOnlyWhenAllowed) {
  const auto first = original("seal", "alice", "bob", "from the original", {"--to", "bob.danemq.test"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  {
    auto bob = w.start_receiver("bob", {{"ACCEPT_LEGACY", "1"}});
    w.publish("bob", {first.out});
    ASSERT_TRUE(bob->wait_for_output("alice.danemq.test says: from the original\n", 20s)) << bob->errors();
    EXPECT_EQ(bob->stop(), 0);
  }
  const auto inbox = w.inbox("bob");
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_TRUE(inbox[0].legacy);
  EXPECT_FALSE(inbox[0].jti.has_value());

  const auto second = original("seal", "alice", "bob", "not allowed now", {"--to", "bob.danemq.test"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto bob = w.start_receiver("bob");
  w.publish("bob", {second.out});
  ASSERT_TRUE(w.wait_for_stored("bob", 2)) << bob->errors();
  const auto refused = w.quarantine("bob");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].reason.value, static_cast<int>(jose::errc::legacy_refused)) << refused[0].reason.text;
  EXPECT_EQ(bob->stop(), 0);
}

TEST_F(EndToEndCompat, TheOriginalGetsNoReceiptAndNoExtraMessageFromADanemqDevice) {
  // The original's alice listens on her topic, as the original's receiver does.
  std::mutex mutex;
  std::vector<std::string> on_alices_topic;
  mqtt::client_options options;
  options.host = w.broker().host();
  options.port = w.broker().port();
  options.client_id = "original-alice";
  options.subscriptions = {{"alice.danemq.test", 1}};
  mqtt::client original_alice(options, [&](std::vector<mqtt::message>& batch) {
    std::lock_guard lock(mutex);
    for (auto& m : batch) on_alices_topic.emplace_back(m.payload.begin(), m.payload.end());
    return ok();
  });
  ASSERT_TRUE(original_alice.start());
  ASSERT_TRUE(original_alice.wait_connected(10s));
  const auto heard = [&] {
    std::lock_guard lock(mutex);
    return on_alices_topic.size();
  };
  // bob's device: its receiver and the `run` that would send its receipts.
  auto bob = w.start_receiver("bob", {{"ACCEPT_LEGACY", "1"}});
  test::child_process bobs_runner({(test::binary_dir() / "danemq-sender").string(), "run"},
                                  w.env("bob", {{"OUTBOX_POLL_INTERVAL", "100ms"}}));

  const auto sealed = original("seal", "alice", "bob", "from the original", {"--to", "bob.danemq.test"});
  ASSERT_EQ(sealed.exit_code, 0) << sealed.err;
  w.publish("bob", {sealed.out});
  ASSERT_TRUE(w.wait_for_stored("bob", 1)) << bob->errors();
  ASSERT_EQ(w.inbox("bob").size(), 1u);
  EXPECT_TRUE(w.inbox("bob")[0].legacy);
  std::this_thread::sleep_for(1500ms);  // fifteen rounds of bob's outbox
  EXPECT_EQ(heard(), 0u) << "nothing for the original: no receipt, no message";
  {
    auto outbox = store::outbox::open(w.data_path("bob") / "sender.db", store::open_options{.read_only = true});
    if (outbox) {
      EXPECT_TRUE(outbox->oldest().value().empty()) << "nothing waits for it either";
    }
  }

  // The listener hears what there is: a danemq alice's message gets its receipt here.
  ASSERT_EQ(w.sender("alice", {"send", "bob.danemq.test", "from danemq"}).exit_code, 0);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (heard() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(heard(), 1u) << bobs_runner.errors();
  original_alice.stop();
}

}  // namespace
}  // namespace danemq::e2e
