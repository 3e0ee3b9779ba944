#include "danemq/dane/lookup_throttle.hpp"

#include <gtest/gtest.h>

namespace danemq::dane {
namespace {

using namespace std::chrono_literals;
using clock = lookup_throttle::clock;

bool throttled(const result<void>& r) {
  return !r && r.error().code == make_error_code(errc::lookup_throttled);
}

TEST(ThrottleZone, IsWhatFollowsTheLeftmostUnderscoreLabelOrTheParent) {
  EXPECT_EQ(throttle_zone("abc123._device.example.net"), "example.net");
  EXPECT_EQ(throttle_zone("x.y._device.example.net"), "example.net");
  EXPECT_EQ(throttle_zone("a._b._c.example"), "_c.example");
  EXPECT_EQ(throttle_zone("host.slow.example"), "slow.example");
  EXPECT_EQ(throttle_zone("example"), "example");
}

TEST(LookupThrottle, LimitsConcurrentLookupsPerZone) {
  lookup_throttle throttle({.per_zone = 2, .unproven = 0});
  const auto t0 = clock::time_point{} + 1000s;
  EXPECT_TRUE(throttle.enter("slow.example", false, t0));
  EXPECT_TRUE(throttle.enter("slow.example", false, t0));
  EXPECT_TRUE(throttled(throttle.enter("slow.example", false, t0)));
  EXPECT_TRUE(throttle.enter("other.example", false, t0));  // another zone is not held up
  throttle.leave("slow.example", false, false, t0);
  EXPECT_TRUE(throttle.enter("slow.example", false, t0));
  EXPECT_EQ(throttle.stats().refused_busy, 1u);
}

TEST(LookupThrottle, LimitsConcurrentLookupsOfUnprovenNamesOverAllZones) {
  lookup_throttle throttle({.per_zone = 2, .unproven = 3});
  const auto t0 = clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle.enter("z" + std::to_string(i), true, t0));
  EXPECT_TRUE(throttled(throttle.enter("z9", true, t0)));
  EXPECT_TRUE(throttle.enter("z9", false, t0));  // a known name still gets through
  throttle.leave("z0", true, false, t0);
  EXPECT_TRUE(throttle.enter("z9", true, t0));
}

TEST(LookupThrottle, AZoneThatKeepsFailingFailsFastForABoundedTime) {
  lookup_throttle throttle({.per_zone = 0, .unproven = 0, .zone_failures = 3, .zone_hold = 10s});
  const auto t0 = clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(throttle.enter("blackhole.example", true, t0));
    throttle.leave("blackhole.example", true, true, t0 + 1s);
  }
  auto refused = throttle.enter("blackhole.example", true, t0 + 2s);
  ASSERT_TRUE(throttled(refused));
  EXPECT_NE(refused.error().detail.find("blackhole.example"), std::string::npos);
  EXPECT_TRUE(throttled(throttle.enter("blackhole.example", false, t0 + 10s)));
  // After the hold one lookup is tried again; its failure holds the zone again.
  ASSERT_TRUE(throttle.enter("blackhole.example", true, t0 + 11s));
  throttle.leave("blackhole.example", true, true, t0 + 12s);
  EXPECT_TRUE(throttled(throttle.enter("blackhole.example", true, t0 + 13s)));
  // A success clears the count.
  ASSERT_TRUE(throttle.enter("blackhole.example", true, t0 + 30s));
  throttle.leave("blackhole.example", true, false, t0 + 30s);
  ASSERT_TRUE(throttle.enter("blackhole.example", true, t0 + 30s));
  throttle.leave("blackhole.example", true, true, t0 + 31s);
  EXPECT_TRUE(throttle.enter("blackhole.example", true, t0 + 31s));
  EXPECT_EQ(throttle.stats().refused_failing, 3u);
}

TEST(LookupThrottle, RemembersABoundedNumberOfZonesButNeverOneUnderWay) {
  lookup_throttle throttle({.per_zone = 1, .unproven = 0, .zone_failures = 1, .zone_hold = 10s, .max_zones = 4});
  const auto t0 = clock::time_point{} + 1000s;
  ASSERT_TRUE(throttle.enter("busy", false, t0));
  for (int i = 0; i < 100; ++i) {
    const std::string zone = "z" + std::to_string(i);
    ASSERT_TRUE(throttle.enter(zone, true, t0));
    throttle.leave(zone, true, true, t0);
  }
  EXPECT_LE(throttle.stats().zones, 4u);
  EXPECT_TRUE(throttled(throttle.enter("busy", false, t0)));
}

}  // namespace
}  // namespace danemq::dane
