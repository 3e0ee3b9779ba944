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

}  // namespace danemq::config
