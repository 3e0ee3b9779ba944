#pragma once
// Configuration declared once, in a table: each row names a setting's
// environment variable and flag, its help text and default, whether it is
// required or secret, and how its text is applied to the settings struct.
// CLI11 parsing (flags, then environment), --help and the one-line error that
// names a missing or invalid setting all follow from that table
// (cli_binding.hpp, kept apart because CLI11 is slow to compile).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "danemq/config/errors.hpp"
#include "danemq/core/result.hpp"

namespace danemq::config {

/// One row of the table.
template <class Settings>
struct option {
  std::string env;           ///< environment variable ("MQTT_HOST"); empty: flag only
  std::string flag;          ///< long flag without dashes ("mqtt-host")
  std::string help;          ///< one line for --help
  std::string default_text;  ///< the default as shown in --help; empty: none
  bool required{false};      ///< start refused when absent
  bool secret{false};        ///< its value is never printed (help shows no default, errors no value)
  bool is_switch{false};     ///< a flag without value (--json); as env: 1/0, true/false, yes/no, on/off
  /// Parses the text into the settings; a failure's detail says what is wrong
  /// with the value (without repeating it).
  std::function<result<void>(Settings&, std::string_view)> apply;
};

template <class Settings>
using option_table = std::vector<option<Settings>>;

/// For a row's apply: the value is refused for `reason` (said without
/// repeating the value, which the caller names with the setting).
[[nodiscard]] inline result<void> invalid(std::string reason) {
  return fail(errc::invalid_setting, std::move(reason));
}

/// For a row's apply: success, or the parser's failure as it is.
template <class T>
[[nodiscard]] result<void> carry(const result<T>& parsed) {
  if (!parsed) return parsed.error();
  return ok();
}

/// "MQTT_PORT (--mqtt-port)" or "--json": how errors name a setting.
template <class Settings>
[[nodiscard]] std::string display_name(const option<Settings>& row) {
  if (row.env.empty()) return "--" + row.flag;
  return row.env + " (--" + row.flag + ")";
}

/// Adapts a table for a part of a bigger settings struct: `member` selects the part.
template <class Whole, class Part>
[[nodiscard]] option_table<Whole> lift(const option_table<Part>& table, Part Whole::*member) {
  option_table<Whole> out;
  out.reserve(table.size());
  for (const auto& row : table) {
    option<Whole> lifted{row.env, row.flag, row.help, row.default_text, row.required, row.secret, row.is_switch, {}};
    lifted.apply = [apply = row.apply, member](Whole& whole, std::string_view text) {
      return apply(whole.*member, text);
    };
    out.push_back(std::move(lifted));
  }
  return out;
}

/// Appends the rows of `more` to `table`.
template <class Settings>
void append(option_table<Settings>& table, option_table<Settings> more) {
  for (auto& row : more) table.push_back(std::move(row));
}

// ---- value parsers shared by the tables (pure: text in, value or reason out) ----

/// A TCP port 1..65535.
[[nodiscard]] result<std::uint16_t> parse_port(std::string_view text);
/// A decimal integer in [min, max].
[[nodiscard]] result<std::uint64_t> parse_unsigned(std::string_view text, std::uint64_t min, std::uint64_t max);
/// 1/0, true/false, yes/no, on/off (any case).
[[nodiscard]] result<bool> parse_bool(std::string_view text);
/// A size in bytes, with an optional K, M or G suffix (powers of 1024), in [min, max].
[[nodiscard]] result<std::uint64_t> parse_size(std::string_view text, std::uint64_t min, std::uint64_t max);
/// A duration: an integer with s, ms, m or h (no suffix: seconds), in [min, max].
[[nodiscard]] result<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds min,
                                                               std::chrono::milliseconds max);
/// A file that exists and can be read now.
[[nodiscard]] result<std::filesystem::path> parse_readable_file(std::string_view text);
/// A directory path (it may not exist yet); only checked to be non-empty.
[[nodiscard]] result<std::filesystem::path> parse_directory(std::string_view text);
/// One of `choices`, exactly.
[[nodiscard]] result<std::string> parse_choice(std::string_view text, const std::vector<std::string>& choices);

}  // namespace danemq::config
