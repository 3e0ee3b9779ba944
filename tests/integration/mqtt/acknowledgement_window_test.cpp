// Measures the window between the broker's acknowledgement and the
// application holding the message: a receiver process receives one message
// and dies inside the message callback (before it could store anything);
// then a new process with the same client id reconnects. The message comes
// again only if the dead process had not acknowledged it. docs/delivery.md
// reports these results.

#include <gtest/gtest.h>
#include <mosquitto.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "danemq/mqtt/client.hpp"
#include "support/mosquitto_rig.hpp"

namespace danemq::mqtt {
namespace {

using namespace std::chrono_literals;

const std::string topic = "crash.example";
const std::string client_id = "crash.example/receiver";

client_options options_for(const test::mosquitto_rig& broker, int qos) {
  client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.client_id = client_id;
  options.subscriptions = {{topic, qos}};
  options.reconnect = backoff_policy{50ms, 500ms, 2.0, 0.1};
  return options;
}

void establish_session(const test::mosquitto_rig& broker, int qos) {
  client session(options_for(broker, qos), [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(session.start());
  ASSERT_TRUE(session.wait_connected(10s)) << session.last_error();
  session.stop();
}

void publish_one(const test::mosquitto_rig& broker, int qos) {
  client_options options;
  options.host = broker.host();
  options.port = broker.port();
  options.clean_session = true;
  client publisher(options, [](std::vector<message>&) { return ok(); });
  ASSERT_TRUE(publisher.start());
  ASSERT_TRUE(publisher.wait_connected(10s));
  const std::string text = "the only copy";
  auto done = publisher.publish(topic, {text.begin(), text.end()}, qos).get();
  ASSERT_TRUE(done) << done.error().message();
  publisher.stop();
}

/// In a child process: receives with our client and dies in the delivery
/// handler. Exit 0 = died there; 2 = no message within 10 s.
[[noreturn]] void die_in_our_handler(const test::mosquitto_rig& broker, int qos) {
  client receiver(options_for(broker, qos), [](std::vector<message>&) -> result<void> { _exit(0); });
  if (!receiver.start()) _exit(3);
  std::this_thread::sleep_for(10s);
  _exit(2);
}

/// In a child process: receives with plain libmosquitto (its own loop, the
/// usual way) and dies in on_message.
[[noreturn]] void die_in_plain_callback(const test::mosquitto_rig& broker, int qos) {
  unique_mosquitto handle(mosquitto_new(client_id.c_str(), false, nullptr));
  if (!handle) _exit(3);
  mosquitto_connect_callback_set(handle.get(), [](mosquitto* h, void*, int rc) {
    if (rc == 0) mosquitto_subscribe(h, nullptr, "crash.example", 2);
  });
  mosquitto_message_callback_set(handle.get(), [](mosquitto*, void*, const mosquitto_message*) { _exit(0); });
  if (mosquitto_connect(handle.get(), broker.host().c_str(), broker.port(), 30) != MOSQ_ERR_SUCCESS) _exit(3);
  (void)qos;
  mosquitto_loop_forever(handle.get(), 10'000, 1);
  _exit(2);
}

int run_child(const std::function<void()>& body) {
  const pid_t pid = fork();
  if (pid == 0) body();
  int status = 0;
  for (int waited = 0; waited < 1500; ++waited) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    std::this_thread::sleep_for(10ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

/// How many messages a fresh process with the same client id receives within 2 s.
std::size_t redelivered(const test::mosquitto_rig& broker, int qos) {
  std::mutex mutex;
  std::size_t count = 0;
  client receiver(options_for(broker, qos), [&](std::vector<message>& batch) {
    std::lock_guard lock(mutex);
    count += batch.size();
    return ok();
  });
  EXPECT_TRUE(receiver.start());
  EXPECT_TRUE(receiver.wait_connected(10s));
  std::this_thread::sleep_for(2s);
  std::lock_guard lock(mutex);
  return count;
}

struct window_case {
  const char* name;
  bool ours;
  int qos;
  std::size_t expected_redelivered;
};

void PrintTo(const window_case& c, std::ostream* out) {
  *out << c.name;
}

class AcknowledgementWindow : public ::testing::TestWithParam<window_case> {};

TEST_P(AcknowledgementWindow, CrashInsideTheCallback) {
  const auto& c = GetParam();
  test::mosquitto_rig broker;
  establish_session(broker, c.qos);
  publish_one(broker, c.qos);
  const int child = run_child([&] {
    if (c.ours) die_in_our_handler(broker, c.qos);
    die_in_plain_callback(broker, c.qos);
  });
  ASSERT_EQ(child, 0) << "the child should have received the message and died in the callback";
  EXPECT_EQ(redelivered(broker, c.qos), c.expected_redelivered) << c.name;
}

// libmosquitto 2.0.11 (Debian 12): plain QoS 1 sends PUBACK before on_message,
// plain QoS 2 sends PUBCOMP before on_message: a crash in the callback loses
// the message. Our client defers the PUBACK until the handler returned: the
// broker redelivers. QoS 2 through our client still loses it, because the
// PUBREC went out when the PUBLISH arrived, long before the callback (which
// libmosquitto calls on PUBREL): the broker never sends that PUBLISH again.
INSTANTIATE_TEST_SUITE_P(Libmosquitto, AcknowledgementWindow,
                         ::testing::Values(window_case{"plain libmosquitto, QoS 1", false, 1, 0},
                                           window_case{"plain libmosquitto, QoS 2", false, 2, 0},
                                           window_case{"danemq client (deferred PUBACK), QoS 1", true, 1, 1},
                                           window_case{"danemq client, QoS 2", true, 2, 0}),
                         [](const auto& info) {
                           return std::string(info.param.ours ? "Ours" : "Plain") + "Qos" +
                                  std::to_string(info.param.qos);
                         });

}  // namespace
}  // namespace danemq::mqtt
