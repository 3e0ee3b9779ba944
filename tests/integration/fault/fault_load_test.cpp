// The load test's small version (bench/load runs the full one): 5 sender
// identities, 300 messages to one receiver through a real Mosquitto and real
// DNS, with a broker SIGKILL and a receiver SIGKILL during the run. Nothing
// lost, nothing duplicated, nothing quarantined.

#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "support/load_run.hpp"

namespace danemq::load {
namespace {

TEST(FaultLoad, FiveSendersThreeHundredMessagesThroughABrokerRestartAndAReceiverKillLoseNothing) {
  load_options options;
  options.senders = 5;
  options.messages = 300;
  options.broker_restarts = 1;
  options.receiver_kills = 1;
  options.stall_limit = std::chrono::seconds(40);
  options.broker_autosave_seconds = 1;  // a shorter wait for the broker's first save
  options.receiver_workers = 1;         // a run long enough for the faults to land inside it
  std::ostringstream progress;
  const auto report = run_load(options, progress);
  std::cout << progress.str() << report;
  EXPECT_TRUE(report.failure.empty()) << report.failure;
  EXPECT_EQ(report.acknowledged, 300u);
  EXPECT_EQ(report.in_inbox, 300u);
  EXPECT_EQ(report.lost, 0u);
  EXPECT_EQ(report.duplicates, 0u);
  EXPECT_EQ(report.unexpected, 0u);
  EXPECT_EQ(report.quarantined, 0u);
  EXPECT_EQ(report.pending, 0u);
  EXPECT_EQ(report.broker_restarts, 1u);
  EXPECT_EQ(report.receiver_kills, 1u);
}

}  // namespace
}  // namespace danemq::load
