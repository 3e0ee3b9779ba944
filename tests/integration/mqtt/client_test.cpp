#include "danemq/mqtt/client.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "danemq/crypto/openssl.hpp"
#include "support/mosquitto_rig.hpp"

namespace danemq::mqtt {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint8_t> bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}
std::string text_of(const std::vector<std::uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

/// Collects what a client delivers, and can refuse to store.
class collector {
 public:
  delivery_handler handler() {
    return [this](std::vector<message>& batch) -> result<void> {
      std::lock_guard lock(mutex_);
      if (refuse_next_ > 0) {
        --refuse_next_;
        ++refused_;
        return fail(errc::library_failure, "test refuses to store");
      }
      for (auto& m : batch) {
        texts_.push_back(m.oversized ? "oversized " + std::to_string(m.oversized->size) + " " +
                                           crypto::to_hex(m.oversized->digest) + " " + std::to_string(m.payload.size())
                                     : text_of(m.payload));
      }
      changed_.notify_all();
      return ok();
    };
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return texts_.size() >= count; });
  }
  std::vector<std::string> texts() {
    std::lock_guard lock(mutex_);
    return texts_;
  }
  void refuse_next(int batches) {
    std::lock_guard lock(mutex_);
    refuse_next_ = batches;
  }
  int refused() {
    std::lock_guard lock(mutex_);
    return refused_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> texts_;
  int refuse_next_{0};
  int refused_{0};
};

client_options options_for(const test::mosquitto_rig& broker, std::string id, protocol_version version,
                           std::vector<subscription> subs = {}) {
  client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.protocol = version;
  options.client_id = std::move(id);
  options.subscriptions = std::move(subs);
  options.reconnect = backoff_policy{50ms, 500ms, 2.0, 0.1};
  options.connect_timeout = 5s;
  options.keepalive = 10s;
  return options;
}

/// Publishes each text at QoS 1 and waits for every PUBACK.
void publish_all(const test::mosquitto_rig& broker, const std::string& topic, const std::vector<std::string>& texts,
                 protocol_version version = protocol_version::v311, int qos = 1) {
  auto options = options_for(broker, "", version);
  options.clean_session = true;
  client publisher(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(publisher.start());
  ASSERT_TRUE(publisher.wait_connected(10s)) << publisher.last_error();
  std::vector<std::future<result<void>>> acks;
  for (const auto& text : texts) acks.push_back(publisher.publish(topic, bytes_of(text), qos));
  for (auto& ack : acks) {
    ASSERT_EQ(ack.wait_for(10s), std::future_status::ready);
    auto done = ack.get();
    ASSERT_TRUE(done) << done.error().message();
  }
  publisher.stop();
}

}  // namespace

void PrintTo(protocol_version version, std::ostream* out) {
  *out << (version == protocol_version::v5 ? "MQTT 5" : "MQTT 3.1.1");
}

namespace {

class MqttClient : public ::testing::TestWithParam<protocol_version> {};

TEST_P(MqttClient, ReceivesWhatIsPublishedToItsTopic) {
  test::mosquitto_rig broker;
  collector got;
  client receiver(options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}}), got.handler());
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
  publish_all(broker, "bob.example", {"one", "two", "three"}, GetParam());
  ASSERT_TRUE(got.wait_for(3));
  EXPECT_EQ(got.texts(), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(receiver.statistics().messages_received, 3u);
}

TEST_P(MqttClient, HandsOverOnlyTheSizeAndDigestOfAPayloadOverItsLimit) {
  test::mosquitto_rig broker;
  collector got;
  auto options = options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}});
  options.max_payload = 100;
  client receiver(options, got.handler());
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
  // Over the limit, yet within MQTT 5's Maximum Packet Size (the limit plus
  // a header allowance): the broker sends it under either version.
  const std::string large(1000, 'x');
  publish_all(broker, "bob.example", {std::string(100, 'y'), large, "after"}, GetParam());
  ASSERT_TRUE(got.wait_for(3));
  const std::string topic = "bob.example";
  const std::uint8_t separator = 0;
  const auto digest = crypto::sha256_of_parts(
      {bytes_of(topic), {&separator, 1}, {reinterpret_cast<const std::uint8_t*>(large.data()), large.size()}});
  EXPECT_EQ(got.texts(), (std::vector<std::string>{std::string(100, 'y'),
                                                   "oversized 1000 " + crypto::to_hex(digest) + " 0", "after"}));
  EXPECT_EQ(receiver.statistics().oversized, 1u);
}

