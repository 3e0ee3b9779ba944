#include "receiver_app.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>

#include "sender_app.hpp"
#include "support/metrics_scrape.hpp"
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
    settings.require_synced_clock = false;  // this machine's clock may say "unsynchronised"
  }

  void TearDown() override {
    peers->release_all();  // a test that failed while a lookup was held
    stop();
  }

  void start(clock_status clock_synchronised = {}) {
    daemon = std::make_unique<receiver_daemon>(settings, output,
                                               receiver_dependencies{peers, true, std::move(clock_synchronised)});
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
        {"danemq-sender", "--identity-name", "alice.example", "--crypto-path", keys->path().string(), "--data-path",
         sender_data.path().string(), "--mqtt-host", broker.host(), "--mqtt-port", std::to_string(broker.port()),
         "send", to, text},
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
  test::temp_dir sender_data{"danemq-sender-data"};  // alice's sent log, never the default /data/
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

TEST_F(ReceiverDaemon, QuarantineShowReleaseAndPurgeTakeTheListedId) {
  auto allowed = identity::name_allow_list::parse("carol.example");
  ASSERT_TRUE(allowed);
  settings.allowed_senders = *allowed;
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  ASSERT_EQ(send("first refused").first, 0);
  ASSERT_EQ(send("second refused").first, 0);
  ASSERT_EQ(send("third refused").first, 0);
  ASSERT_TRUE(eventually([&] { return daemon->statistics() && daemon->statistics()->quarantined == 3; }));
  stop();

  auto [as_json, json] = receiver_command({"quarantine", "--json"});
  ASSERT_EQ(as_json, 0) << json;
  std::vector<std::int64_t> ids;
  std::istringstream lines(json);
  for (std::string line; std::getline(lines, line);) ids.push_back(nlohmann::json::parse(line).at("id"));
  ASSERT_EQ(ids.size(), 3u);
  auto [listed, text] = receiver_command({"quarantine"});
  EXPECT_NE(text.find(" #" + std::to_string(ids[0]) + " bob.example jose:19"), std::string::npos) << text;

  auto [shown, details] = receiver_command({"quarantine", "show", std::to_string(ids[0])});
  EXPECT_EQ(shown, 0) << details;
  EXPECT_EQ(details.rfind("#" + std::to_string(ids[0]) + " (raw message ", 0), 0u) << details;
  EXPECT_NE(details.find("reason: jose:19 sender not allowed"), std::string::npos) << details;
  EXPECT_EQ(details.find("payload (base64)"), std::string::npos) << details;
  auto [with_payload, bytes] = receiver_command({"quarantine", "show", std::to_string(ids[0]), "--payload"});
  EXPECT_NE(bytes.find("payload (base64): "), std::string::npos) << bytes;
  EXPECT_EQ(receiver_command({"quarantine", "show", "999"}).first, 1);

  // Released while the allow list still refuses alice: quarantined again, after every check.
  auto [refused_again, said] = receiver_command({"quarantine", "release", std::to_string(ids[0])});
  EXPECT_EQ(refused_again, 0) << said;
  start();
  ASSERT_TRUE(eventually([&] { return daemon->statistics() && daemon->statistics()->quarantined == 1; }));
  stop();
  EXPECT_EQ(output.str(), "");

  // ALLOWED_SENDERS changed: released, it is accepted by the running daemon.
  settings.allowed_senders = *identity::name_allow_list::parse("alice.example");
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  EXPECT_TRUE(eventually([&] {
    auto [code, json] = receiver_command({"health", "--json"});
    const auto object = nlohmann::json::parse(json);
    return code == 0 && object["healthy"] == true && object["connected"] == true && object["reason"].is_null();
  })) << receiver_command({"health", "--json"}).second;
  // The first one is quarantined anew (with a new id); the second is still where it was.
  const auto second_id = ids[1];
  auto [released, released_said] = receiver_command({"quarantine", "release", std::to_string(second_id)});
  EXPECT_EQ(released, 0) << released_said;
  ASSERT_TRUE(eventually([&] { return accepted() == 1; })) << "taken by the running daemon";
  stop();
  EXPECT_EQ(output.str(), "alice.example says: second refused\n");
  EXPECT_EQ(receiver_command({"quarantine", "release", std::to_string(second_id)}).first, 1) << "gone";

  // Purge by id, then by age.
  auto [purged, purged_said] = receiver_command({"quarantine", "purge", std::to_string(ids[2])});
  EXPECT_EQ(purged, 0) << purged_said;
  auto [left, left_text] = receiver_command({"quarantine"});
  EXPECT_EQ(std::count(left_text.begin(), left_text.end(), '\n'), 1) << left_text;
  EXPECT_EQ(receiver_command({"quarantine", "purge", "--before", "1h"}).second.find("purged 0"), 0u);
  auto [aged, aged_said] = receiver_command({"quarantine", "purge", "--before", "0s"});
  EXPECT_EQ(aged, 0) << aged_said;
  EXPECT_EQ(aged_said.find("purged 1 "), 0u) << aged_said;
  EXPECT_EQ(receiver_command({"quarantine"}).second, "");
  EXPECT_EQ(receiver_command({"quarantine", "purge"}).first, 1) << "ids or --before";
}

using test::sample;
using test::scrape;

TEST_F(ReceiverDaemon, ServesPrometheusMetricsThatMoveAsMessagesAreAcceptedAndQuarantined) {
  const auto port = test::free_port();
  settings.metrics_address = "127.0.0.1:" + std::to_string(port);
  start();
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  const auto before = scrape(port);
  ASSERT_FALSE(before.empty()) << "no answer on " << settings.metrics_address;
  EXPECT_EQ(sample(before, "danemq_messages_accepted_total"), 0) << before;
  EXPECT_EQ(sample(before, "danemq_replay_memory_entries"), 0) << before;
  EXPECT_NE(before.find("# TYPE danemq_processing_duration_seconds histogram"), std::string::npos) << before;

  ASSERT_EQ(send("counted").first, 0);
  auto [code, said] = run_app<sender::sender_app>(
      {"danemq-sender", "--identity-name", "alice.example", "--crypto-path", keys->path().string(), "--data-path",
       sender_data.path().string(), "--mqtt-host", broker.host(), "--mqtt-port", std::to_string(broker.port()),
       "--format", "compat", "send", "bob.example", "the original's format, refused"},
      sender::sender_dependencies{peers, false});
  ASSERT_EQ(code, 0) << said;
  ASSERT_TRUE(eventually([&] { return daemon->statistics() && daemon->statistics()->quarantined == 1; }));
  ASSERT_TRUE(eventually([&] {
    const auto now = scrape(port);
    return sample(now, "danemq_messages_accepted_total") == 1 && sample(now, "danemq_broker_connected") == 1;
  })) << scrape(port);
  const auto after = scrape(port);
  EXPECT_EQ(sample(after, "danemq_messages_received_total"), 2) << after;
  EXPECT_EQ(sample(after, "danemq_processing_duration_seconds_count"), 1) << after;
  EXPECT_NE(after.find("danemq_messages_quarantined_total{reason=\"jose:"), std::string::npos) << after;
  ASSERT_TRUE(eventually([&] { return sample(scrape(port), "danemq_replay_memory_entries") == 1; }))
      << "the accepted message is remembered against replay\n"
      << scrape(port);
  stop();

  // The same without Prometheus: stats, from the database.
  auto [counted, summary] = receiver_command({"stats", "--since", "1h"});
  EXPECT_EQ(counted, 0) << summary;
  EXPECT_NE(summary.find(": 2 (and 0 copies kept once)\naccepted: 1\nquarantined: 1\n  jose:"), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("not decided yet: 0"), std::string::npos) << summary;
  auto [as_json, json] = receiver_command({"stats", "--json"});
  const auto object = nlohmann::json::parse(json);
  EXPECT_EQ(object["accepted"], 1);
  EXPECT_EQ(object["quarantined"], 1);
  EXPECT_TRUE(object["since"].is_null());
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

TEST_F(ReceiverDaemon, KeepsMessagesUnjudgedUntilTheSystemClockIsSynchronised) {
  settings.require_synced_clock = true;
  std::atomic<bool> synchronised{false};
  start([&synchronised] { return synchronised.load(); });
  ASSERT_TRUE(eventually([&] { return daemon->receiving(); }));
  for (const auto* text : {"one", "two", "three"}) {
    auto [code, said] = send(text);
    ASSERT_EQ(code, 0) << said;
  }
  ASSERT_TRUE(eventually([&] {
    return receiver_command({"health"}).second.find("waiting for the system clock") != std::string::npos;
  })) << receiver_command({"health"}).second;
  EXPECT_EQ(receiver_command({"health"}).first, 1) << "unhealthy while nothing is judged";
  std::this_thread::sleep_for(1s);  // five clock checks
  EXPECT_EQ(accepted(), 0U);
  EXPECT_EQ(daemon->statistics()->quarantined, 0U);
  EXPECT_EQ(daemon->statistics()->backlog, 3U) << "stored, waiting";
  EXPECT_EQ(output.str(), "");

  synchronised = true;
  ASSERT_TRUE(eventually([&] { return accepted() == 3; }));
  ASSERT_TRUE(eventually([&] { return receiver_command({"health"}).first == 0; }, 5s))
      << receiver_command({"health"}).second;
  stop();
  EXPECT_EQ(output.str(), "alice.example says: one\nalice.example says: two\nalice.example says: three\n");
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

TEST(ReceiverApp, PrintsItsVersion) {
  auto [code, text] = run_app<receiver_app>({"danemq-receiver", "--version"});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(text.rfind("danemq-receiver 0.", 0), 0u) << text;
  EXPECT_NE(text.find("\ncjose: "), std::string::npos) << text;
}

TEST(ReceiverApp, AMistypedSubcommandListsTheSubcommands) {
  auto [code, text] = run_app<receiver_app>({"danemq-receiver", "inbx"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(text.find("unknown subcommand 'inbx'; the subcommands are: run, inbox, quarantine, stats, health"),
            std::string::npos)
      << text;
}

TEST(ReceiverApp, SaysThereIsNoDatabaseBeforeTheFirstRun) {
  test::temp_dir data;
  for (const auto* listing : {"inbox", "quarantine"}) {
    auto [code, text] = run_app<receiver_app>({"danemq-receiver", "--data-path", data.path().string(), listing});
    EXPECT_EQ(code, 1) << listing;
    EXPECT_EQ(text.rfind("danemq-receiver: no database at " + (data.path() / "receiver.db").string(), 0), 0u) << text;
  }
  auto [health, why] = run_app<receiver_app>({"danemq-receiver", "--data-path", data.path().string(), "health"});
  EXPECT_EQ(health, 1);
  EXPECT_NE(why.find("no database"), std::string::npos);
  auto [as_json, json] =
      run_app<receiver_app>({"danemq-receiver", "--data-path", data.path().string(), "health", "--json"});
  EXPECT_EQ(as_json, 1);
  const auto object = nlohmann::json::parse(json);
  EXPECT_EQ(object["healthy"], false);
  EXPECT_NE(object["reason"].get<std::string>().find("no database"), std::string::npos) << json;
}

TEST(ReceiverApp, RefusesALimitBelowOne) {
  test::temp_dir data;
  for (const auto* limit : {"0", "-1"}) {
    auto [code, text] =
        run_app<receiver_app>({"danemq-receiver", "--data-path", data.path().string(), "inbox", "--limit", limit});
    EXPECT_EQ(code, 1) << limit;
    EXPECT_NE(text.find("--limit"), std::string::npos) << text;
  }
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
