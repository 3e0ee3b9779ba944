// End to end under faults: the broker killed and restarted in the middle of
// a stream, the receiver killed with SIGKILL in the middle of a stream.
// Nothing acknowledged may be lost, nothing may be delivered twice.

#include <signal.h>

#include <set>

#include "danemq/store/outbox.hpp"
#include "support/e2e_support.hpp"

namespace danemq::e2e {
namespace {

void expect_each_once(const std::vector<std::string>& got, const std::vector<std::string>& sent) {
  const std::set<std::string> distinct(got.begin(), got.end());
  EXPECT_EQ(got.size(), distinct.size()) << "duplicates in the inbox";
  for (const auto& text : sent) EXPECT_TRUE(distinct.contains(text)) << "lost: " << text;
  EXPECT_EQ(got.size(), sent.size());
}

TEST(EndToEndResilience, BrokerKilledAndRestartedMidStreamLosesNothingAndDuplicatesNothing) {
  world w;
  auto bob = w.start_receiver("bob");
  // alice's outbox holds 1,000 sealed messages; `danemq-sender run` delivers them.
  const auto sent = w.queue_in_outbox("alice", "bob", "stream", 1000);
  test::child_process alice({(test::binary_dir() / "danemq-sender").string(), "run"},
                            w.env("alice", {{"OUTBOX_POLL_INTERVAL", "50ms"}}));
  ASSERT_TRUE(w.wait_for_stored("bob", 250, 60s)) << alice.errors();
  w.broker().kill();
  const auto at_kill = w.inbox("bob").size();
  std::this_thread::sleep_for(300ms);
  w.broker().start();
  ASSERT_TRUE(w.wait_for_stored("bob", 1000, 90s)) << "stored " << w.inbox("bob").size() << "\n--- sender\n"
                                                   << alice.errors() << "\n--- broker\n"
                                                   << w.broker().log();
  std::this_thread::sleep_for(500ms);
  expect_each_once(texts_of(w.inbox("bob")), sent);
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_LT(at_kill, 1000u) << "the broker should have died in the middle of the stream";
  EXPECT_EQ(alice.stop(), 0);
  EXPECT_EQ(bob->stop(), 0);
  auto outbox = store::outbox::open(w.data_path("alice") / "sender.db");
  EXPECT_EQ(outbox->size().value(), 0u) << "every entry acknowledged and removed";
}

TEST(EndToEndResilience, ReceiverKilledMidStreamKeepsEveryMessageExactlyOnce) {
  world w;
  std::vector<std::string> sent;
  std::vector<std::string> wires;
  for (int i = 0; i < 300; ++i) {
    sent.push_back("before and after the crash #" + std::to_string(i));
    wires.push_back(w.seal("alice", "bob", sent.back()));
  }
  {
    auto session = w.start_receiver("bob");  // the persistent session that queues while bob is away
    ASSERT_EQ(session->stop(), 0);
  }
  w.publish("bob", wires);
  // Coming back, bob stores what the broker delivers faster than one worker
  // processes it: a backlog builds up, and the crash lands in it.
  auto bob = w.start_receiver("bob", {{"RECEIVER_WORKERS", "1"}});
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (w.inbox("bob").size() < 40 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  bob->signal(SIGKILL);
  ASSERT_TRUE(bob->wait(5s).has_value());
  const auto accepted_before = texts_of(w.inbox("bob"));
  const auto pending_before = w.pending("bob");
  ASSERT_LT(accepted_before.size(), 300u) << "killed too late to prove anything";
  EXPECT_GT(pending_before, 0u) << "messages stored but not yet processed when it died";

  auto again = w.start_receiver("bob");
  ASSERT_TRUE(w.wait_for_stored("bob", 300, 60s)) << again->errors();
  std::this_thread::sleep_for(500ms);
  const auto after = texts_of(w.inbox("bob"));
  expect_each_once(after, sent);
  for (std::size_t i = 0; i < accepted_before.size(); ++i) EXPECT_EQ(after[i], accepted_before[i]);
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_EQ(w.pending("bob"), 0u);
  EXPECT_NE(again->errors().find("wait for processing"), std::string::npos) << "the backlog is processed first";
  EXPECT_EQ(again->stop(), 0);
}

}  // namespace
}  // namespace danemq::e2e
