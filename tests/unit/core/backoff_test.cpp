#include "danemq/core/backoff.hpp"

#include <gtest/gtest.h>

namespace danemq {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, DoublesFromTheInitialDelayUpToTheCap) {
  backoff delays(backoff_policy{100ms, 1s, 2.0, 0.0}, 1);
  EXPECT_EQ(delays.next(), 100ms);
  EXPECT_EQ(delays.next(), 200ms);
  EXPECT_EQ(delays.next(), 400ms);
  EXPECT_EQ(delays.next(), 800ms);
  EXPECT_EQ(delays.next(), 1s);
  EXPECT_EQ(delays.next(), 1s);
  EXPECT_EQ(delays.failures(), 6u);
}

TEST(Backoff, StartsAgainAfterReset) {
  backoff delays(backoff_policy{100ms, 1s, 2.0, 0.0}, 1);
  (void)delays.next();
  (void)delays.next();
  delays.reset();
  EXPECT_EQ(delays.next(), 100ms);
}

TEST(Backoff, SpreadsDelaysWithinTheJitterAndNeverAboveTheCap) {
  backoff delays(backoff_policy{1000ms, 4s, 2.0, 0.25}, 42);
  bool saw_low = false;
  bool saw_high = false;
  for (int round = 0; round < 200; ++round) {
    delays.reset();
    const auto first = delays.next();
    EXPECT_GE(first, 750ms);
    EXPECT_LE(first, 1250ms);
    saw_low |= first < 1000ms;
    saw_high |= first > 1000ms;
    for (int i = 0; i < 10; ++i) EXPECT_LE(delays.next(), 4s);
  }
  EXPECT_TRUE(saw_low && saw_high) << "jitter should spread both ways";
}

TEST(Backoff, SurvivesVeryManyFailures) {
  backoff delays(backoff_policy{1ms, 30s, 10.0, 0.1}, 7);
  for (int i = 0; i < 10'000; ++i) (void)delays.next();
  EXPECT_LE(delays.next(), 30s);
  EXPECT_GE(delays.next(), 27s);
}

TEST(Backoff, RepairsANonsensePolicy) {
  backoff delays(backoff_policy{0ms, 0ms, 0.5, 7.0}, 3);
  EXPECT_GE(delays.policy().initial, 1ms);
  EXPECT_GE(delays.policy().multiplier, 1.0);
  EXPECT_LE(delays.policy().jitter, 1.0);
}

}  // namespace
}  // namespace danemq
