#pragma once
// UTC calendar dates of system_clock time points, computed with std::chrono's
// calendar in 64-bit arithmetic and never through time_t: 32-bit ARM (Debian
// 12 armhf, a Raspberry Pi with a 32-bit system) has a 32-bit time_t, which
// ends in January 2038, and a certificate made today for 20 years already
// ends after that (timegm gave -1 there: "expired in 1969").

#include <chrono>
#include <ctime>
#include <optional>
#include <string>

namespace danemq::core {

/// "2024-05-01T12:00:00.123Z": ISO 8601 in UTC with milliseconds (logs, JSON).
[[nodiscard]] std::string iso_utc_millis(std::chrono::system_clock::time_point when);

/// "2024-05-01 12:00:00 UTC": for people (certificate dates, reports).
[[nodiscard]] std::string readable_utc(std::chrono::system_clock::time_point when);

/// Seconds since the epoch of a UTC calendar date and time given as std::tm
/// fields (tm_year counts from 1900, tm_mon from 0; a day past the month's
/// end counts on into the next month, as timegm does). Returns nullopt when
/// tm_mon is not 0-11 or a time field is negative.
[[nodiscard]] std::optional<std::chrono::sys_seconds> utc_seconds(const std::tm& fields);

/// True when `seconds` is a system_clock time point: its nanoseconds in 64
/// bits reach from 1677 to 2262.
[[nodiscard]] bool within_clock_range(std::chrono::sys_seconds seconds);

/// `seconds` as a system_clock time point, saturated at the clock's range:
/// a certificate "valid until 9999-12-31" (RFC 5280's no expiry) is valid
/// until the clock's end, not until an overflowed date.
[[nodiscard]] std::chrono::system_clock::time_point saturating_time_point(std::chrono::sys_seconds seconds);

}  // namespace danemq::core
