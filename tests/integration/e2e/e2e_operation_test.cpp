// End to end, what the README promises about running the receiver: `health`
// turns unhealthy once the daemon is gone (the image's HEALTHCHECK rests on
// it), a warning for MQTT_QOS 0 or 2, the switch to APP_UID when started
// as root, and the metrics of its DNS lookups against real DNSSEC.

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "support/e2e_support.hpp"
#include "support/metrics_scrape.hpp"
#include "support/skip.hpp"

namespace danemq::e2e {
namespace {

/// The values of the line `field:` of /proc/<pid>/status (e.g. "Uid"), one space apart.
std::string proc_status(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream values(line.substr(field.size() + 1));
    std::string value;
    std::string out;
    while (values >> value) out += (out.empty() ? "" : " ") + value;
    return out;
  }
  return "(no " + field + ")";
}

TEST(ReceiverHealth, TurnsUnhealthyWhenTheDaemonDies) {
  world w;
  const std::map<std::string, std::string> interval{{"HEALTH_INTERVAL", "1s"}};
  auto bob = w.start_receiver("bob", interval);
  const std::vector<std::string> health = {(test::binary_dir() / "danemq-receiver").string(), "health"};
  test::command_result answer;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (true) {
    answer = test::run_command(health, w.env("bob", interval));
    if (answer.exit_code == 0 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(answer.exit_code, 0) << answer.out << answer.err << bob->errors();
  EXPECT_EQ(answer.out, "healthy: connected, identity in sync\n");

  bob->signal(SIGKILL);
  ASSERT_TRUE(bob->wait(5s).has_value());
  // The last record is at least as old as the kill: past 3 x HEALTH_INTERVAL + 5 s = 8 s.
  std::this_thread::sleep_for(9s);
  answer = test::run_command(health, w.env("bob", interval));
  EXPECT_EQ(answer.exit_code, 1) << answer.out << answer.err;
  EXPECT_EQ(answer.out.rfind("unhealthy: ", 0), 0u) << answer.out;
  EXPECT_NE(answer.out.find("daemon not running"), std::string::npos) << answer.out;
}

TEST(ReceiverMetrics, CountDnsLookupsByOutcomeAndCacheHits) {
  world w;
  const auto port = test::free_port();
  auto bob = w.start_receiver("bob", {{"METRICS_ADDRESS", "127.0.0.1:" + std::to_string(port)}});
  const auto before = test::scrape(port);
  ASSERT_FALSE(before.empty()) << bob->errors();
  EXPECT_EQ(test::sample(before, "danemq_dns_cache_hits_total"), 0) << before;
  EXPECT_EQ(test::sample(before, "danemq_replay_memory_entries"), 0) << before;

  for (int i = 0; i < 2; ++i) {
    auto sent = w.sender("alice", {"send", "bob.danemq.test", "counted #" + std::to_string(i)});
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
    ASSERT_TRUE(w.wait_for_stored("bob", static_cast<std::size_t>(i) + 1)) << bob->errors();
  }
  // mallory has keys but no TLSA record: a proven NXDOMAIN.
  ASSERT_EQ(w.sender("mallory", {"send", "bob.danemq.test", "unknown"}).exit_code, 0);
  ASSERT_TRUE(w.wait_for_stored("bob", 3)) << bob->errors();

  std::string after;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    after = test::scrape(port);
    if (test::sample(after, "danemq_replay_memory_entries") == 2) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  // The receiver's check of its own identity may have been the first lookup.
  const auto lookups_before = std::max(0.0, test::sample(before, "danemq_dns_lookups_total{outcome=\"ok\"}"));
  EXPECT_GT(test::sample(after, "danemq_dns_lookups_total{outcome=\"ok\"}"), lookups_before) << after;
  EXPECT_GE(test::sample(after, "danemq_dns_cache_hits_total"), 1) << "alice's second message" << after;
  EXPECT_GE(test::sample(after, "danemq_dns_lookups_total{outcome=\"nxdomain\"}"), 1) << after;
  EXPECT_EQ(test::sample(after, "danemq_replay_memory_entries"), 2) << after;
  EXPECT_EQ(bob->stop(), 0);
}

TEST(ReceiverQos, WarnsAtQos0And2ButNotAt1) {
  world w;
  for (const auto* qos : {"0", "1", "2"}) {
    SCOPED_TRACE(std::string("MQTT_QOS=") + qos);
    auto bob = w.start_receiver("bob", {{"MQTT_QOS", qos}});
    const auto warning = std::string("MQTT_QOS=") + qos + ": only QoS 1 loses nothing across crashes";
    const bool warned = bob->errors().find(warning) != std::string::npos;
    EXPECT_EQ(warned, std::string(qos) != "1") << bob->errors();
    EXPECT_EQ(bob->stop(), 0);
  }
}

TEST(ReceiverPrivileges, StartedAsRootRunsAsAppUid) {
  if (::geteuid() != 0) DANEMQ_SKIP_UNLESS_CI("starting the receiver as root needs root");
  constexpr uid_t nobody = 65534;
  world w;
  // bob's identity and data where the user nobody may read and write them.
  test::temp_dir own("danemq-app-uid");
  const auto crypto = own.path() / "identity";
  const auto data = own.path() / "data";
  std::filesystem::create_directories(crypto);
  std::filesystem::create_directories(data);
  const auto bob_paths = identity::identity_paths::of(w.crypto_path(), "bob.danemq.test");
  const auto own_paths = identity::identity_paths::of(crypto, "bob.danemq.test");
  std::filesystem::copy_file(bob_paths.key, own_paths.key);
  std::filesystem::copy_file(bob_paths.certificate, own_paths.certificate);
  for (const auto& path : {own.path(), crypto, data, own_paths.key, own_paths.certificate}) {
    ASSERT_EQ(::chown(path.c_str(), nobody, nobody), 0) << path;
  }

  auto bob = w.start_receiver(
      "bob", {{"APP_UID", std::to_string(nobody)}, {"CRYPTO_PATH", crypto.string()}, {"DATA_PATH", data.string()}});
  ASSERT_TRUE(bob->running()) << bob->errors();
  // Real, effective, saved and file-system ids.
  EXPECT_EQ(proc_status(bob->pid(), "Uid"), "65534 65534 65534 65534") << bob->errors();
  EXPECT_EQ(proc_status(bob->pid(), "Gid"), "65534 65534 65534 65534") << bob->errors();
  EXPECT_EQ(proc_status(bob->pid(), "Groups"), "") << "supplementary groups dropped";

  // And it works as that user: a message arrives and is stored.
  const auto sent = w.sender("alice", {"send", "bob.danemq.test", "to the unprivileged bob"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (bob->output().find("to the unprivileged bob") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(bob->output().find("alice.danemq.test says: to the unprivileged bob"), std::string::npos) << bob->errors();
  EXPECT_EQ(bob->stop(), 0);
}

}  // namespace
}  // namespace danemq::e2e
