#include "sender_app.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include <condition_variable>
#include <sstream>
#include <thread>

#include "danemq/store/outbox.hpp"
#include "support/metrics_scrape.hpp"
#include "support/mosquitto_rig.hpp"
#include "support/process.hpp"
#include "support/test_peers.hpp"

namespace danemq::sender {
namespace {

using namespace std::chrono_literals;

TEST(SenderExitCodes, BlameTheRecipientOnlyForItsIdentity) {
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::unknown_in_dns)), exit_recipient);
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::not_dnssec_secure)), exit_recipient);
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::lookup_failed)), exit_recipient);
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::lookup_temporarily_failed)), exit_recipient);
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::unsupported_key)), exit_recipient);
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::too_large)), exit_usage);
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::bad_format)), exit_usage);
  EXPECT_EQ(exit_code_for_seal_failure(fail(jose::errc::internal_error)), exit_usage);
}

/// A subscriber that records what reaches a topic.
class subscriber {
 public:
  subscriber(const test::mosquitto_rig& broker, const std::string& topic) {
    mqtt::client_options options;
    options.host = broker.host();
    options.port = broker.port();
    options.client_id = "test-subscriber";
    options.subscriptions = {{topic, 1}};
    client_ = std::make_unique<mqtt::client>(options, [this](std::vector<mqtt::message>& batch) {
      std::lock_guard lock(mutex_);
      for (auto& m : batch) payloads_.emplace_back(m.payload.begin(), m.payload.end());
      changed_.notify_all();
      return ok();
    });
    EXPECT_TRUE(client_->start());
    EXPECT_TRUE(client_->wait_connected(10s));
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return payloads_.size() >= count; });
  }
  std::vector<std::string> payloads() {
    std::lock_guard lock(mutex_);
    return payloads_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> payloads_;
  std::unique_ptr<mqtt::client> client_;
};

class Sender : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys = new test::temp_dir("danemq-keys");
    alice = new identity::local_identity(test::make_identity(keys->path(), "alice.example"));
    bob = new identity::local_identity(test::make_identity(keys->path(), "bob.example", identity::key_type::ec_p256));
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
  }

  struct outcome {
    int code;
    std::string out;
    std::string err;
  };

  outcome run(std::vector<std::string> args, const std::string& input = {}, unsigned short port = 0) {
    std::vector<std::string> argv = {program,
                                     "--identity-name",
                                     "alice.example",
                                     "--crypto-path",
                                     keys->path().string(),
                                     "--data-path",
                                     data.path().string(),
                                     "--mqtt-host",
                                     broker.host(),
                                     "--mqtt-port",
                                     std::to_string(port != 0 ? port : broker.port()),
                                     "--timeout",
                                     timeout};
    argv.insert(argv.end(), args.begin(), args.end());
    std::ostringstream out;
    std::ostringstream err;
    std::istringstream in(input);
    std::vector<char*> pointers;
    for (auto& arg : argv) pointers.push_back(arg.data());
    sender_app app(out, err, in, sender_dependencies{peers, false});
    const int code = app.run(static_cast<int>(pointers.size()), pointers.data());
    return {code, out.str(), err.str()};
  }

  /// Opens bob's messages as bob would, to check what was sent.
  std::string open_for_bob(const std::string& wire) {
    auto opened = jose::open(wire, *bob, *peers);
    EXPECT_TRUE(opened) << opened.error().message();
    return opened ? opened->text : std::string();
  }

  std::size_t outbox_size() {
    auto box = store::outbox::open(data.path() / "sender.db");
    return box ? box->size().value() : 0;
  }

  static inline test::temp_dir* keys = nullptr;
  static inline identity::local_identity* alice = nullptr;
  static inline identity::local_identity* bob = nullptr;
  std::string program = "danemq-sender";
  std::string timeout = "2s";
  test::mosquitto_rig broker;
  test::temp_dir data;
  std::shared_ptr<test::fake_peers> peers;
};

