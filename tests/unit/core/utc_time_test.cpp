#include "danemq/core/utc_time.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace danemq::core {
namespace {

using std::chrono::system_clock;
using namespace std::chrono_literals;

std::tm utc_fields(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  std::tm fields{};
  fields.tm_year = year - 1900;
  fields.tm_mon = month - 1;
  fields.tm_mday = day;
  fields.tm_hour = hour;
  fields.tm_min = minute;
  fields.tm_sec = second;
  return fields;
}

system_clock::time_point at(std::int64_t seconds) {
  return system_clock::time_point(std::chrono::seconds(seconds));
}

TEST(UtcTime, WritesDatesWithMilliseconds) {
  EXPECT_EQ(iso_utc_millis(at(1'714'564'800) + 123ms), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(readable_utc(at(1'714'564'800) + 999ms), "2024-05-01 12:00:00 UTC");
  EXPECT_EQ(iso_utc_millis(at(0)), "1970-01-01T00:00:00.000Z");
}

// A 32-bit time_t (Debian 12 armhf) ends at 2038-01-19T03:14:07Z: dates
// after it are written and read as they are, on every architecture.
TEST(UtcTime, HandlesDatesPastTheEndOf32BitTimeT) {
  EXPECT_EQ(iso_utc_millis(at(2'147'483'647)), "2038-01-19T03:14:07.000Z");
  EXPECT_EQ(iso_utc_millis(at(2'147'483'648)), "2038-01-19T03:14:08.000Z");
  EXPECT_EQ(readable_utc(at(2'524'608'000)), "2050-01-01 00:00:00 UTC");
  EXPECT_EQ(utc_seconds(utc_fields(2050, 1, 1)), std::chrono::sys_seconds(2'524'608'000s));
  EXPECT_EQ(utc_seconds(utc_fields(2106, 2, 7, 6, 28, 16)), std::chrono::sys_seconds(4'294'967'296s))
      << "past the end of an unsigned 32-bit count as well";
}

TEST(UtcTime, WritesTimesBefore1970FlooredNotRounded) {
  EXPECT_EQ(iso_utc_millis(at(0) - 1ms), "1969-12-31T23:59:59.999Z");
}

TEST(UtcTime, ReadsCalendarFieldsAsTimegmDoes) {
  EXPECT_EQ(utc_seconds(utc_fields(2024, 5, 1, 12)), std::chrono::sys_seconds(1'714'564'800s));
  EXPECT_EQ(utc_seconds(utc_fields(2024, 2, 30)), utc_seconds(utc_fields(2024, 3, 1))) << "counts on into March";
  EXPECT_FALSE(utc_seconds(utc_fields(2024, 13, 1)));
  EXPECT_FALSE(utc_seconds(utc_fields(2024, 5, 1, -1)));
}

TEST(UtcTime, SaturatesAtTheClocksRange) {
  const auto end_of_time = utc_seconds(utc_fields(9999, 12, 31, 23, 59, 59));
  ASSERT_TRUE(end_of_time);
  EXPECT_FALSE(within_clock_range(*end_of_time));
  EXPECT_EQ(saturating_time_point(*end_of_time), system_clock::time_point::max());
  const auto long_ago = utc_seconds(utc_fields(1000, 1, 1));
  ASSERT_TRUE(long_ago);
  EXPECT_FALSE(within_clock_range(*long_ago));
  EXPECT_EQ(saturating_time_point(*long_ago), system_clock::time_point::min());
  EXPECT_TRUE(within_clock_range(std::chrono::sys_seconds(2'524'608'000s)));
  EXPECT_EQ(saturating_time_point(std::chrono::sys_seconds(2'524'608'000s)), at(2'524'608'000));
}

}  // namespace
}  // namespace danemq::core