TEST_P(MqttClient, GoesDownItsBrokerListInOrderAndStartsAgainAtTheFirst) {
  test::mosquitto_rig second;
  test::mosquitto_rig first;
  const auto dead_port = test::free_port();  // nothing listens there
  auto options = options_for(first, "bob.example/receiver", GetParam(), {{"bob.example", 1}});
  options.host = "127.0.0.1";
  options.port = dead_port;
  options.more_brokers = {{first.host(), first.port()}, {second.host(), second.port()}};
  collector got;
  client receiver(options, got.handler());
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
  publish_all(first, "bob.example", {"via the second of the list"}, GetParam());
  ASSERT_TRUE(got.wait_for(1));

  // The broker it uses dies: the next connect starts again at the (still
  // dead) first one and ends on the third.
  first.kill();
  // Separate brokers, not a cluster: the subscription on the third exists
  // once the client is connected there.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (receiver.statistics().connects < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(receiver.wait_connected(1s)) << receiver.last_error();
  publish_all(second, "bob.example", {"via the third"}, GetParam());
  ASSERT_TRUE(got.wait_for(2, 20s)) << receiver.last_error();
  EXPECT_EQ(got.texts(), (std::vector<std::string>{"via the second of the list", "via the third"}));
  EXPECT_EQ(receiver.statistics().connects, 2u);
}

TEST_P(MqttClient, KeepsItsSessionWhileOffline) {
  test::mosquitto_rig broker;
  collector got;
  {
    client receiver(options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}}), got.handler());
    ASSERT_TRUE(receiver.start());
    ASSERT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
  }
  std::vector<std::string> sent;
  for (int i = 0; i < 20; ++i) sent.push_back("offline " + std::to_string(i));
  publish_all(broker, "bob.example", sent, GetParam());
  client receiver(options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}}), got.handler());
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(got.wait_for(20)) << "got " << got.texts().size();
  EXPECT_EQ(got.texts(), sent);
}

TEST_P(MqttClient, ReconnectsAndSubscribesAgainAfterTheBrokerRestarts) {
  test::mosquitto_rig broker(test::mosquitto_rig_options{.persistence = false});
  collector got;
  std::atomic<int> connects{0};
  client receiver(options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}}), got.handler(),
                  [&](const connection_event& event) { connects += event.connected ? 1 : 0; });
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s));
  broker.kill();
  // Without persistence the broker forgot the subscription: only our
  // re-subscription brings this message.
  broker.start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (connects < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  ASSERT_GE(connects.load(), 2) << receiver.last_error();
  publish_all(broker, "bob.example", {"after restart"}, GetParam());
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.texts().back(), "after restart");
  EXPECT_GE(receiver.statistics().connection_losses, 1u);
}

TEST_P(MqttClient, RetriesAFirstConnectThatFails) {
  test::mosquitto_rig broker;
  broker.stop();
  collector got;
  client receiver(options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}}), got.handler());
  ASSERT_TRUE(receiver.start());
  // Until the first attempt has failed (however long that takes on a busy machine).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (receiver.last_error().find("Connection refused") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(receiver.last_error().find("Connection refused"), std::string::npos) << receiver.last_error();
  EXPECT_FALSE(receiver.connected());
  broker.start();
  EXPECT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
}

TEST_P(MqttClient, DoesNotAcknowledgeAMessageItCouldNotStore) {
  test::mosquitto_rig broker;
  collector got;
  got.refuse_next(1);
  client receiver(options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}}), got.handler());
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s));
  publish_all(broker, "bob.example", {"must not be lost"}, GetParam());
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.refused(), 1);
  EXPECT_EQ(got.texts(), std::vector<std::string>{"must not be lost"});
  EXPECT_EQ(receiver.statistics().batches_refused, 1u);
}

