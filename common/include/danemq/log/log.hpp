#pragma once
// Logging for the services: spdlog to stderr (stdout is for command output and
// received messages), as human text or one JSON object per line.

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "danemq/core/result.hpp"

namespace danemq::log {

enum class format { text, json };

enum class errc { ok = 0, bad_format, bad_level };
const std::error_category& log_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), log_category()};
}

/// Parses LOG_FORMAT ("text" or "json"); failure bad_format otherwise.
[[nodiscard]] result<format> parse_format(std::string_view text);
/// Parses LOG_LEVEL (trace, debug, info, warn, error, critical, off); failure bad_level otherwise.
[[nodiscard]] result<spdlog::level::level_enum> parse_level(std::string_view text);

/// Installs the default logger for `service` writing to stderr in `fmt` at `level`.
/// Safe to call again, also while other threads log: the logger is installed
/// once and later calls only change its format and level.
void init(std::string_view service, format fmt = format::text, spdlog::level::level_enum level = spdlog::level::info);

}  // namespace danemq::log

template <>
struct std::is_error_code_enum<danemq::log::errc> : std::true_type {};
