#pragma once
// Configuration declared once, in a table: each row names a setting's
// environment variable and flag, how its text becomes a member of the
// settings struct (and that member text again), its range and help, and
// whether it is required or secret. The default is never typed in a row: it
// is the member of a default-constructed settings struct, shown by the row.
// CLI11 parsing (flags, then environment), --help and the one-line error that
// names a missing or invalid setting follow from the table (cli_binding.hpp,
// kept apart because CLI11 is slow to compile), and so does the README's
// table of settings (settings_doc.hpp).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "danemq/config/errors.hpp"
#include "danemq/core/result.hpp"

namespace danemq::config {

/// How a setting's text becomes a member of `Settings`, and back.
template <class Settings>
struct value_rule {
  /// Parses the text into the settings; a failure's detail says what is wrong
  /// with the value (without repeating it).
  std::function<result<void>(Settings&, std::string_view)> apply;
  /// The member as a user would write it; empty when unset. Applied to a
  /// default-constructed Settings it gives the default shown everywhere.
  std::function<std::string(const Settings&)> show;
  /// The accepted values when they are a range ("1..256", "10ms..10m"); empty
  /// when the help text lists them.
  std::string range{};
  /// A flag without value (--json); as env: 1/0, true/false, yes/no, on/off.
  bool is_switch{false};
  /// What kind of value --help shows ("DURATION", "SIZE"); empty: TEXT.
  std::string type_name{};
};

/// One row of the table, written with designated initializers.
template <class Settings>
struct option {
  std::string env{};      ///< environment variable ("MQTT_HOST"); empty: flag only
  std::string flag{};     ///< the flag ("--mqtt-host")
  std::string command{};  ///< the subcommand that takes the flag ("watch"); empty: the program
  value_rule<Settings> value{};
  std::string help{};    ///< one line; `code` marks are kept in the README, dropped in --help
  std::string unset{};   ///< what no value means ("resolv.conf's first"), shown as the default
  bool required{false};  ///< start refused when absent
  /// Said after "is required" when a required setting is absent (what a user
  /// may want to set it to, and why it is not the default); empty: nothing.
  std::string when_missing{};
  bool secret{false};    ///< its value is never printed (no default in help, no value in errors)
  bool original{false};  ///< one of the original's variables (marked in the README)
};

template <class Settings>
using option_table = std::vector<option<Settings>>;

/// How a table's errors name a setting.
enum class naming {
  /// "MQTT_PORT (--mqtt-port): 'x' is not a port number (1..65535)";
  /// "MQTT_HOST (--mqtt-host) is required".
  variable_and_flag,
  /// danemq-maintenance's: "APP_UID: <the row's reason>" (the row quotes the
  /// value itself); "IDENTITY_NAME is not set (set the variable or pass --identity-name)".
  variable,
};

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
[[nodiscard]] std::string display_name(const option<Settings>& row, naming style = naming::variable_and_flag) {
  if (row.env.empty()) return row.flag;
  if (style == naming::variable) return row.env;
  return row.env + " (" + row.flag + ")";
}

/// The default of a row: its member in a default-constructed Settings.
template <class Settings>
[[nodiscard]] std::string default_of(const option<Settings>& row) {
  return row.value.show ? row.value.show(Settings{}) : std::string();
}

/// Adapts a table for a part of a bigger settings struct: `member` selects the part.
template <class Whole, class Part>
[[nodiscard]] option_table<Whole> lift(const option_table<Part>& table, Part Whole::*member) {
  option_table<Whole> out;
  out.reserve(table.size());
  for (const auto& row : table) {
    value_rule<Whole> value{
        .apply = [apply = row.value.apply, member](Whole& whole,
                                                   std::string_view text) { return apply(whole.*member, text); },
        .show = [show = row.value.show, member](const Whole& whole) { return show(whole.*member); },
        .range = row.value.range,
        .is_switch = row.value.is_switch,
        .type_name = row.value.type_name,
    };
    out.push_back({.env = row.env,
                   .flag = row.flag,
                   .command = row.command,
                   .value = std::move(value),
                   .help = row.help,
                   .unset = row.unset,
                   .required = row.required,
                   .when_missing = row.when_missing,
                   .secret = row.secret,
                   .original = row.original});
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
/// A duration: an integer with ms, s, m, h or d (no suffix: seconds), in [min, max].
[[nodiscard]] result<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds min,
                                                               std::chrono::milliseconds max);
/// A file that exists and can be read now.
[[nodiscard]] result<std::filesystem::path> parse_readable_file(std::string_view text);
/// A directory path (it may not exist yet); only checked to be non-empty.
[[nodiscard]] result<std::filesystem::path> parse_directory(std::string_view text);
/// One of `choices`, exactly.
[[nodiscard]] result<std::string> parse_choice(std::string_view text, const std::vector<std::string>& choices);

// ---- the inverse: values as a user writes them (parse(format(x)) == x) ----

/// In the largest unit that holds it exactly: "500ms", "30s", "5m", "1h", "7d".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds value);
/// In the largest power-of-1024 suffix that holds it exactly: "4096" below
/// 1 M stays in bytes, "64M", "1G".
[[nodiscard]] std::string format_size(std::uint64_t bytes);

// ---- value rules for the common kinds of member ----
// `access` is a member pointer (&S::workers) or a generic lambda returning a
// reference to the member ([](auto& s) -> auto& { return s.cache.max_ttl; }).

namespace detail {
template <class Settings, class Access>
using member_t = std::remove_cvref_t<std::invoke_result_t<Access, Settings&>>;

/// The largest value a member of type T holds, if below `max`: a std::size_t
/// member is 32 bits wide on 32-bit ARM, where a larger value would be cut.
template <class T>
[[nodiscard]] constexpr std::uint64_t at_most_what_fits(std::uint64_t max) {
  return std::min<std::uint64_t>(max, std::numeric_limits<T>::max());
}
}  // namespace detail

/// A whole number in [min, max] (max at most what the member holds).
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> count_in(Access access, std::uint64_t min, std::uint64_t max) {
  using T = detail::member_t<Settings, Access>;
  max = detail::at_most_what_fits<T>(max);
  return {.apply = [access, min, max](Settings& s, std::string_view text) -> result<void> {
            auto n = parse_unsigned(text, min, max);
            if (n) std::invoke(access, s) = static_cast<T>(*n);
            return carry(n);
          },
          .show = [access](const Settings& s) { return std::to_string(std::invoke(access, s)); },
          .range = std::to_string(min) + ".." + std::to_string(max),
          .type_name = "NUMBER"};
}

/// A TCP port (the error names the range).
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> port_number(Access access) {
  return {.apply = [access](Settings& s, std::string_view text) -> result<void> {
            auto port = parse_port(text);
            if (port) std::invoke(access, s) = *port;
            return carry(port);
          },
          .show = [access](const Settings& s) { return std::to_string(std::invoke(access, s)); },
          .type_name = "PORT"};
}

/// A size in bytes (K/M/G suffix) in [min, max] (max at most what the member holds).
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> size_in(Access access, std::uint64_t min, std::uint64_t max) {
  using T = detail::member_t<Settings, Access>;
  max = detail::at_most_what_fits<T>(max);
  return {.apply = [access, min, max](Settings& s, std::string_view text) -> result<void> {
            auto size = parse_size(text, min, max);
            if (size) std::invoke(access, s) = static_cast<T>(*size);
            return carry(size);
          },
          .show = [access](const Settings& s) { return format_size(std::invoke(access, s)); },
          .range = format_size(min) + ".." + format_size(max),
          .type_name = "SIZE"};
}

/// A duration (ms, s, m, h, d) in [min, max], kept in the member's own unit.
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> duration_in(Access access, std::chrono::milliseconds min,
                                               std::chrono::milliseconds max) {
  using T = detail::member_t<Settings, Access>;
  return {.apply = [access, min, max](Settings& s, std::string_view text) -> result<void> {
            auto value = parse_duration(text, min, max);
            if (value) std::invoke(access, s) = std::chrono::duration_cast<T>(*value);
            return carry(value);
          },
          .show =
              [access](const Settings& s) {
                return format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(std::invoke(access, s)));
              },
          .range = format_duration(min) + ".." + format_duration(max),
          .type_name = "DURATION"};
}

/// A boolean given as a value (PKIX_CD=0); shown as 1 or 0.
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> boolean(Access access) {
  return {.apply = [access](Settings& s, std::string_view text) -> result<void> {
            auto on = parse_bool(text);
            if (on) std::invoke(access, s) = *on;
            return carry(on);
          },
          .show = [access](const Settings& s) { return std::string(std::invoke(access, s) ? "1" : "0"); },
          .type_name = "BOOL"};
}

/// A switch (--json, or OUTPUT_JSON=1); shown only when on.
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> switch_on(Access access) {
  auto rule = boolean<Settings>(access);
  rule.show = [access](const Settings& s) { return std::string(std::invoke(access, s) ? "on" : ""); };
  rule.is_switch = true;
  return rule;
}

/// A file that must exist and be readable when given.
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> readable_file(Access access) {
  return {.apply = [access](Settings& s, std::string_view text) -> result<void> {
            auto file = parse_readable_file(text);
            if (file) std::invoke(access, s) = *file;
            return carry(file);
          },
          .show = [access](const Settings& s) { return std::filesystem::path(std::invoke(access, s)).string(); },
          .type_name = "FILE"};
}

/// A directory path (non-empty).
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> directory(Access access) {
  return {.apply = [access](Settings& s, std::string_view text) -> result<void> {
            auto dir = parse_directory(text);
            if (dir) std::invoke(access, s) = *dir;
            return carry(dir);
          },
          .show = [access](const Settings& s) { return std::filesystem::path(std::invoke(access, s)).string(); },
          .type_name = "DIR"};
}

/// Any text, as given.
template <class Settings, class Access>
[[nodiscard]] value_rule<Settings> any_text(Access access) {
  return {.apply = [access](Settings& s, std::string_view text) -> result<void> {
            std::invoke(access, s) = std::string(text);
            return ok();
          },
          .show = [access](const Settings& s) { return std::string(std::invoke(access, s)); }};
}

}  // namespace danemq::config