TEST_P(MqttClient, CompletesAPublishOnlyWhenAcknowledged) {
  test::mosquitto_rig broker;
  auto options = options_for(broker, "alice.example/sender", GetParam());
  client sender(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(sender.start());
  ASSERT_TRUE(sender.wait_connected(10s));
  broker.stop();
  auto pending = sender.publish("bob.example", bytes_of("wait for me"), 1);
  EXPECT_EQ(pending.wait_for(500ms), std::future_status::timeout);
  broker.start();
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(pending.get());
  EXPECT_EQ(sender.statistics().published, 1u);
}

TEST_P(MqttClient, FailsPendingPublishesWhenStopped) {
  test::mosquitto_rig broker;
  broker.stop();
  client sender(options_for(broker, "alice.example/sender", GetParam()), [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(sender.start());
  auto pending = sender.publish("bob.example", bytes_of("never"), 1);
  sender.stop();
  ASSERT_EQ(pending.wait_for(1s), std::future_status::ready);
  auto outcome = pending.get();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, make_error_code(errc::stopped));
  auto after = sender.publish("bob.example", bytes_of("too late"), 1).get();
  EXPECT_FALSE(after);
}

TEST_P(MqttClient, PausesReadingUnderBackPressure) {
  test::mosquitto_rig broker;
  collector got;
  client receiver(options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}}), got.handler());
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s));
  receiver.set_paused(true);
  std::this_thread::sleep_for(100ms);
  publish_all(broker, "bob.example", {"held"}, GetParam());
  EXPECT_FALSE(got.wait_for(1, 1s)) << "nothing is read while paused";
  receiver.set_paused(false);
  EXPECT_TRUE(got.wait_for(1));
}

TEST_P(MqttClient, ReportsARefusedLogin) {
  test::mosquitto_rig broker(test::mosquitto_rig_options{.user = std::pair<std::string, std::string>{"bob", "right"}});
  auto options = options_for(broker, "bob.example/receiver", GetParam(), {{"bob.example", 1}});
  options.username = "bob";
  options.password = "wrong";
  collector got;
  {
    client receiver(options, got.handler());
    ASSERT_TRUE(receiver.start());
    EXPECT_FALSE(receiver.wait_connected(1s));
    EXPECT_NE(receiver.last_error().find("refused"), std::string::npos) << receiver.last_error();
    EXPECT_EQ(receiver.last_error().find("wrong"), std::string::npos) << "never print the password";
  }
  options.password = "right";
  client receiver(options, got.handler());
  ASSERT_TRUE(receiver.start());
  EXPECT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
}

INSTANTIATE_TEST_SUITE_P(Protocols, MqttClient, ::testing::Values(protocol_version::v311, protocol_version::v5),
                         [](const auto& info) { return info.param == protocol_version::v5 ? "Mqtt5" : "Mqtt311"; });

TEST(MqttClientOptions, RefusesWhatCannotWork) {
  collector got;
  client_options options;
  options.host = "localhost";
  client no_id(options, got.handler());
  auto refused = no_id.start();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::bad_options));

  options.client_id = "x";
  options.tls = tls_options{"/no/such/ca.pem", "", ""};
  client no_ca(options, got.handler());
  auto missing = no_ca.start();
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("/no/such/ca.pem"), std::string::npos);
}

/// This process's CPU time (all threads).
std::chrono::microseconds process_cpu_time() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec;
  const auto micros = usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  return std::chrono::seconds(seconds) + std::chrono::microseconds(micros);
}

class MqttTls : public ::testing::Test {
 protected:
  test::mosquitto_rig broker{test::mosquitto_rig_options{.tls = true, .require_client_certificate = true}};
};

