// Fault injection, DNS: the receiver's resolver down, slow (answering after
// the timeout), answering SERVFAIL, and flapping while messages arrive. The
// receiver talks to the real validating Unbound through dns_fault_proxy. A
// message whose sender cannot be looked up is kept and retried with back-off:
// never lost, never accepted unverified; after LOOKUP_RETRY_LIMIT it goes to
// the quarantine with the reason.

#include "dns_fault_proxy.hpp"
#include "fault_support.hpp"

namespace danemq::e2e {
namespace {

using fault = test::dns_fault_proxy::mode;

/// The receiver asks the proxy, never caches an answer or a failure (every
/// message is a lookup, no zone is held back), gives up on a query after
/// 200 ms and retries a message from 50 ms on, for as long for a sender never
/// resolved as for a known one.
std::map<std::string, std::string> through(const test::dns_fault_proxy& proxy, const std::string& retry_limit = "60s") {
  return {{"DNS_RESOLVER", proxy.address()},
          {"DANE_CACHE_MAX_TTL", "0"},
          {"DANE_FAILURE_CACHE_TTL", "0"},
          {"DNS_TIMEOUT_MS", "200"},
          {"DNS_RETRIES", "0"},
          {"LOOKUP_RETRY_DELAY", "50ms"},
          {"LOOKUP_RETRY_LIMIT", retry_limit},
          {"LOOKUP_RETRY_LIMIT_UNKNOWN", retry_limit}};
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// While the resolver misbehaves: every message stored and retried, none accepted or quarantined.
void expect_held_back(const world& w, const test::child_process& bob, std::size_t count) {
  EXPECT_TRUE(w.inbox("bob").empty()) << "accepted without a verified sender";
  EXPECT_TRUE(w.quarantine("bob").empty()) << "refused for a temporary failure";
  EXPECT_EQ(w.pending("bob"), count) << "every message stays stored";
  (void)bob;
}

void expect_verified(const std::vector<store::inbox_entry>& inbox) {
  for (const auto& entry : inbox) {
    EXPECT_EQ(entry.sender, "alice.danemq.test");
    EXPECT_TRUE(entry.dnssec_secure);
  }
}

TEST(FaultDns, ResolverDownMessagesAreKeptRetriedAndDeliveredWhenItReturns) {
  world w(quick_world());
  test::dns_fault_proxy proxy("127.0.0.1", w.dns().resolver_port());
  auto bob = w.start_receiver("bob", through(proxy));
  const auto [texts, wires] = sealed_batch(w, "alice", "bob", "while the resolver is down", 10);

  proxy.set(fault::down);
  w.publish("bob", wires);
  // Each message tried three times (back-off 50, 100 ms ...), each time refused.
  ASSERT_TRUE(wait_for_log(*bob, "; retry 3 at", 20s, texts.size())) << bob->errors();
  expect_held_back(w, *bob, texts.size());
  EXPECT_NE(bob->errors().find("cannot reach the resolver"), std::string::npos) << bob->errors();

  proxy.set(fault::forward);
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 30s)) << bob->errors();
  std::this_thread::sleep_for(300ms);
  expect_exactly_once(texts, texts_of(w.inbox("bob")));
  expect_verified(w.inbox("bob"));
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_EQ(w.pending("bob"), 0u);
  EXPECT_EQ(bob->stop(), 0);
}

TEST(FaultDns, SlowResolverAnsweringAfterTheTimeoutDelaysButLosesNothing) {
  world w(quick_world());
  test::dns_fault_proxy proxy("127.0.0.1", w.dns().resolver_port());
  auto bob = w.start_receiver("bob", through(proxy));
  const auto [texts, wires] = sealed_batch(w, "alice", "bob", "through a slow resolver", 8);

  // Unbound's answers reach the receiver 400 ms late: after its 200 ms timeout.
  proxy.set(fault::slow, 400ms);
  w.publish("bob", wires);
  ASSERT_TRUE(wait_for_log(*bob, "; retry 2 at", 20s, texts.size())) << bob->errors();
  expect_held_back(w, *bob, texts.size());
  EXPECT_NE(bob->errors().find("DNS timeout"), std::string::npos) << bob->errors();
  EXPECT_GT(proxy.forwarded(), 0u) << "late answers were sent (and must be ignored)";

  proxy.set(fault::forward);
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 30s)) << bob->errors();
  std::this_thread::sleep_for(300ms);
  expect_exactly_once(texts, texts_of(w.inbox("bob")));
  expect_verified(w.inbox("bob"));
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_EQ(bob->stop(), 0);
}

