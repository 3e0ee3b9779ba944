#pragma once
// Times as the listing commands print and read them.

#include <chrono>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"

namespace danemq::config {

/// ISO 8601 UTC with milliseconds: "2024-05-01T12:00:00.000Z".
[[nodiscard]] std::string iso_time(std::chrono::system_clock::time_point time);

/// --since: a duration back from `now` ("90s", "15m", "2h", "3d") or an ISO
/// date/time in UTC ("2024-05-01", "2024-05-01T12:00:00Z"). Failure
/// errc::invalid_setting.
[[nodiscard]] result<std::chrono::system_clock::time_point> parse_since(std::string_view text,
                                                                        std::chrono::system_clock::time_point now);

}  // namespace danemq::config