TEST_F(MqttTls, ConnectsWithATrustedClientCertificate) {
  auto options = options_for(broker, "bob.example/receiver", protocol_version::v311, {{"bob.example", 1}});
  options.tls = tls_options{broker.tls().ca_cert, broker.tls().client_cert, broker.tls().client_key};
  collector got;
  client receiver(options, got.handler());
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
  auto publisher_options = options;
  publisher_options.client_id = "alice.example/sender";
  publisher_options.subscriptions.clear();
  client publisher(publisher_options, got.handler());
  ASSERT_TRUE(publisher.start());
  ASSERT_TRUE(publisher.wait_connected(10s));
  ASSERT_TRUE(publisher.publish("bob.example", bytes_of("over TLS"), 1).get());
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.texts(), std::vector<std::string>{"over TLS"});
}

TEST_F(MqttTls, IsRefusedWithoutAClientCertificate) {
  auto options = options_for(broker, "bob.example/receiver", protocol_version::v311);
  options.tls = tls_options{broker.tls().ca_cert, "", ""};
  client receiver(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(receiver.start());
  EXPECT_FALSE(receiver.wait_connected(1500ms));
  EXPECT_FALSE(receiver.last_error().empty());
}

TEST_F(MqttTls, RefusesABrokerSignedByAnotherCa) {
  auto options = options_for(broker, "bob.example/receiver", protocol_version::v311);
  options.tls = tls_options{broker.tls().stranger_ca_cert, broker.tls().client_cert, broker.tls().client_key};
  client receiver(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(receiver.start());
  EXPECT_FALSE(receiver.wait_connected(1500ms));
  EXPECT_NE(receiver.last_error().find("TLS"), std::string::npos) << receiver.last_error();
  // OpenSSL's reason, whether the handshake failed inside connect or in a later read.
  EXPECT_NE(receiver.last_error().find("certificate verify failed"), std::string::npos) << receiver.last_error();
}

TEST_F(MqttTls, ReconnectsAfterTheBrokerWasDownAndItsAttemptsWereRefused) {
  auto options = options_for(broker, "bob.example/receiver", protocol_version::v311, {{"bob.example", 1}});
  options.tls = tls_options{broker.tls().ca_cert, broker.tls().client_cert, broker.tls().client_key};
  options.reconnect = backoff_policy{20ms, 200ms, 2.0, 0.1};
  collector got;
  std::atomic<int> connects{0};
  client receiver(options, got.handler(), [&](const connection_event& event) { connects += event.connected ? 1 : 0; });
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(receiver.wait_connected(10s)) << receiver.last_error();
  broker.stop();
  // Down long enough for attempts to be refused (nothing listens).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (receiver.last_error().find("efused") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(receiver.last_error().find("efused"), std::string::npos) << receiver.last_error();
  std::this_thread::sleep_for(300ms);
  broker.start();
  const auto back = std::chrono::steady_clock::now() + 10s;
  while (connects < 2 && std::chrono::steady_clock::now() < back) std::this_thread::sleep_for(20ms);
  ASSERT_GE(connects.load(), 2) << receiver.last_error();
  auto publisher_options = options;
  publisher_options.client_id = "alice.example/sender";
  publisher_options.subscriptions.clear();
  client publisher(publisher_options, got.handler());
  ASSERT_TRUE(publisher.start());
  ASSERT_TRUE(publisher.wait_connected(10s)) << publisher.last_error();
  ASSERT_TRUE(publisher.publish("bob.example", bytes_of("after the outage"), 1).get());
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.texts().back(), "after the outage");
}

TEST_F(MqttTls, AOneOffGivesUpAtOnceAndStopsWhenNothingListens) {
  broker.stop();
  auto options = options_for(broker, "alice.example/send", protocol_version::v311);
  options.tls = tls_options{broker.tls().ca_cert, broker.tls().client_cert, broker.tls().client_key};
  options.give_up_when_refused = true;
  const auto started = std::chrono::steady_clock::now();
  {
    client sender(options, [](std::vector<message>&) { return ok(); });
    ASSERT_TRUE(sender.start());
    EXPECT_FALSE(sender.wait_connected(10s));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_TRUE(sender.gave_up()) << sender.last_error();
    // Refused: the connect's own error, or (when the TLS handshake's first
    // write took it) that the connection ended before it was established.
    EXPECT_NE(sender.last_error().find("efused"), std::string::npos) << sender.last_error();
    sender.stop();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "stopped, not spinning";
}

TEST_F(MqttTls, ATlsClientOfAPlainListenerFailsItsAttemptAndStops) {
  test::mosquitto_rig plain;
  auto options = options_for(plain, "bob.example/receiver", protocol_version::v311, {{"bob.example", 1}});
  options.tls = tls_options{broker.tls().ca_cert, broker.tls().client_cert, broker.tls().client_key};
  options.connect_timeout = 2s;
  client receiver(options, [](std::vector<message>&) { return ok(); });
  const auto started = std::chrono::steady_clock::now();
  const auto cpu_before = process_cpu_time();
  ASSERT_TRUE(receiver.start());
  EXPECT_FALSE(receiver.wait_connected(4s));
  EXPECT_FALSE(receiver.last_error().empty());
  // Waiting, not spinning on a socket that will never handshake (4 s of wall time).
  EXPECT_LT(process_cpu_time() - cpu_before, 2s);
  const auto stopping = std::chrono::steady_clock::now();
  receiver.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 3s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << receiver.last_error();
}

TEST_F(MqttTls, StopsAtOnceWhileItsAttemptsAreRefused) {
  broker.stop();
  auto options = options_for(broker, "bob.example/receiver", protocol_version::v311, {{"bob.example", 1}});
  options.tls = tls_options{broker.tls().ca_cert, broker.tls().client_cert, broker.tls().client_key};
  options.reconnect = backoff_policy{20ms, 100ms, 2.0, 0.1};
  client receiver(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(receiver.start());
  const auto cpu_before = process_cpu_time();
  std::this_thread::sleep_for(1500ms);
  EXPECT_NE(receiver.last_error().find("efused"), std::string::npos) << receiver.last_error();
  // A spinning thread takes all of the 1.5 s; each attempt's TLS set-up a little.
  EXPECT_LT(process_cpu_time() - cpu_before, 900ms) << "retrying with its back-off, not spinning";
  const auto stopping = std::chrono::steady_clock::now();
  receiver.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 3s);
}

}  // namespace
}  // namespace danemq::mqtt

