// Key rotation under traffic, with the real DNS rig (Knot taking TSIG-signed
// updates, a validating Unbound) and a real Mosquitto: bob's receiver keeps
// running while danemq-maintenance takes bob's identity through rotate
// begin, commit and finish, with a TTL of 2 s and a horizon of 10 s. A
// message every 100 ms reaches bob's inbox, none is quarantined, a message
// encrypted to the old key and delivered after commit is accepted, one
// signed by bob's old key before commit verifies at carol's after it, and
// each phase refuses (exit 4) while it is not due.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "danemq/identity/key_set.hpp"
#include "support/e2e_support.hpp"

namespace danemq::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* ttl = "2";
constexpr const char* horizon = "10s";

std::string all(const test::command_result& r) {
  return "exit " + std::to_string(r.exit_code) + "\n" + r.out + r.err;
}

class KeyRotation : public ::testing::Test {
 protected:
  KeyRotation() : world_(world_options{.key_type = identity::key_type::ec_p256}) {}

  /// danemq-maintenance as bob, with DNS updates and the short TTL and horizon.
  test::command_result maintenance(std::vector<std::string> args) {
    auto env = world_.env("bob");
    env["DNS_UPDATE_SERVER"] = world_.dns().authoritative();
    env["DNS_UPDATE_TSIG"] = world_.dns().tsig();
    env["TLSA_TTL"] = ttl;
    env["MESSAGE_MAX_AGE"] = horizon;
    args.insert(args.begin(), (test::binary_dir() / "danemq-maintenance").string());
    return test::run_command(args, env, {}, 30s);
  }

  /// Runs `rotate <phase>` every 250 ms until it succeeds (not "not yet").
  test::command_result wait_for(const std::string& phase, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      auto result = maintenance({"rotate", phase});
      if (result.exit_code != 4 || std::chrono::steady_clock::now() > deadline) return result;
      std::this_thread::sleep_for(250ms);
    }
  }

  world world_;
};

