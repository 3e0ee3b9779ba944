#pragma once
// The flood of issue 12, section 3, shared by its test
// (fault_flood_test.cpp) and its benchmark (bench/flood): a publisher on the
// open broker sends bob messages whose claimed senders are fresh names in a
// black-hole zone (queries never answered) and in a slow zone (answered late),
// while alice, a known sender, writes to bob at a steady rate. Bob's receiver
// asks the DNS through dns_fault_proxy, which forwards the rig's own zone to
// Unbound. The run reports the latency of alice's messages (publish to inbox,
// polled every 10 ms) and what the flood cost.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dns_fault_proxy.hpp"
#include "support/e2e_support.hpp"

namespace danemq::e2e {

struct flood_options {
  std::chrono::milliseconds duration{std::chrono::seconds(10)};  ///< of the legitimate traffic
  double legit_per_second{5};
  double flood_per_second{50};  ///< 0: no flood (the baseline)
  std::chrono::milliseconds slow_delay{std::chrono::milliseconds(800)};
  std::map<std::string, std::string> receiver_env{};  ///< more receiver settings
};

struct flood_report {
  std::vector<std::chrono::milliseconds> latencies;  ///< of the legitimate messages delivered, sorted
  std::size_t legit_sent{0};
  std::size_t legit_delivered{0};  ///< by the end of the run's drain time
  std::size_t flood_sent{0};
  std::size_t flood_accepted{0};  ///< must stay 0
  std::size_t flood_quarantined{0};
  std::size_t flood_pending{0};  ///< deferred, to be retried (or quarantined later)
  std::uint64_t blackhole_queries{0};
  std::uint64_t slow_queries{0};