namespace danemq::mqtt {
namespace {

TEST(MqttClientOneOff, GivesUpAtOnceWhenTheConnectionIsRefused) {
  test::mosquitto_rig broker;
  broker.stop();
  auto options = options_for(broker, "alice.example/send", protocol_version::v311);
  options.give_up_when_refused = true;
  client sender(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(sender.start());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(sender.wait_connected(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_TRUE(sender.gave_up());
  EXPECT_NE(sender.last_error().find("Connection refused"), std::string::npos) << sender.last_error();
}

TEST(MqttClientTakeover, TwoClientsWithOneClientIdAreToldSo) {
  test::mosquitto_rig broker;
  auto options = options_for(broker, "bob.example/receiver", protocol_version::v311, {{"bob.example", 1}});
  options.reconnect = backoff_policy{20ms, 2s, 2.0, 0.1};
  client first(options, [](std::vector<message>&) { return ok(); });
  client second(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(first.start());
  ASSERT_TRUE(first.wait_connected(10s)) << first.last_error();
  ASSERT_TRUE(second.start());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (first.statistics().suspected_takeovers + second.statistics().suspected_takeovers == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  const auto told = first.statistics().suspected_takeovers + second.statistics().suspected_takeovers;
  EXPECT_GT(told, 0u) << first.last_error() << " / " << second.last_error();
  const std::string said = first.last_error() + second.last_error();
  EXPECT_NE(said.find("another client with this client id (bob.example/receiver) is connected"), std::string::npos)
      << said;
  // Backed off: the two no longer take the session from each other several times a second.
  const auto losses = first.statistics().connection_losses + second.statistics().connection_losses;
  std::this_thread::sleep_for(1s);
  EXPECT_LE(first.statistics().connection_losses + second.statistics().connection_losses, losses + 2);
}

}  // namespace
}  // namespace danemq::mqtt
