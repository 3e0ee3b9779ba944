// Fault injection, size: payloads of 10 MB and 100 MB published to the
// receiver's topic on the real Mosquitto (whose own limit lets them through),
// under MQTT 3.1.1 and under 5. Nothing of them is stored, the next good
// message is delivered, and the receiver's peak resident set (VmHWM) is
// measured: under 5 the broker never sends them (the CONNECT's Maximum Packet
// Size), so it stays flat; under 3.1.1 libmosquitto reads the whole packet
// and copies its payload once more before our callback refuses it, so it may
// grow by a few copies of that one packet and no more. The figures are
// printed (and recorded as test properties). And a quarantine flooded beyond
// QUARANTINE_MAX_BYTES stays at it.

#include <filesystem>
#include <fstream>
#include <iostream>

#include "fault_support.hpp"

namespace danemq::e2e {
namespace {

/// Peak resident set (VmHWM) of a live process, in KiB; 0 when unknown.
long peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

std::uintmax_t size_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

world_options sized_world(bool mqtt5) {
  auto options = quick_world();
  options.mqtt5 = mqtt5;
  // Mosquitto's own limit (0: none, up to the protocol's 256 MB) lets the
  // large payloads reach the broker: what the receiver does with them is
  // under test, not the broker's refusal.
  options.broker.extra_config = "message_size_limit 0\n";
  // Persisting a 100 MB message after every change would only slow the test.
  options.broker.autosave_on_every_change = false;
  return options;
}

class FaultSize : public ::testing::TestWithParam<bool> {};

TEST_P(FaultSize, OversizedPayloadsAreNeverStoredAndMemoryStaysBounded) {
  const bool mqtt5 = GetParam();
  world w(sized_world(mqtt5));
  auto bob = w.start_receiver("bob");
  w.publish("bob", {w.seal("alice", "bob", "warm-up")});
  ASSERT_TRUE(w.wait_for_stored("bob", 1, 30s)) << bob->errors();
  const auto baseline = peak_rss_kib(bob->pid());
  ASSERT_GT(baseline, 0);

  constexpr std::size_t megabyte = 1000 * 1000;
  std::vector<long> peaks;
  std::size_t delivered = 1;
  for (const std::size_t size : {10 * megabyte, 100 * megabyte}) {
    w.publish("bob", {std::string(size, 'A')});
    const auto text = "after " + std::to_string(size / megabyte) + " MB";
    w.publish("bob", {w.seal("alice", "bob", text)});
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (w.inbox("bob").size() < delivered + 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    const auto inbox = w.inbox("bob");
    ASSERT_EQ(inbox.size(), delivered + 1) << "the next good message is delivered\n" << bob->errors();
    EXPECT_EQ(inbox.back().message, text);
    ++delivered;
    peaks.push_back(peak_rss_kib(bob->pid()));
  }

  // Nothing of them is stored: no payload, nothing pending, a small file.
  EXPECT_EQ(w.pending("bob"), 0u);
  const auto quarantine = w.quarantine("bob");
  for (const auto& row : quarantine) {
    EXPECT_TRUE(row.payload.empty()) << row.reason.text;
    EXPECT_EQ(row.reason.value, 4) << row.reason.text;
  }
  if (mqtt5) {
    EXPECT_TRUE(quarantine.empty()) << "the broker sent a packet over the Maximum Packet Size";
  } else {
    ASSERT_EQ(quarantine.size(), 2u) << bob->errors();
    EXPECT_NE(quarantine[0].reason.text.find("message of 10000000 bytes"), std::string::npos)
        << quarantine[0].reason.text;
    EXPECT_NE(quarantine[1].reason.text.find("sha256 "), std::string::npos) << quarantine[1].reason.text;
  }
  const auto database =
      size_or_zero(w.data_path("bob") / "receiver.db") + size_or_zero(w.data_path("bob") / "receiver.db-wal");
  EXPECT_LT(database, 4 * megabyte) << "bytes of a refused payload reached the database";

  const auto growth_10 = peaks[0] - baseline;
  const auto growth_100 = peaks[1] - baseline;
  const std::string figures = std::string("MQTT ") + (mqtt5 ? "5" : "3.1.1") + ": receiver peak RSS " +
                              std::to_string(baseline / 1024) + " MiB before, +" + std::to_string(growth_10 / 1024) +
                              " MiB after 10 MB, +" + std::to_string(growth_100 / 1024) + " MiB after 100 MB";
  std::cout << figures << std::endl;
  RecordProperty("peak_rss", figures);
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
  // ThreadSanitizer's allocator and shadow memory grow with every allocation:
  // the figures are printed, the bounds hold only without it.
  constexpr bool rss_bounds_hold = false;
#else
  constexpr bool rss_bounds_hold = true;
#endif
#else
  constexpr bool rss_bounds_hold = true;
#endif
  if (!rss_bounds_hold) {
    // nothing stored was checked above; memory is not measured under TSan
  } else if (mqtt5) {
    EXPECT_LT(growth_100, 8 * 1024) << figures;
  } else {
    // libmosquitto's packet buffer and its copy of the payload for the
    // callback; never a copy of ours.
    EXPECT_LT(growth_100, 3 * 100 * 1000 * 1000 / 1024 + 16 * 1024) << figures;
  }
  EXPECT_EQ(bob->stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Mqtt, FaultSize, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "V5" : "V311"; });

TEST(FaultSizeRetention, AQuarantineOverItsByteLimitStaysAtIt) {
  world w(quick_world());
  constexpr std::uint64_t limit = 64 * 1024;
  auto bob = w.start_receiver("bob", {{"QUARANTINE_MAX_BYTES", "64K"}});
  // 200 malformed messages of 1 KB: 200 KB of quarantine, three times the limit.
  std::vector<std::string> junk;
  for (int i = 0; i < 200; ++i) junk.push_back("junk #" + std::to_string(i) + " " + std::string(1000, 'j'));
  w.publish("bob", junk);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::size_t removals = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto log = bob->errors();
    removals = 0;
    for (auto at = log.find("removed: over QUARANTINE_MAX_BYTES"); at != std::string::npos;
         at = log.find("removed: over QUARANTINE_MAX_BYTES", at + 1)) {
      ++removals;
    }
    if (w.pending("bob") == 0 && removals + w.quarantine("bob").size() >= junk.size()) break;
    std::this_thread::sleep_for(100ms);
  }
  const auto left = w.quarantine("bob");
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(removals + left.size(), junk.size()) << "each removal logged\n" << bob->errors();
  EXPECT_GT(removals, 100u);
  auto store = store::message_store::open(w.data_path("bob") / "receiver.db", store::open_options{.read_only = true});
  ASSERT_TRUE(store);
  const auto bytes = store->outcomes().quarantine_bytes();
  ASSERT_TRUE(bytes);
  EXPECT_LE(*bytes, limit);
  EXPECT_GT(*bytes, limit - 4 * 1024) << "removed no more than needed";
  EXPECT_NE(left.back().reason.text.find("malformed"), std::string::npos) << left.back().reason.text;
  EXPECT_EQ(std::string(left.back().payload.begin(), left.back().payload.begin() + 10), "junk #199 ")
      << "the newest stay";
  // The next good message still arrives.
  w.publish("bob", {w.seal("alice", "bob", "still here")});
  ASSERT_TRUE(w.wait_for_stored("bob", left.size() + 1, 30s));
  ASSERT_EQ(w.inbox("bob").size(), 1u);
  EXPECT_EQ(bob->stop(), 0);
}

}  // namespace
}  // namespace danemq::e2e
