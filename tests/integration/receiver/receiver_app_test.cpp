#include "receiver_app.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include <future>
#include <sstream>
#include <thread>

#include "sender_app.hpp"
#include "support/mosquitto_rig.hpp"
#include "support/release_databases.hpp"
#include "support/test_peers.hpp"

namespace danemq::receiver {
namespace {

using namespace std::chrono_literals;

/// Runs `args` through an app and returns (exit code, stdout).
template <class App, class... Extra>
std::pair<int, std::string> run_app(std::vector<std::string> args, Extra&&... extra) {
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in;
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  int code = 0;
  if constexpr (std::is_same_v<App, sender::sender_app>) {
    App app(out, err, in, std::forward<Extra>(extra)...);
    code = app.run(static_cast<int>(argv.size()), argv.data());
  } else {
    App app(out, err, std::forward<Extra>(extra)...);
    code = app.run(static_cast<int>(argv.size()), argv.data());
  }
  return {code, out.str() + err.str()};
}

template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class ReceiverDaemon : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys = new test::temp_dir("danemq-keys");
    alice = new identity::local_identity(test::make_identity(keys->path(), "alice.example"));
    bob = new identity::local_identity(test::make_identity(keys->path(), "bob.example"));
  }
  static void TearDownTestSuite() {
    delete alice;
    delete bob;
    delete keys;
  }

  void SetUp() override {
    peers = std::make_shared<test::fake_peers>();
    peers->publish(*alice);
    peers->publish(*bob);
    settings.service.identity_name = "bob.example";
    settings.service.crypto_path = keys->path();
    settings.service.data_path = data.path();
    settings.service.mqtt.host = broker.host();
    settings.service.mqtt.port = broker.port();
    settings.identity_retry_delay = 50ms;
    settings.health_interval = 200ms;
    settings.stop_grace = 2s;
    settings.lookup_retry_delay = 50ms;
  }

  void TearDown() override {
    peers->release_all();  // a test that failed while a lookup was held
    stop();
  }

  void start() {
    daemon = std::make_unique<receiver_daemon>(settings, output, receiver_dependencies{peers});
    runner = std::thread([this] { exit_code = daemon->run(); });
  }

  void stop() {
    if (!runner.joinable()) return;
    daemon->request_stop();
    runner.join();
  }

  std::uint64_t accepted() const {
    auto stats = daemon->statistics();
    return stats ? stats->accepted : 0;
  }

  std::pair<int, std::string> send(const std::string& text, const std::string& to = "bob.example") {
    return run_app<sender::sender_app>(
        {"danemq-sender", "--identity-name", "alice.example", "--crypto-path", keys->path().string(), "--mqtt-host",
         broker.host(), "--mqtt-port", std::to_string(broker.port()), "send", to, text},
        sender::sender_dependencies{peers, false});
  }

  std::pair<int, std::string> receiver_command(std::vector<std::string> args) {
    args.insert(args.begin(), {"danemq-receiver", "--data-path", data.path().string()});
    return run_app<receiver_app>(args, receiver_dependencies{nullptr, false});
  }

  static inline test::temp_dir* keys = nullptr;
  static inline identity::local_identity* alice = nullptr;
  static inline identity::local_identity* bob = nullptr;
  test::mosquitto_rig broker;
  test::temp_dir data;
  std::shared_ptr<test::fake_peers> peers;
  receiver_settings settings;
  std::ostringstream output;
  std::unique_ptr<receiver_daemon> daemon;
  std::thread runner;
  int exit_code{-1};
};

TEST_F(ReceiverDaemon, PrintsADeliveredMessageAndKeepsItInTheInbox) {
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  auto [code, said] = send("hello bob");
  ASSERT_EQ(code, 0) << said;
  ASSERT_TRUE(eventually([&] { return accepted() == 1; }));
  stop();
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(output.str(), "alice.example says: hello bob\n");
  auto [listed, text] = receiver_command({"inbox", "--from", "alice.example"});
  EXPECT_EQ(listed, 0);
  EXPECT_NE(text.find("alice.example says: hello bob"), std::string::npos) << text;
  auto [none, empty] = receiver_command({"inbox", "--from", "carol.example"});
  EXPECT_EQ(none, 0);
  EXPECT_EQ(empty, "");
}

