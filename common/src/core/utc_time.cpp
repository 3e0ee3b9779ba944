#include "danemq/core/utc_time.hpp"

#include <cstdio>

namespace danemq::core {
namespace {

using std::chrono::system_clock;

/// Date and time of day of `when`, floored to milliseconds (so a time before
/// 1970 is not rounded towards it).
struct utc_parts {
  std::chrono::year_month_day date;
  std::chrono::hh_mm_ss<std::chrono::milliseconds> time;
};

utc_parts split(system_clock::time_point when) {
  const auto millis = std::chrono::floor<std::chrono::milliseconds>(when);
  const auto day = std::chrono::floor<std::chrono::days>(millis);
  return {std::chrono::year_month_day(day), std::chrono::hh_mm_ss(millis - day)};
}

/// The clock's range in whole seconds.
constexpr auto clock_max_seconds = std::chrono::floor<std::chrono::seconds>(system_clock::duration::max());
constexpr auto clock_min_seconds = std::chrono::ceil<std::chrono::seconds>(system_clock::duration::min());

}  // namespace

// The fields go through int: their std::chrono types are long on 64-bit
// systems and long long on 32-bit ones, so no one printf format fits both.
std::string iso_utc_millis(system_clock::time_point when) {
  const auto [date, time] = split(when);
  char text[48];
  (void)std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                      static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  return text;
}

std::string readable_utc(system_clock::time_point when) {
  const auto [date, time] = split(when);
  char text[48];
  (void)std::snprintf(text, sizeof text, "%04d-%02u-%02u %02d:%02d:%02d UTC", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                      static_cast<int>(time.seconds().count()));
  return text;
}

std::optional<std::chrono::sys_seconds> utc_seconds(const std::tm& fields) {
  if (fields.tm_mon < 0 || fields.tm_mon > 11 || fields.tm_hour < 0 || fields.tm_min < 0 || fields.tm_sec < 0) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day first(year(fields.tm_year + 1900), month(static_cast<unsigned>(fields.tm_mon) + 1), day(1));
  if (!first.ok()) return std::nullopt;
  return sys_seconds(sys_days(first)) + days(fields.tm_mday - 1) + hours(fields.tm_hour) + minutes(fields.tm_min) +
         seconds(fields.tm_sec);
}

bool within_clock_range(std::chrono::sys_seconds seconds) {
  const auto since_epoch = seconds.time_since_epoch();
  return since_epoch <= clock_max_seconds && since_epoch >= clock_min_seconds;
}

system_clock::time_point saturating_time_point(std::chrono::sys_seconds seconds) {
  const auto since_epoch = seconds.time_since_epoch();
  if (since_epoch > clock_max_seconds) return system_clock::time_point::max();
  if (since_epoch < clock_min_seconds) return system_clock::time_point::min();
  return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(since_epoch));
}

}  // namespace danemq::core