TEST_F(KeyRotation, UnderTrafficLosesNothingAndEachPhaseWaitsItsTurn) {
  const std::map<std::string, std::string> receiver_env{{"MESSAGE_MAX_AGE", horizon}, {"DANE_CACHE_MAX_TTL", "2s"}};
  // The record as a fleet would have it before the rotation, with the short TTL.
  ASSERT_EQ(maintenance({"publish-tlsa"}).exit_code, 0);
  world_.dns().flush(test::dns_rig::signed_zone);
  auto bob = world_.start_receiver("bob", receiver_env);
  auto carol = world_.start_receiver("carol", receiver_env);
  const auto bob_pid = bob->pid();

  // Sealed to bob's old key before the rotation, delivered after commit.
  const auto to_old_key = world_.seal("alice", "bob", "sealed before begin");
  // Signed by bob's old key before commit, delivered to carol after it.
  const auto signed_by_old_key = world_.seal("bob", "carol", "signed before commit");

  // The traffic: alice seals (DANE lookup of bob, cached for the TTL) and
  // publishes a message every 100 ms over one connection.
  mqtt::client_options options;
  options.host = world_.broker().host();
  options.port = world_.broker().port();
  options.clean_session = true;
  mqtt::client publisher(options, [](std::vector<mqtt::message>&) { return ok(); });
  ASSERT_TRUE(publisher.start());
  ASSERT_TRUE(publisher.wait_connected(10s)) << publisher.last_error();
  auto lookup = world_.dns().discovery_config();
  lookup.pkix_cd = false;
  lookup.cache.max_ttl = std::chrono::seconds(2);
  auto alice_lookup = dane::discovery::create(lookup).value();
  std::atomic<bool> sending{true};
  std::atomic<int> sent{0};
  std::atomic<int> seal_failures{0};
  std::thread traffic([&] {
    while (sending) {
      auto wire = jose::seal(jose::message_to_send{"bob.danemq.test", "tick " + std::to_string(sent.load())},
                             world_.id("alice"), *alice_lookup);
      if (!wire) {
        ++seal_failures;
      } else {
        auto ack = publisher.publish("bob.danemq.test", std::vector<std::uint8_t>(wire->begin(), wire->end()), 1);
        if (ack.wait_for(10s) == std::future_status::ready && ack.get()) ++sent;
      }
      std::this_thread::sleep_for(100ms);
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

  // commit and finish refuse before begin.
  EXPECT_EQ(maintenance({"rotate", "commit"}).exit_code, 4);
  EXPECT_EQ(maintenance({"rotate", "finish"}).exit_code, 4);

  const auto begun = maintenance({"rotate", "begin"});
  ASSERT_EQ(begun.exit_code, 0) << all(begun);
  EXPECT_TRUE(std::filesystem::exists(world_.crypto_path() / "bob.danemq.test.next.key.pem"));
  const auto twice = maintenance({"rotate", "begin"});
  EXPECT_EQ(twice.exit_code, 4) << all(twice);
  EXPECT_NE(twice.err.find("not yet: a rotation is already under way"), std::string::npos) << all(twice);
  const auto early_commit = maintenance({"rotate", "commit"});
  EXPECT_EQ(early_commit.exit_code, 4) << all(early_commit);
  EXPECT_NE(early_commit.err.find("not yet: waiting"), std::string::npos) << all(early_commit);
  const auto early_finish = maintenance({"rotate", "finish"});
  EXPECT_EQ(early_finish.exit_code, 4) << all(early_finish);

  const auto committed = wait_for("commit", 20s);
  ASSERT_EQ(committed.exit_code, 0) << all(committed);
  EXPECT_TRUE(std::filesystem::exists(world_.crypto_path() / "bob.danemq.test.prev.key.pem"));
  EXPECT_FALSE(std::filesystem::exists(world_.crypto_path() / "bob.danemq.test.next.key.pem"));
  // Held back until after the switch: the old key still decrypts, the old record still verifies.
  world_.publish("bob", {to_old_key});
  world_.publish("carol", {signed_by_old_key});

  const auto status = maintenance({"rotate", "status", "--json"});
  EXPECT_EQ(status.exit_code, 0) << all(status);
  EXPECT_NE(status.out.find("\"phase\":\"committed\""), std::string::npos) << all(status);
  const auto early = maintenance({"rotate", "finish"});
  EXPECT_EQ(early.exit_code, 4) << all(early);
  EXPECT_NE(early.err.find("the acceptance horizon"), std::string::npos) << all(early);

  const auto finished = wait_for("finish", 20s);
  ASSERT_EQ(finished.exit_code, 0) << all(finished);
  const auto kept = maintenance({"rotate", "finish"});
  EXPECT_EQ(kept.exit_code, 4) << all(kept);
  EXPECT_NE(kept.err.find("the previous key is kept for decryption until"), std::string::npos) << all(kept);
  std::this_thread::sleep_for(1s);
  sending = false;
  traffic.join();

  ASSERT_GT(sent.load(), 50);
  EXPECT_EQ(seal_failures.load(), 0);
  const auto expected = static_cast<std::size_t>(sent.load()) + 1;
  EXPECT_TRUE(world_.wait_for_stored("bob", expected, 30s));
  EXPECT_EQ(world_.inbox("bob").size(), expected);
  EXPECT_TRUE(world_.quarantine("bob").empty()) << world_.quarantine("bob").front().reason.line();
  const auto bob_texts = texts_of(world_.inbox("bob"));
  EXPECT_NE(std::find(bob_texts.begin(), bob_texts.end(), "sealed before begin"), bob_texts.end());
  EXPECT_TRUE(world_.wait_for_stored("carol", 1, 10s));
  EXPECT_EQ(texts_of(world_.inbox("carol")), std::vector<std::string>{"signed before commit"});
  EXPECT_TRUE(bob->running()) << bob->errors();
  EXPECT_EQ(bob->pid(), bob_pid);
  EXPECT_NE(bob->errors().find("identity keys reloaded"), std::string::npos) << bob->errors();

  // DNS holds the new record alone, and it is the local one.
  world_.dns().flush(test::dns_rig::signed_zone);
  const auto check = maintenance({"check"});
  EXPECT_EQ(check.exit_code, 0) << all(check);
  EXPECT_NE(check.out.find("[0] matches the local certificate"), std::string::npos) << all(check);
  EXPECT_EQ(check.out.find("[1]"), std::string::npos) << all(check);

  // One horizon plus the TTL after finish, the previous key is destroyed.
  const auto destroyed = wait_for("finish", 20s);
  ASSERT_EQ(destroyed.exit_code, 0) << all(destroyed);
  EXPECT_FALSE(std::filesystem::exists(world_.crypto_path() / "bob.danemq.test.prev.key.pem"));
  EXPECT_FALSE(std::filesystem::exists(world_.crypto_path() / "bob.danemq.test.rotation.json"));
  const auto health = world_.receiver_command("bob", {"health"});
  EXPECT_EQ(health.exit_code, 0) << all(health);

  // A key DNS does not publish (made, not published): the receiver picks it
  // up and its health says the identity is not in sync.
  ASSERT_EQ(maintenance({"create-selfsigned-id", "--force", "--key-type", "ec-p256"}).exit_code, 0);
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  test::command_result drifted;
  do {
    std::this_thread::sleep_for(500ms);
    drifted = world_.receiver_command("bob", {"health"});
  } while (drifted.exit_code == 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(drifted.exit_code, 1) << all(drifted);
  EXPECT_NE(drifted.out.find("no TLSA record of bob.danemq.test matches the local key"), std::string::npos)
      << all(drifted);
}

TEST(KeyRotationCommands, WatchDrivesItRenewKeepsTheKeyAndACompromisedKeyDiesAtOnce) {
  test::dns_rig rig;
  test::temp_dir crypto("danemq-rotation");
  const std::string name = "dev9._device.danemq.test";
  const std::string tool = (test::binary_dir() / "danemq-maintenance").string();
  std::map<std::string, std::string> env{{"IDENTITY_NAME", name},          {"CRYPTO_PATH", crypto.path().string()},
                                         {"DNS_RESOLVER", rig.resolver()}, {"DNS_UPDATE_SERVER", rig.authoritative()},
                                         {"DNS_UPDATE_TSIG", rig.tsig()},  {"TLSA_TTL", "1"},
                                         {"MESSAGE_MAX_AGE", "10s"}};
  for (const auto& [key, value] : rig.service_env()) env.emplace(key, value);
  const auto run = [&](std::vector<std::string> args, const std::map<std::string, std::string>& extra = {}) {
    auto with = env;
    for (const auto& [key, value] : extra) with[key] = value;
    args.insert(args.begin(), tool);
    return test::run_command(args, with, {}, 30s);
  };
  const auto key_file = [&](const std::string& role) { return crypto.path() / (name + role + ".key.pem"); };
  const auto current_key = [&] { return identity::read_small_file(key_file("")).value(); };
  ASSERT_EQ(run({"create-selfsigned-id", "--key-type", "ec-p256"}).exit_code, 0);
  ASSERT_EQ(run({"publish-tlsa"}).exit_code, 0);
  rig.flush(test::dns_rig::signed_zone);
  const auto first_key = current_key();

  // watch begins a rotation once the certificate is ROTATE_AFTER old, and commits it when due.
  auto watch_env = env;
  watch_env["WATCH_INTERVAL"] = "1";
  watch_env["ROTATE_AFTER"] = "1s";
  test::child_process watch({tool, "watch"}, watch_env);
  ASSERT_TRUE(watch.wait_for_output("rotation: rotate begin: Rotation begun", 20s, true)) << watch.errors();
  ASSERT_TRUE(watch.wait_for_output("rotation: rotate commit: Committed", 20s, true)) << watch.errors();
  watch.signal(SIGTERM);
  ASSERT_TRUE(watch.wait(10s).has_value());
  EXPECT_TRUE(std::filesystem::exists(key_file(".prev")));
  EXPECT_NE(current_key(), first_key);
  const auto waiting = run({"rotate", "status"});
  EXPECT_EQ(waiting.exit_code, 0) << all(waiting);
  EXPECT_NE(waiting.out.find("Rotation of " + name + ": committed"), std::string::npos) << all(waiting);

  // A compromised key: a new one at once, only its record, every other key destroyed.
  const auto before_compromise = current_key();
  const auto replaced = run({"rotate", "begin", "--compromised"});
  ASSERT_EQ(replaced.exit_code, 0) << all(replaced);
  EXPECT_NE(replaced.out.find("Messages still on their way to the old key are lost"), std::string::npos)
      << all(replaced);
  EXPECT_FALSE(std::filesystem::exists(key_file(".prev")));
  EXPECT_FALSE(std::filesystem::exists(crypto.path() / (name + ".rotation.json")));
  EXPECT_NE(current_key(), before_compromise);
  rig.flush(test::dns_rig::signed_zone);
  const auto checked = run({"check"});
  EXPECT_EQ(checked.exit_code, 0) << all(checked);
  EXPECT_EQ(checked.out.find("[1]"), std::string::npos) << all(checked);

  // renew: a new certificate for the same key, published again.
  const auto key_before = current_key();
  const auto renewed = run({"renew"});
  ASSERT_EQ(renewed.exit_code, 0) << all(renewed);
  EXPECT_EQ(current_key(), key_before);
  rig.flush(test::dns_rig::signed_zone);
  EXPECT_EQ(run({"check"}).exit_code, 0);

  // Without DNS updates, begin prints both records to publish by hand.
  const auto by_hand = run({"rotate", "begin"}, {{"DNS_UPDATE_SERVER", ""}});
  ASSERT_EQ(by_hand.exit_code, 0) << all(by_hand);
  EXPECT_NE(by_hand.out.find("DNS_UPDATE_SERVER is not set"), std::string::npos) << all(by_hand);
  std::size_t lines = 0;
  for (auto at = by_hand.out.find("IN TLSA 3 0 0"); at != std::string::npos;
       at = by_hand.out.find("IN TLSA 3 0 0", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 2U) << all(by_hand);
}

}  // namespace
}  // namespace danemq::e2e