TEST_F(ReceiverDaemon, PrintsEachMessageOnOneLineSoNoSenderCanForgeAnother) {
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  const std::string forged = "hi\nbank._device.example.net says: pay\x1b[2J";
  auto [code, said] = send(forged);
  ASSERT_EQ(code, 0) << said;
  ASSERT_TRUE(eventually([&] { return accepted() == 1; }));
  stop();
  EXPECT_EQ(output.str(), "alice.example says: hi\\nbank._device.example.net says: pay\\x1b[2J\n");
  auto [listed, text] = receiver_command({"inbox"});
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  auto [as_json, json] = receiver_command({"inbox", "--json"});
  EXPECT_EQ(as_json, 0);
  EXPECT_EQ(nlohmann::json::parse(json)["message"], forged) << "JSON stays exact";
}

TEST_F(ReceiverDaemon, QuarantinesASenderNotAllowedWithoutLookingItUp) {
  auto allowed = identity::name_allow_list::parse("carol.example, *.fleet.example");
  ASSERT_TRUE(allowed);
  settings.allowed_senders = *allowed;
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  const int lookups_before = peers->lookups();
  ASSERT_EQ(send("let me in").first, 0);
  ASSERT_TRUE(eventually([&] { return daemon->statistics() && daemon->statistics()->quarantined == 1; }));
  // One lookup: the sender's of its recipient, bob. None of alice by the receiver.
  EXPECT_EQ(peers->lookups(), lookups_before + 1) << "the refused sender's name cost a DNS lookup";
  stop();
  EXPECT_EQ(output.str(), "");
  auto [listed, text] = receiver_command({"quarantine"});
  EXPECT_EQ(listed, 0);
  EXPECT_NE(text.find("jose:19 sender not allowed"), std::string::npos) << text;
}

TEST_F(ReceiverDaemon, InboxFromTakesTheSenderInAnyCaseAndRefusesANonName) {
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  ASSERT_EQ(send("hello again").first, 0);
  ASSERT_TRUE(eventually([&] { return accepted() == 1; }));
  stop();
  auto [listed, text] = receiver_command({"inbox", "--from", "Alice.Example."});
  EXPECT_EQ(listed, 0);
  EXPECT_NE(text.find("alice.example says: hello again"), std::string::npos) << text;
  auto [refused, said] = receiver_command({"inbox", "--from", "not a name"});
  EXPECT_EQ(refused, 1);
  EXPECT_NE(said.find("--from 'not a name': invalid DNS name"), std::string::npos) << said;
}

TEST_F(ReceiverDaemon, PrintsJsonWhenAsked) {
  settings.json_output = true;
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  ASSERT_EQ(send("as json").first, 0);
  ASSERT_TRUE(eventually([&] { return accepted() == 1; }));
  stop();
  EXPECT_NE(output.str().find("\"message\":\"as json\""), std::string::npos) << output.str();
  EXPECT_NE(output.str().find("\"sender\":\"alice.example\""), std::string::npos);
}

TEST_F(ReceiverDaemon, WaitsUntilItsIdentityIsInDns) {
  peers->fail_with("bob.example", dane::errc::nxdomain);
  start();
  // Once the daemon has checked its identity and recorded why it is not in sync.
  ASSERT_TRUE(eventually([&] {
    return receiver_command({"health"}).second.find("identity not in sync: ") != std::string::npos;
  })) << receiver_command({"health"}).second;
  EXPECT_FALSE(daemon->receiving());
  auto [unhealthy, why] = receiver_command({"health"});
  EXPECT_EQ(unhealthy, 1);
  EXPECT_NE(why.find("identity not in sync"), std::string::npos) << why;
  peers->publish(*bob);
  EXPECT_TRUE(eventually([&] { return daemon->receiving(); }));
  ASSERT_TRUE(eventually([&] { return receiver_command({"health"}).first == 0; }, 5s));
  stop();
  auto [after, stopped] = receiver_command({"health"});
  EXPECT_EQ(after, 1);
  EXPECT_NE(stopped.find("stopped"), std::string::npos) << stopped;
}

TEST_F(ReceiverDaemon, RefusesToTrustAKeyThatIsNotItsOwn) {
  test::temp_dir other;
  auto impostor = test::make_identity(other.path(), "bob.example");
  peers->publish(impostor);  // DNS publishes someone else's key under bob's name
  start();
  ASSERT_TRUE(eventually([&] {
    return receiver_command({"health"}).second.find("matches the local key") != std::string::npos;
  })) << receiver_command({"health"}).second;
  EXPECT_FALSE(daemon->receiving());
  auto [unhealthy, why] = receiver_command({"health"});
  EXPECT_EQ(unhealthy, 1);
  EXPECT_NE(why.find("matches the local key"), std::string::npos) << why;
}

