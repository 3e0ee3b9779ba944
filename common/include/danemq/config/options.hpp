#pragma once
// Configuration declared once, in a table: each row names a setting's
// environment variable and flag, its help text and default, whether it is
// required or secret, and how its text is applied to the settings struct.
// CLI11 parsing (flags, then environment), --help and the one-line error that
// names a missing or invalid setting all follow from that table.

#include <CLI/CLI.hpp>

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

/// "MQTT_PORT (--mqtt-port)" or "--json": how errors name a setting.
template <class Settings>
[[nodiscard]] std::string display_name(const option<Settings>& row) {
  if (row.env.empty()) return "--" + row.flag;
  return row.env + " (--" + row.flag + ")";
}

/// Registers a table on a CLI11 app and applies what was given after parsing.
/// Keep it alive until apply() has run: CLI11 writes into its strings.
template <class Settings>
class option_binding {
 public:
  option_binding(CLI::App& app, option_table<Settings> table) : table_(std::move(table)) {
    for (const auto& row : table_) {
      auto value = std::make_unique<std::string>();
      std::string help = row.help;
      if (!row.secret && !row.default_text.empty()) help += " [default: " + row.default_text + "]";
      if (row.required) help += " (required)";
      CLI::Option* added =
          row.is_switch ? app.add_flag("--" + row.flag, *value, help) : app.add_option("--" + row.flag, *value, help);
      if (!row.env.empty()) added->envname(row.env);
      if (!row.is_switch) added->type_name(row.secret ? "SECRET" : "TEXT");
      options_.push_back(added);
      values_.push_back(std::move(value));
    }
  }

  /// Applies every given setting in table order and, with
  /// `enforce_required`, checks the required ones (a subcommand that needs
  /// fewer settings passes false). The failure names the first setting that
  /// is missing or invalid.
  [[nodiscard]] result<void> apply(Settings& settings, bool enforce_required = true) const {
    for (std::size_t i = 0; i < table_.size(); ++i) {
      const auto& row = table_[i];
      const CLI::Option* given = options_[i];
      if (given->count() == 0) {
        if (row.required && enforce_required) return fail(errc::missing_setting, display_name(row) + " is required");
        continue;
      }
      std::string text = *values_[i];
      if (row.is_switch && text.empty()) text = "true";
      if (row.required && enforce_required && text.empty()) {
        return fail(errc::missing_setting, display_name(row) + " is empty");
      }
      auto applied = row.apply(settings, text);
      if (!applied) {
        std::string line = display_name(row) + ": ";
        if (!row.secret && !text.empty()) line += "'" + text + "' ";
        line += applied.error().detail.empty() ? applied.error().message() : applied.error().detail;
        return fail(errc::invalid_setting, std::move(line));
      }
    }
    return ok();
  }

  [[nodiscard]] const option_table<Settings>& table() const { return table_; }

 private:
  option_table<Settings> table_;
  std::vector<CLI::Option*> options_;
  std::vector<std::unique_ptr<std::string>> values_;
};

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