TEST(FaultDns, ServfailBeyondTheRetryLimitQuarantinesWithTheReasonAndGoodTrafficResumes) {
  world w(quick_world());
  test::dns_fault_proxy proxy("127.0.0.1", w.dns().resolver_port());
  // One worker: every attempt asks the resolver itself (concurrent attempts
  // for a name never resolved would be held back, a reason without SERVFAIL).
  auto settings = through(proxy, "1500ms");
  settings["RECEIVER_WORKERS"] = "1";
  auto bob = w.start_receiver("bob", settings);
  const auto [texts, wires] = sealed_batch(w, "alice", "bob", "while the resolver fails", 5);

  proxy.set(fault::servfail);
  const auto published_at = std::chrono::steady_clock::now();
  w.publish("bob", wires);
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 30s)) << bob->errors();
  EXPECT_GE(std::chrono::steady_clock::now() - published_at, 1500ms) << "quarantined before the retry limit";
  EXPECT_TRUE(w.inbox("bob").empty());
  const auto quarantined = w.quarantine("bob");
  ASSERT_EQ(quarantined.size(), texts.size());
  for (const auto& entry : quarantined) {
    EXPECT_EQ(entry.reason.category, "jose");
    EXPECT_EQ(entry.reason.value, static_cast<int>(jose::errc::lookup_temporarily_failed)) << entry.reason.text;
    EXPECT_NE(entry.reason.text.find("SERVFAIL"), std::string::npos) << entry.reason.text;
    EXPECT_NE(entry.reason.text.find("still failing after"), std::string::npos) << entry.reason.text;
    EXPECT_GE(count_of(entry.reason.text, "attempts"), 1u);
    EXPECT_FALSE(entry.payload.empty()) << "kept with its raw bytes";
  }
  auto listed = w.receiver_command("bob", {"quarantine"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(count_of(listed.out, "\n"), texts.size()) << listed.out;
  EXPECT_EQ(count_of(listed.out, "jose:" + std::to_string(static_cast<int>(jose::errc::lookup_temporarily_failed))),
            texts.size())
      << listed.out;

  proxy.set(fault::forward);
  const auto [after, after_wires] = sealed_batch(w, "alice", "bob", "after the resolver recovered", 3);
  w.publish("bob", after_wires);
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size() + after.size(), 30s)) << bob->errors();
  expect_exactly_once(after, texts_of(w.inbox("bob")));
  EXPECT_EQ(bob->stop(), 0);
}

TEST(FaultDns, FlappingResolverWhileMessagesArriveLosesNothingAndAcceptsNothingUnverified) {
  world w(quick_world());
  test::dns_fault_proxy proxy("127.0.0.1", w.dns().resolver_port());
  auto bob = w.start_receiver("bob", through(proxy));
  const auto [texts, wires] = sealed_batch(w, "alice", "bob", "through a flapping resolver", 40);

  // 100 ms of SERVFAIL (then of a black hole) in every 400 ms.
  proxy.flap(fault::servfail, 100ms, 300ms);
  for (std::size_t start = 0; start < wires.size(); start += 10) {
    w.publish("bob", std::vector<std::string>(wires.begin() + static_cast<std::ptrdiff_t>(start),
                                              wires.begin() + static_cast<std::ptrdiff_t>(start + 10)));
    std::this_thread::sleep_for(120ms);
    if (start == 10) proxy.flap(fault::blackhole, 100ms, 300ms);
  }
  const auto flapping_since = std::chrono::steady_clock::now();
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 60s)) << bob->errors();
  std::cout << "all " << texts.size() << " delivered "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - flapping_since)
                   .count()
            << " ms after the last burst; " << count_of(bob->errors(), "; retry ") << " retries\n";
  std::this_thread::sleep_for(300ms);
  const auto inbox = w.inbox("bob");
  expect_exactly_once(texts, texts_of(inbox));
  expect_verified(inbox);
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_GT(count_of(bob->errors(), "; retry 1 at"), 0u) << "the faults were seen and retried";
  EXPECT_EQ(bob->stop(), 0);
}

}  // namespace
}  // namespace danemq::e2e
