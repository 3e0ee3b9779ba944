#include "watch_command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace danemq::maintenance {
namespace {

const std::string in_sync_report =
    "Local identity: alice.example.net (rsa-2048), certificate valid for 364 more days\n"
    "alice.example.net TLSA: 1 record, DNSSEC secure\n"
    "  [0] matches the local certificate\n"
    "Check: DNS publishes the local identity securely (DNSSEC)\n";

const std::string expiring_report =
    "Local identity: alice.example.net (rsa-2048), certificate valid for 12 more days\n"
    "  warning: certificate expires in 12 days, on 2030-01-01 00:00:00 UTC\n"
    "Check: DNS publishes the local identity securely (DNSSEC)\n";

check_outcome in_sync() {
  return {exit_success, in_sync_report, ""};
}
check_outcome drifted(const std::string& why =
                          "check failed for alice.example.net: no usable TLSA record matches "
                          "the local certificate") {
  return {exit_dns_mismatch, "Local identity: alice.example.net (rsa-2048)\n", why};
}
check_outcome no_identity() {
  return {exit_identity_files, "", "/identity/alice.example.net.key.pem: no such file"};
}

std::vector<watch_level> levels(const std::vector<watch_event>& events) {
  std::vector<watch_level> out;
  for (const auto& event : events) out.push_back(event.level);
  return out;
}

TEST(DriftMonitor, LogsTheFirstInSyncCheckWithCheckVerdict) {
  drift_monitor monitor;
  const auto events = monitor.observe(in_sync());
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0], (watch_event{watch_level::info, "in sync: DNS publishes the local identity securely (DNSSEC)"}));
}

TEST(DriftMonitor, StaysQuietWhileInSync) {
  drift_monitor monitor;
  (void)monitor.observe(in_sync());
  for (int round = 0; round < 30; ++round) {
    EXPECT_EQ(levels(monitor.observe(in_sync())), std::vector<watch_level>{watch_level::debug});
  }
}

TEST(DriftMonitor, LogsDriftAsAnErrorWithTheReasonAndWhatToDo) {
  drift_monitor monitor;
  (void)monitor.observe(in_sync());
  const auto events = monitor.observe(drifted());
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].level, watch_level::error);
  EXPECT_NE(events[0].message.find("DRIFT"), std::string::npos);
  EXPECT_NE(events[0].message.find("no usable TLSA record matches the local certificate"), std::string::npos);
  EXPECT_NE(events[0].message.find("publish-tlsa"), std::string::npos);
}

TEST(DriftMonitor, RemindsOfALastingDriftOnlyEveryNChecks) {
  drift_monitor monitor(3);
  (void)monitor.observe(drifted());
  EXPECT_TRUE(monitor.observe(drifted()).empty());
  EXPECT_TRUE(monitor.observe(drifted()).empty());
  const auto reminder = monitor.observe(drifted());
  ASSERT_EQ(reminder.size(), 1U);
  EXPECT_EQ(reminder[0].level, watch_level::error);
  EXPECT_EQ(reminder[0].message.rfind("still: DRIFT", 0), 0U) << reminder[0].message;
  EXPECT_TRUE(monitor.observe(drifted()).empty());
}

TEST(DriftMonitor, LogsANewReasonAtOnce) {
  drift_monitor monitor;
  (void)monitor.observe(drifted());
  const auto events = monitor.observe(drifted("lookup of alice.example.net: NXDOMAIN"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_NE(events[0].message.find("NXDOMAIN"), std::string::npos);
}

TEST(DriftMonitor, SaysWhenDnsAndIdentityAgreeAgain) {
  drift_monitor monitor;
  (void)monitor.observe(drifted());
  const auto events = monitor.observe(in_sync());
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].level, watch_level::info);
  EXPECT_EQ(events[0].message.rfind("back in sync: ", 0), 0U) << events[0].message;
}

TEST(DriftMonitor, TellsHowToCreateAMissingIdentity) {
  drift_monitor monitor;
  const auto events = monitor.observe(no_identity());
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].level, watch_level::warning);
  EXPECT_NE(events[0].message.find("no such file"), std::string::npos);
  EXPECT_NE(events[0].message.find("create_selfsigned_id"), std::string::npos);
}

TEST(DriftMonitor, LogsExpiryWarningsWhenTheyAppearAndAsReminders) {
  drift_monitor monitor(2);
  (void)monitor.observe(in_sync());
  const auto appeared = monitor.observe({exit_success, expiring_report, ""});
  ASSERT_EQ(appeared.size(), 2U);
  EXPECT_EQ(appeared[1], (watch_event{watch_level::warning,
                                      "identity: certificate expires in 12 days, on 2030-01-01 00:00:00 UTC"}));
  EXPECT_EQ(levels(monitor.observe({exit_success, expiring_report, ""})), std::vector<watch_level>{watch_level::debug});
  EXPECT_EQ(levels(monitor.observe({exit_success, expiring_report, ""})),
            (std::vector<watch_level>{watch_level::debug, watch_level::warning}));
}

TEST(DriftMonitor, NamesASettingThatPreventsChecking) {
  drift_monitor monitor;
  const auto events = monitor.observe({exit_usage, "", "DNS_RESOLVER (--dns-resolver): 'x' is not an address"});
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].level, watch_level::error);
  EXPECT_EQ(events[0].message, "cannot check: DNS_RESOLVER (--dns-resolver): 'x' is not an address");
}

TEST(ReportWarnings, TakesOnlyIndentedWarningLines) {
  const auto warnings =
      report_warnings("Local identity: a\n  warning: one\nsomething warning: not this\n  warning: two\n");
  EXPECT_EQ(warnings, (std::vector<std::string>{"one", "two"}));
}

}  // namespace
}  // namespace danemq::maintenance
