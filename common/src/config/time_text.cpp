#include "danemq/config/time_text.hpp"

#include <cstdio>
#include <ctime>

#include "danemq/config/options.hpp"
#include "danemq/core/utc_time.hpp"

namespace danemq::config {

using clock = std::chrono::system_clock;

std::string iso_time(clock::time_point time) {
  return core::iso_utc_millis(time);
}

result<clock::time_point> parse_since(std::string_view text, clock::time_point now) {
  const auto invalid = [&] {
    return fail(errc::invalid_setting,
                "--since '" + std::string(text) + "' is neither a duration (15m, 2h, 3d) nor a UTC date/time");
  };
  if (!text.empty() && text.back() == 'd' && text.find('-') == std::string_view::npos) {
    auto days = parse_unsigned(text.substr(0, text.size() - 1), 0, 100'000);
    if (!days) return invalid();
    return now - std::chrono::hours(24 * static_cast<std::int64_t>(*days));
  }
  if (text.find('-') == std::string_view::npos) {
    auto back = parse_duration(text, std::chrono::milliseconds(0), std::chrono::hours(24 * 100'000));
    if (!back) return invalid();
    return now - *back;
  }
  std::tm utc{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const std::string copy(text);
  char tail[8] = {};
  const int fields =
      std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &year, &month, &day, &hour, &minute, &second, tail);
  if (fields != 3 && fields != 6 && fields != 7) return invalid();
  if (fields == 3 && copy.size() != 10) return invalid();
  if (fields == 7 && std::string_view(tail) != "Z") return invalid();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 60) {
    return invalid();
  }
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  // Not through timegm: time_t ends in 2038 on 32-bit ARM.
  const auto seconds = core::utc_seconds(utc);
  if (!seconds || !core::within_clock_range(*seconds)) return invalid();
  return core::saturating_time_point(*seconds);
}

}  // namespace danemq::config
