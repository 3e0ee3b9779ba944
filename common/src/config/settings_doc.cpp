#include "danemq/config/settings_doc.hpp"

#include <algorithm>
#include <map>

namespace danemq::config {
namespace {

constexpr std::string_view begin_marker = "<!-- settings:begin -->\n";
constexpr std::string_view end_marker = "<!-- settings:end -->";

/// One variable across programs: each distinct meaning with the services that read it so.
struct merged_setting {
  documented_setting first;
  std::string services;
  std::vector<std::pair<std::string, std::string>> meanings;  // meaning, services
  std::vector<std::string> defaults;
  bool required{false};
  bool original{false};
};

std::string spaced(const std::string& letters) {
  std::string sorted = letters;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (char c : sorted) out += (out.empty() ? "" : " ") + std::string(1, c);
  return out;
}

std::string listed(const std::string& letters) {
  std::string sorted = letters;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (char c : sorted) out += (out.empty() ? "" : ", ") + std::string(1, c);
  return out;
}

}  // namespace

std::string markdown_table(const std::vector<documented_table>& tables) {
  std::vector<merged_setting> merged;
  std::map<std::string, std::size_t, std::less<>> index;
  for (const auto& table : tables) {
    for (const auto& row : table.rows) {
      const std::string key = row.env.empty() ? row.flag : row.env;
      auto [at, added] = index.try_emplace(key, merged.size());
      if (added) merged.push_back({.first = row, .services = {}, .meanings = {}, .defaults = {}});
      auto& setting = merged[at->second];
      if (setting.services.find(table.service) == std::string::npos) setting.services += table.service;
      auto meaning = std::find_if(setting.meanings.begin(), setting.meanings.end(),
                                  [&](const auto& known) { return known.first == row.meaning; });
      if (meaning == setting.meanings.end()) {
        setting.meanings.emplace_back(row.meaning, std::string(1, table.service));
      } else if (meaning->second.find(table.service) == std::string::npos) {
        meaning->second += table.service;
      }
      if (std::find(setting.defaults.begin(), setting.defaults.end(), row.shown_default) == setting.defaults.end()) {
        setting.defaults.push_back(row.shown_default);
      }
      setting.required = setting.required || row.required;
      setting.original = setting.original || row.original;
    }
  }
  std::string out =
      "| variable | flag | default | services | meaning |\n"
      "|---|---|---|---|---|\n";
  for (const auto& setting : merged) {
    std::string shown;
    for (const auto& value : setting.defaults) {
      if (!value.empty()) shown += (shown.empty() ? "" : ", ") + value;
    }
    if (setting.required) shown = "— (required)";
    if (shown.empty()) shown = "—";
    std::string meaning = setting.original ? "*Original.* " : "";
    if (setting.meanings.size() == 1) {
      meaning += setting.meanings.front().first;
    } else {
      std::string parts;
      for (const auto& [text, services] : setting.meanings) {
        parts += (parts.empty() ? "" : "; ") + listed(services) + ": " + text;
      }
      meaning += parts;
    }
    const auto& row = setting.first;
    for (const std::string& cell : {row.env.empty() ? std::string("—") : "`" + row.env + "`", "`" + row.flag + "`",
                                    shown, spaced(setting.services), meaning}) {
      out += "| ";
      out += cell;
      out += ' ';
    }
    out += "|\n";
  }
  return out;
}

result<std::string> replace_table(const std::string& document, const std::string& table) {
  const auto begin = document.find(begin_marker);
  const auto end = document.find(end_marker);
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    return fail(errc::invalid_setting, "no " + std::string(begin_marker.substr(0, begin_marker.size() - 1)) + " ... " +
                                           std::string(end_marker) + " section");
  }
  const auto from = begin + begin_marker.size();
  return document.substr(0, from) + table + document.substr(end);
}

namespace {

/// Text for roff: no code marks, backslashes and leading dots escaped.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '`') continue;
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out.front() == '.' || out.front() == '\'')) out.insert(0, "\\&");
  return out;
}

}  // namespace

std::string man_page(const documented_program& program) {
  std::string page = ".TH " + program.name + " 1 \"\" \"danemq\" \"User Commands\"\n";
  page += ".SH NAME\n" + roff(program.name) + " \\- " + roff(program.summary) + "\n";
  page += ".SH SYNOPSIS\n.B " + roff(program.name) + "\n[\\fISETTINGS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n";
  page += ".SH COMMANDS\n";
  for (const auto& command : program.commands)
    page += ".TP\n.B " + roff(command) + "\n" + roff(program.name + " " + command + " --help") + " describes it.\n";
  page += ".SH SETTINGS\nEach setting is a flag or, in its place, an environment variable; a flag wins.\n";
  for (const auto& table : program.tables) {
    for (const auto& row : table.rows) {
      page += ".TP\n.BR " + roff(row.flag) + (row.env.empty() ? std::string() : " \", \" " + roff(row.env)) + "\n";
      page += roff(row.meaning);
      if (!row.shown_default.empty()) page += " Default: " + roff(row.shown_default) + ".";
      if (row.required) page += " Required.";
      page += "\n";
    }
  }
  page += ".SH SEE ALSO\nThe README of danemq: exit codes, examples and the other programs.\n";
  return page;
}

std::string bash_completion(const documented_program& program) {
  std::string commands;
  for (const auto& command : program.commands) {
    if (command.find(' ') == std::string::npos) commands += (commands.empty() ? "" : " ") + command;
  }
  std::string flags = "--help --version";
  for (const auto& table : program.tables) {
    for (const auto& row : table.rows) {
      const auto space = row.flag.rfind(' ');
      flags += " " + (space == std::string::npos ? row.flag : row.flag.substr(space + 1));
    }
  }
  std::string function = "_" + program.name;
  for (auto& c : function) {
    if (c == '-') c = '_';
  }
  return "# bash completion for " + program.name + " (generated from its option tables)\n" + function +
         "() {\n"
         "  local current=${COMP_WORDS[COMP_CWORD]}\n"
         "  if [[ $current == -* ]]; then\n"
         "    mapfile -t COMPREPLY < <(compgen -W '" +
         flags +
         "' -- \"$current\")\n"
         "  else\n"
         "    mapfile -t COMPREPLY < <(compgen -W '" +
         commands +
         "' -- \"$current\")\n"
         "  fi\n"
         "}\n"
         "complete -F " +
         function + " " + program.name + "\n";
}

}  // namespace danemq::config
