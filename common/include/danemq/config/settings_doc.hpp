#pragma once
// The README's table of settings, generated from the option tables of every
// program: one markdown row per variable, with the flag, the default (from a
// default-constructed settings struct), the services that read it and the
// help text. A setting several programs read with different meanings gets
// one row that gives each meaning with its services.

#include <string>
#include <vector>

#include "danemq/config/options.hpp"

namespace danemq::config {

/// One row of an option table, as the documentation shows it.
struct documented_setting {
  std::string env;
  std::string flag;     ///< with the subcommand when it has one ("watch --interval")
  std::string meaning;  ///< help text and range
  std::string shown_default;
  bool required{false};
  bool original{false};
};

/// The rows of one program's table; `service` is its letter (m, r, s).
struct documented_table {
  char service{};
  std::vector<documented_setting> rows;
};

/// The documentation of a table; the defaults come from `Settings{}`.
template <class Settings>
[[nodiscard]] documented_table document(char service, const option_table<Settings>& table) {
  documented_table out{.service = service, .rows = {}};
  for (const auto& row : table) {
    std::string shown = row.secret ? std::string() : default_of(row);
    if (!shown.empty()) {
      shown.insert(0, "`");
      shown += '`';
    } else if (!row.unset.empty()) {
      shown = row.unset;
    }
    out.rows.push_back({.env = row.env,
                        .flag = row.command.empty() ? row.flag : row.command + " " + row.flag,
                        .meaning = row.value.range.empty() ? row.help : row.help + " (" + row.value.range + ")",
                        .shown_default = shown,
                        .required = row.required,
                        .original = row.original});
  }
  return out;
}

/// The markdown table (header and one line per variable, in the order of
/// first appearance), ending with a newline.
[[nodiscard]] std::string markdown_table(const std::vector<documented_table>& tables);

/// A program as its man page and completion describe it.
struct documented_program {
  std::string name;                   ///< "danemq-sender"
  std::string summary;                ///< one line
  std::vector<std::string> commands;  ///< its subcommands, "outbox cancel" for a nested one
  std::vector<documented_table> tables;
};

/// The program's man page (section 1, roff): NAME, SYNOPSIS, COMMANDS, and
/// each setting with its flag, variable, meaning and default; the README has the rest.
[[nodiscard]] std::string man_page(const documented_program& program);

/// A bash completion script: the subcommands, then the flags.
[[nodiscard]] std::string bash_completion(const documented_program& program);

/// `document` with the part between the marker lines `<!-- settings:begin -->`
/// and `<!-- settings:end -->` replaced by `table`; failure invalid_setting
/// when the markers are missing.
[[nodiscard]] result<std::string> replace_table(const std::string& document, const std::string& table);

}  // namespace danemq::config
