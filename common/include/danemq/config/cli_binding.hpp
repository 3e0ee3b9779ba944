#pragma once
// The option tables of options.hpp bound to a CLI11 app: flags, then the
// environment, --help, and the one-line error naming a missing or invalid
// setting. Only the translation units that parse a command line include it.

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "danemq/config/options.hpp"

namespace danemq::config {

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

}  // namespace danemq::config