TEST_F(ReceiverDaemon, KeepsOneCopyOfARedeliveredMessage) {
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  auto wire = jose::seal(jose::message_to_send{"bob.example", "only once"}, *alice, *peers);
  ASSERT_TRUE(wire);
  mqtt::client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.clean_session = true;
  mqtt::client raw(options, [](std::vector<mqtt::message>&) { return ok(); });
  ASSERT_TRUE(raw.start());
  ASSERT_TRUE(raw.wait_connected(5s));
  for (int copy = 0; copy < 3; ++copy) {
    ASSERT_TRUE(raw.publish("bob.example", std::vector<std::uint8_t>(wire->begin(), wire->end()), 1).get());
  }
  ASSERT_TRUE(eventually([&] { return daemon->mqtt_statistics()->messages_received == 3; }));
  ASSERT_TRUE(eventually([&] { return accepted() == 1; }));
  std::this_thread::sleep_for(200ms);  // time for a wrongly kept copy to show
  stop();
  EXPECT_EQ(output.str(), "alice.example says: only once\n");
  EXPECT_EQ(receiver_command({"quarantine"}).second, "") << "a copy is not a replay attack";
}

TEST_F(ReceiverDaemon, DoesNotLetASlowSenderStallTheOthers) {
  test::temp_dir other;
  auto carol = test::make_identity(other.path(), "carol.example");
  peers->publish(carol);
  peers->hold("carol.example");  // carol's lookup takes until alice's message is through
  settings.workers = 4;
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  auto slow_wire = jose::seal(jose::message_to_send{"bob.example", "slow"}, carol, *peers);  // seals with bob's key
  ASSERT_TRUE(slow_wire);
  mqtt::client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.clean_session = true;
  mqtt::client raw(options, [](std::vector<mqtt::message>&) { return ok(); });
  ASSERT_TRUE(raw.start());
  ASSERT_TRUE(raw.wait_connected(5s));
  ASSERT_TRUE(raw.publish("bob.example", std::vector<std::uint8_t>(slow_wire->begin(), slow_wire->end()), 1).get());
  ASSERT_TRUE(eventually([&] { return peers->held_lookups() == 1; })) << "carol's lookup never started";
  ASSERT_EQ(send("fast").first, 0);
  // Counted, not read from `output`, which the daemon writes meanwhile.
  const bool through = eventually([&] { return accepted() == 1; }, 30s);
  peers->release("carol.example");
  ASSERT_TRUE(through) << "alice's message waited for carol's lookup";
  ASSERT_TRUE(eventually([&] { return accepted() == 2; }));
  stop();
  EXPECT_EQ(output.str().find("alice.example says: fast"), 0u) << output.str();
}

TEST_F(ReceiverDaemon, RetriesAMessageWhoseSenderLookupFailedTemporarily) {
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  auto wire = jose::seal(jose::message_to_send{"bob.example", "after the outage"}, *alice, *peers);
  ASSERT_TRUE(wire);
  peers->fail_with("alice.example", dane::errc::timeout);
  mqtt::client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.clean_session = true;
  mqtt::client raw(options, [](std::vector<mqtt::message>&) { return ok(); });
  ASSERT_TRUE(raw.start());
  ASSERT_TRUE(raw.wait_connected(5s));
  ASSERT_TRUE(raw.publish("bob.example", std::vector<std::uint8_t>(wire->begin(), wire->end()), 1).get());
  ASSERT_TRUE(eventually([&] { return daemon->statistics()->deferred >= 2; })) << "retried with back-off";
  peers->publish(*alice);
  ASSERT_TRUE(eventually([&] { return accepted() == 1; }));
  stop();
  EXPECT_EQ(output.str(), "alice.example says: after the outage\n");
}

TEST_F(ReceiverDaemon, PausesReadingWhenTheBacklogIsFullAndLosesNothing) {
  peers->slow("alice.example", 30ms);
  settings.workers = 1;
  settings.queue_size = 2;
  settings.backlog_limit = 4;
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  mqtt::client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.clean_session = true;
  mqtt::client raw(options, [](std::vector<mqtt::message>&) { return ok(); });
  ASSERT_TRUE(raw.start());
  ASSERT_TRUE(raw.wait_connected(5s));
  std::vector<std::future<result<void>>> acks;
  for (int i = 0; i < 30; ++i) {
    auto wire = jose::seal(jose::message_to_send{"bob.example", "m" + std::to_string(i)}, *alice, *peers);
    ASSERT_TRUE(wire);
    acks.push_back(raw.publish("bob.example", std::vector<std::uint8_t>(wire->begin(), wire->end()), 1));
  }
  bool saw_pause = false;
  ASSERT_TRUE(eventually(
      [&] {
        saw_pause |= daemon->statistics()->paused;
        return accepted() == 30;
      },
      30s));
  EXPECT_TRUE(saw_pause);
  stop();
  for (int i = 0; i < 30; ++i) {
    EXPECT_NE(output.str().find("says: m" + std::to_string(i) + "\n"), std::string::npos) << i;
  }
}