  [[nodiscard]] std::chrono::milliseconds percentile(double p) const {
    if (latencies.empty()) return std::chrono::milliseconds(-1);
    const auto at = static_cast<std::size_t>(p * static_cast<double>(latencies.size() - 1) + 0.5);
    return latencies[std::min(at, latencies.size() - 1)];
  }
};

inline constexpr const char* blackhole_zone = "blackhole.test";
inline constexpr const char* slow_zone = "slow.test";

/// A message to bob that claims to come from `claimed` (signed with
/// mallory's key, which DNS does not vouch for under that name: the receiver
/// must look the name up before it can tell).
inline std::string forged_from(world& w, const std::string& claimed, const std::string& text) {
  identity::local_identity fake;
  fake.name = claimed;
  EVP_PKEY_up_ref(w.id("mallory").key.get());
  fake.key.reset(w.id("mallory").key.get());
  auto wire = jose::seal(jose::message_to_send{full_name("bob"), text}, fake, w.discovery());
  if (!wire) throw std::runtime_error("seal: " + wire.error().message());
  return *wire;
}

inline flood_report run_flood(world& w, const flood_options& options) {
  flood_report report;
  test::dns_fault_proxy proxy("127.0.0.1", w.dns().resolver_port());
  proxy.set_zone(blackhole_zone, test::dns_fault_proxy::mode::blackhole);
  proxy.set_zone(slow_zone, test::dns_fault_proxy::mode::slow, options.slow_delay);
  std::map<std::string, std::string> env = {
      {"DNS_RESOLVER", proxy.address()}, {"DNS_TIMEOUT_MS", "1000"}, {"DNS_RETRIES", "1"}};
  for (const auto& [key, value] : options.receiver_env) env[key] = value;
  auto bob = w.start_receiver("bob", env);

  // alice is a known sender: one message before anything else.
  const std::string warm_up = "warm-up";
  w.publish("bob", {w.seal("alice", "bob", warm_up)});
  if (!w.wait_for_stored("bob", 1, std::chrono::seconds(30))) throw std::runtime_error("warm-up not delivered");

  const auto legit_count =
      static_cast<std::size_t>(options.legit_per_second * std::chrono::duration<double>(options.duration).count());
  const auto flood_count =
      static_cast<std::size_t>(options.flood_per_second * std::chrono::duration<double>(options.duration).count());
  std::vector<std::string> legit_texts;
  std::vector<std::string> legit_wires;
  for (std::size_t i = 0; i < legit_count; ++i) {
    legit_texts.push_back("legit #" + std::to_string(i));
    legit_wires.push_back(w.seal("alice", "bob", legit_texts.back()));
  }
  std::vector<std::string> flood_wires;
  for (std::size_t i = 0; i < flood_count; ++i) {
    const std::string zone = i % 2 == 0 ? blackhole_zone : slow_zone;
    flood_wires.push_back(forged_from(w, "f" + std::to_string(i) + "._device." + zone, "flood #" + std::to_string(i)));
  }

  mqtt::client_options client_options;
  client_options.host = w.broker().host();
  client_options.port = w.broker().port();
  client_options.clean_session = true;
  mqtt::client publisher(client_options, [](std::vector<mqtt::message>&) { return ok(); });
  if (!publisher.start() || !publisher.wait_connected(std::chrono::seconds(10))) {
    throw std::runtime_error("publisher: " + publisher.last_error());
  }
  const auto topic = full_name("bob");
  std::mutex acks_mutex;
  std::vector<std::future<result<void>>> acks;
  const auto send = [&](const std::string& wire) {
    auto ack = publisher.publish(topic, std::vector<std::uint8_t>(wire.begin(), wire.end()), 1);
    std::lock_guard lock(acks_mutex);
    acks.push_back(std::move(ack));
  };

  using steady = std::chrono::steady_clock;
  const auto start = steady::now();
  std::vector<steady::time_point> published_at(legit_count);
  std::thread flooder([&] {
    for (std::size_t i = 0; i < flood_count; ++i) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<steady::duration>(
                                                std::chrono::duration<double>(i / options.flood_per_second)));
      send(flood_wires[i]);
    }
  });
  std::atomic<std::size_t> legit_published{0};
  std::thread legit([&] {
    for (std::size_t i = 0; i < legit_count; ++i) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<steady::duration>(
                                                std::chrono::duration<double>(i / options.legit_per_second)));
      published_at[i] = steady::now();
      send(legit_wires[i]);
      legit_published = i + 1;
    }
  });

  // Poll the inbox for alice's texts until all arrived (or a drain time passed).
  std::map<std::string, std::size_t> index_of;
  for (std::size_t i = 0; i < legit_count; ++i) index_of[legit_texts[i]] = i;
  std::set<std::string> seen{warm_up};
  const auto give_up = start + options.duration + std::chrono::seconds(60);
  while (steady::now() < give_up && report.legit_delivered < legit_count) {
    const auto polled = steady::now();
    for (const auto& entry : w.inbox("bob")) {
      if (!seen.insert(entry.message).second) continue;
      const auto found = index_of.find(entry.message);
      if (found == index_of.end()) continue;
      if (found->second >= legit_published.load()) continue;
      report.latencies.push_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(polled - published_at[found->second]));
      ++report.legit_delivered;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  legit.join();
  flooder.join();
  for (auto& ack : acks) {
    if (ack.wait_for(std::chrono::seconds(30)) != std::future_status::ready || !ack.get()) {
      throw std::runtime_error("a message was not acknowledged by the broker");
    }
  }
  publisher.stop();
  std::sort(report.latencies.begin(), report.latencies.end());
  // Every flood message stored (decided or waiting for its retry) before counting.
  const auto stored_by = steady::now() + std::chrono::seconds(30);
  while (steady::now() < stored_by &&
         w.inbox("bob").size() + w.quarantine("bob").size() + w.pending("bob") < 1 + legit_count + flood_count) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  report.legit_sent = legit_count;
  report.flood_sent = flood_count;
  for (const auto& entry : w.inbox("bob")) {
    if (entry.message.rfind("flood #", 0) == 0) ++report.flood_accepted;
  }
  report.flood_quarantined = w.quarantine("bob").size();
  report.flood_pending = w.pending("bob");
  report.blackhole_queries = proxy.queries_in(blackhole_zone);
  report.slow_queries = proxy.queries_in(slow_zone);
  (void)bob->stop();
  return report;
}

inline std::ostream& operator<<(std::ostream& out, const flood_report& r) {
  return out << "legit " << r.legit_delivered << "/" << r.legit_sent << " delivered, p50 " << r.percentile(0.5).count()
             << " ms, p99 " << r.percentile(0.99).count() << " ms, max "
             << (r.latencies.empty() ? -1 : r.latencies.back().count()) << " ms; flood " << r.flood_sent << " sent, "
             << r.flood_accepted << " accepted, " << r.flood_quarantined << " quarantined, " << r.flood_pending
             << " pending; DNS queries: black-hole zone " << r.blackhole_queries << ", slow zone " << r.slow_queries;
}

}  // namespace danemq::e2e
