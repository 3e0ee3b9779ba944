#include "danemq/runtime/stop_signals.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

namespace danemq::runtime {
namespace {

using namespace std::chrono_literals;

TEST(StopSignals, ASignalSentToTheProcessIsReadInsteadOfKillingIt) {
  stop_signals stops;
  EXPECT_EQ(stops.wait(10ms), 0);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_EQ(stops.wait(1s), SIGTERM);
  EXPECT_EQ(stops.received(), SIGTERM);
  EXPECT_EQ(stops.wait(0ms), SIGTERM) << "and stays received";
}

TEST(StopSignals, AReadableDescriptorEndsTheWaitWithoutASignal) {
  stop_signals stops;
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  EXPECT_EQ(stops.wait(10ms, pipe_ends[0]), 0);
  EXPECT_FALSE(stops.readable());
  ASSERT_EQ(::write(pipe_ends[1], "x", 1), 1);
  EXPECT_EQ(stops.wait(1s, pipe_ends[0]), 0);
  EXPECT_TRUE(stops.readable());
  ::close(pipe_ends[1]);
  ::close(pipe_ends[0]);
}

TEST(StopSignals, SIGINTIsAStopToo) {
  stop_signals stops;
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  EXPECT_EQ(stops.wait(1s), SIGINT);
}

}  // namespace
}  // namespace danemq::runtime