TEST_F(Sender, PublishesAnEncryptedMessageAndExitsZeroAfterThePuback) {
  subscriber bob_topic(broker, "bob.example");
  auto sent = run({"send", "bob.example", "hello bob"});
  ASSERT_EQ(sent.code, 0) << sent.err;
  EXPECT_EQ(sent.out, "sent to bob.example\n");
  ASSERT_TRUE(bob_topic.wait_for(1));
  const auto wire = bob_topic.payloads()[0];
  EXPECT_EQ(wire.find("hello bob"), std::string::npos) << "the broker sees only ciphertext";
  EXPECT_EQ(open_for_bob(wire), "hello bob");
}

TEST_F(Sender, ActsAsSendMessageUnderTheOriginalsName) {
  subscriber bob_topic(broker, "bob.example");
  program = "/usr/local/bin/send_message";
  auto sent = run({"bob.example", "from the alias"});
  ASSERT_EQ(sent.code, 0) << sent.err;
  ASSERT_TRUE(bob_topic.wait_for(1));
  EXPECT_EQ(open_for_bob(bob_topic.payloads()[0]), "from the alias");
}

TEST_F(Sender, ReadsTheMessageFromStandardInput) {
  subscriber bob_topic(broker, "bob.example");
  auto sent = run({"send", "bob.example", "-"}, "line one\nline two\n");
  ASSERT_EQ(sent.code, 0) << sent.err;
  ASSERT_TRUE(bob_topic.wait_for(1));
  EXPECT_EQ(open_for_bob(bob_topic.payloads()[0]), "line one\nline two\n");
}

TEST_F(Sender, ProducesTheOriginalsFormatWhenAsked) {
  subscriber bob_topic(broker, "bob.example");
  ASSERT_EQ(run({"--format", "compat", "send", "bob.example", "old style"}).code, 0);
  ASSERT_TRUE(bob_topic.wait_for(1));
  jose::open_options lenient;
  lenient.accept_legacy = true;
  auto opened = jose::open(bob_topic.payloads()[0], *bob, *peers, lenient);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->legacy);
}

TEST_F(Sender, UsesTheTopicPrefix) {
  subscriber prefixed(broker, "fleet/bob.example");
  ASSERT_EQ(run({"--mqtt-topic-prefix", "fleet/", "send", "bob.example", "prefixed"}).code, 0);
  EXPECT_TRUE(prefixed.wait_for(1));
}

