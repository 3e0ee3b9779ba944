#pragma once
// The option tables of options.hpp bound to a CLI11 app: flags, then the
// environment, --help, and the one-line error naming a missing or invalid
// setting. Only the translation units that parse a command line include it.

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "danemq/config/options.hpp"

namespace danemq::config {

/// A row's line in --help: its help text, range and default (taken from a
/// default-constructed Settings; never a secret's), and "(required)".
template <class Settings>
[[nodiscard]] std::string help_line(const option<Settings>& row) {
  std::string help;
  for (char c : row.help) {
    if (c != '`') help += c;  // code marks are for the README
  }
  if (!row.value.range.empty()) help += " (" + row.value.range + ")";
  const std::string shown = row.secret ? std::string() : default_of(row);
  if (!shown.empty()) {
    help += " [default: " + shown + "]";
  } else if (!row.unset.empty()) {
    help += " [default: " + row.unset + "]";
  }
  if (row.required) help += " (required)";
  return help;
}

/// The help group of the rows that only a subcommand takes ("send options").
[[nodiscard]] inline std::string command_group(const std::string& command) {
  return command.empty() ? std::string("Options") : command + " options";
}

/// --help of a subcommand also lists the program's settings that apply to
/// it (given before or after the subcommand's name): the rows of every
/// command, and those of this subcommand, not those of another.
class settings_formatter : public CLI::Formatter {
 public:
  std::string make_footer(const CLI::App* app) const override {
    const CLI::App* parent = app->get_parent();
    std::string text;
    if (parent != nullptr) {
      const auto own = command_group(app->get_name());
      auto shared = parent->get_options([&](const CLI::Option* option) {
        return option->nonpositional() && option != parent->get_help_ptr() && option != parent->get_help_all_ptr() &&
               (option->get_group() == command_group({}) || option->get_group() == own);
      });
      if (!shared.empty())
        text += make_group("Settings (flag, or the environment variable in [Env:])", false, shared) + "\n";
    }
    return text + CLI::Formatter::make_footer(parent != nullptr && app->get_footer().empty() ? parent : app);
  }
};

/// A COUNT option's check: a whole number, 1 or more (CLI11's Range would
/// name its bounds, up to 9223372036854775807, in the error).
[[nodiscard]] inline CLI::Validator at_least_one() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        long long value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a whole number";
        return value >= 1 ? std::string() : "must be 1 or more, not " + text;
      },
      "1 OR MORE");
}

/// A failed parse as the one line the programs print: CLI11's reason
/// without its second line ("Run with --help for more information.").
[[nodiscard]] inline std::string parse_failure_line(const CLI::ParseError& failure) {
  return std::string(failure.what()) + " (see --help)";
}

/// When a parse failed on a word that names no subcommand ("sned"), the
/// line that says so and lists the subcommands; nothing otherwise.
[[nodiscard]] inline std::optional<std::string> unknown_subcommand(const CLI::App& app) {
  const auto subcommands = app.get_subcommands([](const CLI::App*) { return true; });
  if (subcommands.empty()) return std::nullopt;
  for (const auto& word : app.remaining()) {
    if (word.empty() || word.front() == '-') continue;
    std::string message = "unknown subcommand '" + word + "'; the subcommands are: ";
    for (std::size_t i = 0; i < subcommands.size(); ++i) {
      if (i > 0) message += ", ";
      message += subcommands[i]->get_name();
    }
    return message;
  }
  return std::nullopt;
}

/// Registers a table on a CLI11 app and applies what was given after parsing.
/// Keep it alive until apply() has run: CLI11 writes into its strings.
template <class Settings>
class option_binding {
 public:
  option_binding(CLI::App& app, option_table<Settings> table, naming style = naming::variable_and_flag)
      : table_(std::move(table)), style_(style) {
    // Subcommands added from now on inherit it.
    app.formatter(std::make_shared<settings_formatter>());
    for (const auto& row : table_) {
      auto value = std::make_unique<std::string>();
      const std::string help = help_line(row);
      CLI::Option* added =
          row.value.is_switch ? app.add_flag(row.flag, *value, help) : app.add_option(row.flag, *value, help);
      if (!row.env.empty()) added->envname(row.env);
      if (!row.value.is_switch) {
        added->type_name(row.secret                    ? std::string("SECRET")
                         : row.value.type_name.empty() ? std::string("TEXT")
                                                       : row.value.type_name);
      }
      added->group(command_group(row.command));
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
      std::string text = given->count() == 0 ? std::string() : *values_[i];
      if (row.value.is_switch && given->count() != 0 && text.empty()) text = "true";
      if (row.required && enforce_required && text.empty()) return missing(row, given->count() != 0);
      if (given->count() == 0) continue;
      auto applied = row.value.apply(settings, text);
      if (!applied) {
        std::string line = display_name(row, style_) + ": ";
        if (style_ == naming::variable_and_flag && !row.secret && !text.empty()) line += "'" + text + "' ";
        line += applied.error().detail.empty() ? applied.error().message() : applied.error().detail;
        return fail(errc::invalid_setting, std::move(line));
      }
    }
    return ok();
  }

  [[nodiscard]] const option_table<Settings>& table() const { return table_; }

 private:
  [[nodiscard]] result<void> missing(const option<Settings>& row, bool given_empty) const {
    const std::string hint = row.when_missing.empty() ? std::string() : "; " + row.when_missing;
    if (style_ == naming::variable) {
      return fail(errc::missing_setting, row.env + " is not set (set the variable or pass " + row.flag + ")" + hint);
    }
    return fail(errc::missing_setting, display_name(row, style_) + (given_empty ? " is empty" : " is required") + hint);
  }

  option_table<Settings> table_;
  naming style_;
  std::vector<CLI::Option*> options_;
  std::vector<std::unique_ptr<std::string>> values_;
};

}  // namespace danemq::config
