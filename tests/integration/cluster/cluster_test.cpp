// A clustered broker: a three-node RabbitMQ cluster (quorum queues for the
// persistent sessions) on loopback. The receiver and the senders each name
// every node in MQTT_HOST, in a different order; the node the receiver is
// connected to is killed hard in the middle of 1,000 messages and started
// again. Every message the senders got acknowledged must be in the inbox
// exactly once.

#include <signal.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>

#include "support/e2e_support.hpp"
#include "support/rabbitmq_rig.hpp"
#include "support/skip.hpp"

namespace danemq::e2e {
namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// One cluster for the suite (it takes half a minute to start); the tests
// run in this order and the last one leaves nodes down.
class RabbitMqCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::rabbitmq_cluster::available()) cluster_ = std::make_unique<test::rabbitmq_cluster>();
  }
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override {
    if (!cluster_) DANEMQ_SKIP_UNLESS_CI("rabbitmq-server (Debian's, with its MQTT plugin) is not installed");
  }
  static std::unique_ptr<test::rabbitmq_cluster> cluster_;
};

std::unique_ptr<test::rabbitmq_cluster> RabbitMqCluster::cluster_;

TEST_F(RabbitMqCluster, AThousandMessagesArriveOnceEachWhileTheReceiversNodeIsKilledAndRestarted) {
  world w;
  const auto receiver_hosts = cluster_->mqtt_hosts({0, 1, 2});
  auto bob = w.start_receiver("bob", {{"MQTT_HOST", receiver_hosts}, {"RECEIVER_WORKERS", "2"}});
  ASSERT_NE(bob->errors().find("MQTT connected to 127.0.0.1:" + std::to_string(cluster_->mqtt_port(0))),
            std::string::npos)
      << "the first node of the list:\n"
      << bob->errors();

  auto from_alice = w.queue_in_outbox("alice", "bob", "alice via node 2", 500);
  auto from_carol = w.queue_in_outbox("carol", "bob", "carol via node 3", 500);
  test::child_process alice(
      {(test::binary_dir() / "danemq-sender").string(), "run"},
      w.env("alice", {{"MQTT_HOST", cluster_->mqtt_hosts({1, 2, 0})}, {"OUTBOX_POLL_INTERVAL", "100ms"}}));
  test::child_process carol(
      {(test::binary_dir() / "danemq-sender").string(), "run"},
      w.env("carol", {{"MQTT_HOST", cluster_->mqtt_hosts({2, 0, 1})}, {"OUTBOX_POLL_INTERVAL", "100ms"}}));

  // A third of the way through, the receiver's node dies without a word.
  ASSERT_TRUE(w.wait_for_stored("bob", 300, 180s)) << bob->errors() << alice.errors();
  cluster_->kill(0);
  const auto killed_at = w.inbox("bob").size();
  std::this_thread::sleep_for(3s);
  cluster_->start(0);

  ASSERT_TRUE(w.wait_for_stored("bob", 1000, 300s)) << "stored " << w.inbox("bob").size() << "\n"
                                                    << bob->errors() << "\nalice:\n"
                                                    << alice.errors() << "\ncarol:\n"
                                                    << carol.errors();
  std::this_thread::sleep_for(1s);  // anything more would be a duplicate
  EXPECT_EQ(alice.stop(), 0);
  EXPECT_EQ(carol.stop(), 0);
  EXPECT_EQ(bob->stop(), 0);

  EXPECT_LT(killed_at, 1000u) << "the node died while messages were still on their way";
  const auto log = bob->errors();
  EXPECT_GE(count_of(log, "MQTT connected"), 2u) << "reconnected after the kill:\n" << log;
  const auto inbox = w.inbox("bob");
  std::multiset<std::string> got;
  for (const auto& entry : inbox) got.insert(entry.message);
  std::set<std::string> expected(from_alice.begin(), from_alice.end());
  expected.insert(from_carol.begin(), from_carol.end());
  EXPECT_EQ(inbox.size(), 1000u) << "every message once";
  for (const auto& text : expected) EXPECT_EQ(got.count(text), 1u) << text;
  EXPECT_TRUE(w.quarantine("bob").empty()) << w.quarantine("bob").front().reason.line();
  EXPECT_EQ(w.pending("bob"), 0u);
  // Each sender's own messages keep their order, except those the dead node
  // had delivered without an acknowledgement: another node delivers them
  // again after later ones (README, "Other brokers"). At most one receive
  // window of them is out of place: the rest is one increasing run.
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < from_alice.size(); ++i) position[from_alice[i]] = i;
  std::vector<std::size_t> tails;  // longest increasing subsequence of alice's positions
  for (const auto& entry : inbox) {
    if (entry.sender != "alice.danemq.test") continue;
    const auto at = position.at(entry.message);
    const auto slot = std::lower_bound(tails.begin(), tails.end(), at);
    if (slot == tails.end()) {
      tails.push_back(at);
    } else {
      *slot = at;
    }
  }
  constexpr std::size_t receive_window = 128;  // more than a node has delivered unacknowledged
  EXPECT_GE(tails.size() + receive_window, from_alice.size())
      << from_alice.size() - tails.size() << " of alice's messages out of their order";
}

TEST_F(RabbitMqCluster, AOneOffSendGoesToTheNextNodeAndFailsOnlyWhenEveryNodeIsDown) {
  world w;
  auto bob = w.start_receiver("bob", {{"MQTT_HOST", cluster_->mqtt_hosts({2, 1, 0})}});
  cluster_->kill(0);
  const auto hosts = cluster_->mqtt_hosts({0, 1});
  auto sent = w.sender("alice", {"send", "bob.danemq.test", "node 1 is down"}, {{"MQTT_HOST", hosts}});
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(bob->wait_for_output("alice.danemq.test says: node 1 is down\n", 30s)) << bob->errors();

  cluster_->kill(1);
  auto refused = w.sender("alice", {"--timeout", "3s", "send", "bob.danemq.test", "all down"}, {{"MQTT_HOST", hosts}});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_NE(refused.err.find("every broker (127.0.0.1:" + std::to_string(cluster_->mqtt_port(0))), std::string::npos)
      << refused.err;
  EXPECT_EQ(bob->stop(), 0);
}

}  // namespace
}  // namespace danemq::e2e