TEST_F(Sender, ExitsTwoWhenTheRecipientHasNoUsableIdentity) {
  auto unknown = run({"send", "nobody.example", "hi"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("nobody.example"), std::string::npos) << unknown.err;
  test::temp_dir other;
  auto carol = test::make_identity(other.path(), "carol.example");
  peers->publish(carol, false);
  auto insecure = run({"send", "carol.example", "hi"});
  EXPECT_EQ(insecure.code, 2) << insecure.err;
}

TEST_F(Sender, ExitsThreeWhenTheBrokerIsUnreachable) {
  broker.stop();
  auto unreachable = run({"send", "bob.example", "hi"});
  EXPECT_EQ(unreachable.code, 3);
  EXPECT_NE(unreachable.err.find("unreachable"), std::string::npos) << unreachable.err;
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(Sender, ARefusedConnectionEndsAOneOffSendAtOnceWithOneLine) {
  broker.stop();
  timeout = "10s";
  const auto started = std::chrono::steady_clock::now();
  auto refused = run({"send", "bob.example", "hi"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3)) << "no retries until SEND_TIMEOUT";
  EXPECT_EQ(refused.code, 3);
  EXPECT_NE(refused.err.find("Connection refused"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  // With --queue it is queued at once too.
  const auto queued_at = std::chrono::steady_clock::now();
  auto queued = run({"send", "--queue", "bob.example", "hi"});
  EXPECT_LT(std::chrono::steady_clock::now() - queued_at, std::chrono::seconds(3));
  EXPECT_EQ(queued.code, 0) << queued.err;
  EXPECT_EQ(outbox_size(), 1u);
}

TEST_F(Sender, PrintsItsVersionAndThoseOfItsLibraries) {
  auto version = run({"--version"});
  EXPECT_EQ(version.code, 0) << version.err;
  for (const auto* line :
       {"danemq-sender 0.", " (commit ", "\nOpenSSL: OpenSSL 3", "\nlibmosquitto: 2.", "\nldns: 1.", "\ncjose: 0."}) {
    EXPECT_NE(version.out.find(line), std::string::npos) << line << " in\n" << version.out;
  }
}

TEST_F(Sender, AMistypedSubcommandListsTheSubcommands) {
  auto mistyped = run({"sned", "bob.example", "hi"});
  EXPECT_EQ(mistyped.code, 1);
  EXPECT_EQ(mistyped.err,
            "danemq-sender: unknown subcommand 'sned'; the subcommands are: send, run, outbox, sent, chat\n");
}

TEST_F(Sender, HelpOfASubcommandListsEverySettingThatAppliesWithItsValueType) {
  auto send_help = run({"send", "--help"});
  EXPECT_EQ(send_help.code, 0);
  for (const auto* shown : {"--queue", "--format", "--timeout DURATION", "--mqtt-host HOST", "--mqtt-port PORT",
                            "--max-message-size SIZE", "recipient", "message"}) {
    EXPECT_NE(send_help.out.find(shown), std::string::npos) << shown << " in\n" << send_help.out;
  }
  EXPECT_EQ(send_help.out.find("--timeout TEXT"), std::string::npos) << send_help.out;
  EXPECT_NE(send_help.out.find("recipient NAME"), std::string::npos) << send_help.out;
  EXPECT_EQ(send_help.out.find("--window"), std::string::npos) << "a setting of run only:\n" << send_help.out;
  auto run_help = run({"run", "--help"});
  EXPECT_EQ(run_help.code, 0);
  EXPECT_NE(run_help.out.find("--window NUMBER"), std::string::npos) << run_help.out;
  EXPECT_NE(run_help.out.find("--mqtt-host"), std::string::npos) << run_help.out;
  for (const auto* hidden : {"--queue (Env", "--format FORMAT", "--timeout DURATION"}) {
    EXPECT_EQ(run_help.out.find(hidden), std::string::npos) << hidden << " does not apply to run:\n" << run_help.out;
  }
}

TEST_F(Sender, ExitsOneOnUsageErrors) {
  EXPECT_EQ(run({"send", "bob.example"}).code, 1);
  EXPECT_EQ(run({"send", "not a name", "hi"}).code, 1);
  EXPECT_EQ(run({"--format", "v3", "send", "bob.example", "hi"}).code, 1);
  EXPECT_EQ(run({"send", "bob.example", std::string(10000, 'x')}).code, 1) << "over MAX_MESSAGE_SIZE";
  EXPECT_EQ(run({"--help"}).code, 0);
}

TEST_F(Sender, QueuesWhenTheBrokerIsUnreachableAndRunDeliversInOrder) {
  broker.stop();
  for (int i = 0; i < 5; ++i) {
    auto queued = run({"--queue", "send", "bob.example", "queued " + std::to_string(i)});
    ASSERT_EQ(queued.code, 0) << queued.err;
    EXPECT_NE(queued.out.find("queued for bob.example"), std::string::npos) << queued.out;
  }
  EXPECT_EQ(outbox_size(), 5u);
  broker.start();
  // The outbox is not empty: a new --queue message goes behind the others
  // even though the broker is back.
  auto behind = run({"--queue", "send", "bob.example", "queued 5"});
  ASSERT_EQ(behind.code, 0);
  EXPECT_NE(behind.out.find("earlier messages"), std::string::npos) << behind.out;

  subscriber bob_topic(broker, "bob.example");
  auto box = store::outbox::open(data.path() / "sender.db");
  ASSERT_TRUE(box);
  sender_settings settings;
  settings.service.identity_name = "alice.example";
  settings.service.data_path = data.path();
  settings.service.mqtt.host = broker.host();
  settings.service.mqtt.port = broker.port();
  settings.poll_interval = 50ms;
  settings.window = 2;
  outbox_runner runner(settings, *box);
  std::thread running([&] { (void)runner.run(); });
  const bool all = bob_topic.wait_for(6);
  runner.request_stop();
  running.join();
  ASSERT_TRUE(all);
  const auto got = bob_topic.payloads();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(open_for_bob(got[i]), "queued " + std::to_string(i));
  EXPECT_EQ(runner.delivered(), 6u);
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(Sender, RunServesTheOutboxDepthAndOldestAgeAsMetrics) {
  broker.stop();
  for (int i = 0; i < 2; ++i) ASSERT_EQ(run({"--queue", "send", "bob.example", "waiting"}).code, 0);
  auto box = store::outbox::open(data.path() / "sender.db");
  ASSERT_TRUE(box);
  sender_settings settings;
  settings.service.identity_name = "alice.example";
  settings.service.data_path = data.path();
  settings.service.mqtt.host = broker.host();
  settings.service.mqtt.port = broker.port();
  settings.poll_interval = 50ms;
  const auto port = test::free_port();
  settings.metrics_address = "127.0.0.1:" + std::to_string(port);
  outbox_runner runner(settings, *box);
  std::thread running([&] { (void)runner.run(); });
  const auto scraped_within = [&](auto condition) {
    for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
      if (condition(test::scrape(port))) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  // The broker is down: both wait, and the oldest ages.
  double first_age = -1;
  EXPECT_TRUE(scraped_within([&](const std::string& now) {
    first_age = test::sample(now, "danemq_outbox_oldest_age_seconds");
    return test::sample(now, "danemq_outbox_messages") == 2 && first_age > 0;
  })) << test::scrape(port);
  EXPECT_TRUE(scraped_within([&](const std::string& now) {
    return test::sample(now, "danemq_outbox_oldest_age_seconds") > first_age;
  })) << test::scrape(port);
  EXPECT_EQ(test::sample(test::scrape(port), "danemq_outbox_delivered_total"), 0);

  broker.start();
  EXPECT_TRUE(scraped_within([](const std::string& now) {
    return test::sample(now, "danemq_outbox_messages") == 0 &&
           test::sample(now, "danemq_outbox_oldest_age_seconds") == 0 &&
           test::sample(now, "danemq_outbox_delivered_total") == 2;
  })) << test::scrape(port);
  runner.request_stop();
  running.join();
}

/// Captures what is logged through the default logger while alive (read it once the loggers stopped).
class captured_log {
 public:
  captured_log() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~captured_log() { spdlog::set_default_logger(previous_); }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;
  [[nodiscard]] std::string text() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

TEST_F(Sender, RunKeepsAnEntryOlderThanTheHorizonAndSaysSoOnce) {
  {
    auto box = store::outbox::open(data.path() / "sender.db");
    ASSERT_TRUE(box);
    const std::string text = "sealed before a long outage";
    const auto now = std::chrono::system_clock::now();
    for (const auto created : {now - std::chrono::days(8), now}) {
      ASSERT_TRUE(box->enqueue(store::outbox_entry{0, "bob.example", "bob.example",
                                                   std::vector<std::uint8_t>(text.begin(), text.end()), created, 0}));
    }
    auto entries = box->oldest();
    ASSERT_TRUE(entries);
    ASSERT_EQ(entries->size(), 2u);
    EXPECT_TRUE((*entries)[0].older_than(std::chrono::days(7), now));
    EXPECT_FALSE((*entries)[1].older_than(std::chrono::days(7), now));
  }
  broker.stop();
  auto box = store::outbox::open(data.path() / "sender.db");
  ASSERT_TRUE(box);
  sender_settings settings;
  settings.service.identity_name = "alice.example";
  settings.service.data_path = data.path();
  settings.service.mqtt.host = broker.host();
  settings.service.mqtt.port = broker.port();
  settings.poll_interval = 50ms;
  std::string logged;
  {
    captured_log log;
    {
      outbox_runner runner(settings, *box);
      std::thread running([&] { (void)runner.run(); });
      std::this_thread::sleep_for(2500ms);  // three looks at the outbox's age
      runner.request_stop();
      running.join();
    }  // its client's thread, which logs too, is gone
    logged = log.text();
  }
  std::size_t warnings = 0;
  for (auto at = logged.find("older than MESSAGE_MAX_AGE"); at != std::string::npos;
       at = logged.find("older than MESSAGE_MAX_AGE", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << logged;
  EXPECT_NE(logged.find("outbox entry #1 for bob.example is older than MESSAGE_MAX_AGE (7d)"), std::string::npos)
      << logged;
  EXPECT_EQ(outbox_size(), 2u) << "kept, never dropped";
}

TEST_F(Sender, OutboxListsCancelsAndSaysWhenThereIsNoDatabase) {
  auto none = run({"outbox"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("no database at " + (data.path() / "sender.db").string()), std::string::npos) << none.err;

  broker.stop();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(run({"--queue", "send", "bob.example", "m" + std::to_string(i)}).code, 0);
  auto box = store::outbox::open(data.path() / "sender.db");
  ASSERT_TRUE(box);
  const auto entries = box->oldest().value();
  ASSERT_EQ(entries.size(), 3u);
  ASSERT_TRUE(box->note_attempt(entries[0].id, "broker refused"));

  auto listed = run({"outbox"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  const auto first = "#" + std::to_string(entries[0].id) + " ";
  EXPECT_EQ(listed.out.rfind(first, 0), 0u) << listed.out;
  EXPECT_NE(listed.out.find(" bob.example waiting "), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("1 attempt, last error: broker refused"), std::string::npos) << listed.out;
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 3);

  auto json = run({"outbox", "--json"});
  ASSERT_EQ(json.code, 0);
  std::istringstream lines(json.out);
  std::string line;
  std::vector<std::int64_t> ids;
  while (std::getline(lines, line)) {
    const auto object = nlohmann::json::parse(line);
    ids.push_back(object.at("id").get<std::int64_t>());
    EXPECT_EQ(object.at("recipient"), "bob.example");
    EXPECT_TRUE(object.contains("age_seconds"));
    EXPECT_TRUE(object.contains("attempts"));
    EXPECT_TRUE(object.contains("last_error"));
  }
  EXPECT_EQ(ids, (std::vector<std::int64_t>{entries[0].id, entries[1].id, entries[2].id}));

  auto cancelled = run({"outbox", "cancel", std::to_string(ids[0]), std::to_string(ids[2])});
  EXPECT_EQ(cancelled.code, 0) << cancelled.err;
  EXPECT_NE(cancelled.out.find("cancelled #" + std::to_string(ids[2])), std::string::npos);
  EXPECT_EQ(outbox_size(), 1u);
  auto unknown = run({"outbox", "cancel", std::to_string(ids[0])});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("no outbox entry #" + std::to_string(ids[0])), std::string::npos) << unknown.err;
  EXPECT_EQ(run({"outbox", "cancel", "x"}).code, 1);

  // What is left is delivered, and only that.
  broker.start();
  subscriber bob_topic(broker, "bob.example");
  sender_settings settings;
  settings.service.identity_name = "alice.example";
  settings.service.data_path = data.path();
  settings.service.mqtt.host = broker.host();
  settings.service.mqtt.port = broker.port();
  settings.poll_interval = 50ms;
  outbox_runner runner(settings, *box);
  std::thread running([&] { (void)runner.run(); });
  const bool got = bob_topic.wait_for(1);
  std::this_thread::sleep_for(300ms);
  runner.request_stop();
  running.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(bob_topic.payloads().size(), 1u);
  EXPECT_EQ(open_for_bob(bob_topic.payloads()[0]), "m1");
}

TEST_F(Sender, OutboxRetryWakesTheRunnerOutOfItsBackOff) {
  broker.stop();
  ASSERT_EQ(run({"--queue", "send", "bob.example", "wake up"}).code, 0);
  auto box = store::outbox::open(data.path() / "sender.db");
  ASSERT_TRUE(box);
  sender_settings settings;
  settings.service.identity_name = "alice.example";
  settings.service.data_path = data.path();
  settings.service.mqtt.host = broker.host();
  settings.service.mqtt.port = broker.port();
  settings.poll_interval = 50ms;
  outbox_runner runner(settings, *box);
  std::thread running([&] { (void)runner.run(); });
  // Failed connects make the back-off grow: attempts at about 0.2, 0.6, 1.4,
  // 3.0, 6.2 and then 12.6 s. Midway between the last two (a slower attempt
  // under a sanitizer may come later than 6.2 s, and must not be the one
  // that finds the broker back).
  std::this_thread::sleep_for(8000ms);
  broker.start();
  subscriber bob_topic(broker, "bob.example");
  auto retried = run({"outbox", "retry"});
  EXPECT_EQ(retried.code, 0) << retried.err;
  EXPECT_NE(retried.out.find("retry requested"), std::string::npos) << retried.out;
  const auto asked = std::chrono::steady_clock::now();
  const bool got = bob_topic.wait_for(1, 10s);
  const auto took = std::chrono::steady_clock::now() - asked;
  runner.request_stop();
  running.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(runner.retries_requested(), 1u);
  EXPECT_LT(took, 2500ms) << "delivered at the end of the back-off, not at the retry";
  EXPECT_EQ(outbox_size(), 0u);
}

// Found by the load test (bench/load, tests/integration/fault_load_test):
// Mosquitto acknowledges a PUBLISH before it saves it, and a broker killed in
// between lost messages that `run` had already removed from the outbox.
class SenderSettle : public Sender {
 protected:
  /// Runs `run` over one queued message until bob's topic got it; returns the runner's thread.
  void deliver_one(std::chrono::milliseconds settle) {
    auto box = store::outbox::open(data.path() / "sender.db");
    ASSERT_TRUE(box);
    const std::string text = "acknowledged, then the broker died";
    ASSERT_TRUE(box->enqueue(store::outbox_entry{0, "bob.example", "bob.example",
                                                 std::vector<std::uint8_t>(text.begin(), text.end()),
                                                 std::chrono::system_clock::now(), 0}));
    outbox.emplace(std::move(*box));
    sender_settings settings;
    settings.service.identity_name = "alice.example";
    settings.service.data_path = data.path();
    settings.service.mqtt.host = broker.host();
    settings.service.mqtt.port = broker.port();
    settings.poll_interval = 20ms;
    settings.settle = settle;
    runner = std::make_unique<outbox_runner>(settings, *outbox);
    running = std::thread([this] { (void)runner->run(); });
    ASSERT_TRUE(bob_topic.wait_for(1));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (runner->delivered() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(runner->delivered(), 1u);
  }
  void TearDown() override {
    if (runner) runner->request_stop();
    if (running.joinable()) running.join();
  }

  subscriber bob_topic{broker, "bob.example"};
  std::optional<store::outbox> outbox;
  std::unique_ptr<outbox_runner> runner;
  std::thread running;
};

TEST_F(SenderSettle, RunPublishesAnAcknowledgedMessageAgainWhenTheBrokerConnectionDropsWithinTheSettleTime) {
  deliver_one(10s);
  broker.kill();
  broker.start();
  EXPECT_TRUE(bob_topic.wait_for(2, 15s)) << "not published again after the broker died";
  EXPECT_EQ(runner->republished(), 1u);
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(SenderSettle, RunForgetsAnAcknowledgedMessageOnceItSettled) {
  deliver_one(100ms);
  // The runner's own timer ends the settle time; wait until it has.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (runner->unsettled() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(runner->unsettled(), 0u) << "still settling long after OUTBOX_SETTLE";
  broker.kill();
  broker.start();
  EXPECT_FALSE(bob_topic.wait_for(2, 2s)) << "published again after it had settled";
  EXPECT_EQ(runner->republished(), 0u);
}

TEST_F(SenderSettle, RunStoppedWithAnUnsettledRepublishKeepsItInTheOutbox) {
  deliver_one(10s);
  broker.kill();  // and not back: it cannot be published again
  std::this_thread::sleep_for(300ms);
  runner->request_stop();
  running.join();
  EXPECT_EQ(outbox_size(), 1u) << "kept for the next run";
}

}  // namespace
}  // namespace danemq::sender