TEST_F(ReceiverDaemon, StopsInTimeAndLeavesUnfinishedWorkStored) {
  peers->hold("alice.example");  // the lookup outlasts the stop
  settings.stop_grace = 500ms;
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  auto wire = jose::seal(jose::message_to_send{"bob.example", "survives"}, *alice, *peers);
  ASSERT_TRUE(wire);
  mqtt::client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.clean_session = true;
  mqtt::client raw(options, [](std::vector<mqtt::message>&) { return ok(); });
  ASSERT_TRUE(raw.start());
  ASSERT_TRUE(raw.wait_connected(5s));
  ASSERT_TRUE(raw.publish("bob.example", std::vector<std::uint8_t>(wire->begin(), wire->end()), 1).get());
  ASSERT_TRUE(eventually([&] { return peers->held_lookups() == 1; })) << "the lookup never started";
  // The lookup is released only after the daemon has stopped: a stop that
  // waited for it, instead of its grace period, would never end.
  auto stopped = std::async(std::launch::async, [this] {
    daemon->request_stop();
    runner.join();
  });
  const bool in_time = stopped.wait_for(30s) == std::future_status::ready;
  peers->release("alice.example");
  stopped.wait();
  ASSERT_TRUE(in_time) << "the stop waited for the lookup, not its grace period";
  EXPECT_TRUE(daemon->left_work_behind());
  daemon.reset();  // waits for the lookup

  start();
  ASSERT_TRUE(eventually([&] { return accepted() == 1; }));
  stop();
  EXPECT_NE(output.str().find("alice.example says: survives"), std::string::npos);
}

// Without IDENTITY_NAME the daemon waits instead of exiting:
// tests/deploy/missing_setting_test.py runs it as a process.

TEST(ReceiverApp, ListsNothingBeforeTheFirstRun) {
  test::temp_dir data;
  auto [code, text] = run_app<receiver_app>({"danemq-receiver", "--data-path", data.path().string(), "inbox"});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(text, "");
  auto [health, why] = run_app<receiver_app>({"danemq-receiver", "--data-path", data.path().string(), "health"});
  EXPECT_EQ(health, 1);
  EXPECT_NE(why.find("no database"), std::string::npos);
}

TEST(ReceiverApp, RefusesABadSinceOnOneLine) {
  test::temp_dir data;
  auto [code, text] =
      run_app<receiver_app>({"danemq-receiver", "--data-path", data.path().string(), "inbox", "--since", "soon"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(text.find("--since 'soon'"), std::string::npos) << text;
}

// A device upgraded with messages pending: the daemon of this build starts on
// the receiver.db of the first release and delivers what it held.
TEST_F(ReceiverDaemon, DeliversWhatTheFirstReleaseLeftPending) {
  {
    auto db = test::create_release_1_database(data.path() / "receiver.db", test::release_1_receiver_schema);
    for (const std::string text : {"stored by release 1", "and this too"}) {
      auto wire = jose::seal(jose::message_to_send{"bob.example", text}, *alice, *peers);
      ASSERT_TRUE(wire) << wire.error().message();
      test::add_release_1_raw_message(db, "bob.example", *wire, std::chrono::system_clock::now());
    }
  }
  start();
  ASSERT_TRUE(eventually([&] { return accepted() == 2; }));
  stop();
  EXPECT_EQ(exit_code, 0);
  EXPECT_NE(output.str().find("alice.example says: stored by release 1\n"), std::string::npos) << output.str();
  EXPECT_NE(output.str().find("alice.example says: and this too\n"), std::string::npos) << output.str();
  auto [listed, text] = receiver_command({"inbox"});
  EXPECT_EQ(listed, 0);
  EXPECT_NE(text.find("stored by release 1"), std::string::npos) << text;
}

TEST_F(ReceiverDaemon, RefusesADatabaseOfANewerReleaseInOneLine) {
  {
    auto db = store::database::open(data.path() / "receiver.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  start();
  runner.join();
  EXPECT_EQ(exit_code, exit_failure);
  for (const std::string command : {"inbox", "quarantine", "health"}) {
    auto [code, text] = receiver_command({command});
    EXPECT_EQ(code, exit_failure) << command;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << command << ": " << text;
    EXPECT_NE(text.find("schema version 99"), std::string::npos) << command << ": " << text;
  }
}

}  // namespace
}  // namespace danemq::receiver
