// danemq-settings-table: the README's table of settings, generated from the
// option tables of danemq-receiver, danemq-sender and danemq-maintenance.
//   danemq-settings-table                      prints the markdown table
//   danemq-settings-table --check README.md    exit 1 when README.md's table differs
//   danemq-settings-table --write README.md    puts the table into README.md
//   danemq-settings-table --man DIR            writes the three man pages (<program>.1)
//   danemq-settings-table --completion DIR     writes their bash completions (<program>)
//   danemq-settings-table --list               one line per variable: its name and the
//                                              letters of the services that read it
//                                              (for the deployment tests)
// The table sits between <!-- settings:begin --> and <!-- settings:end -->.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "danemq/config/settings_doc.hpp"
#include "maintenance_settings.hpp"
#include "receiver_settings.hpp"
#include "sender_settings.hpp"

namespace {

using namespace danemq;

std::vector<config::documented_table> documented_tables() {
  return {
      config::document('r', receiver::receiver_options()),       config::document('s', sender::sender_options()),
      config::document('m', maintenance::maintenance_options()), config::document('m', maintenance::dns_options()),
      config::document('m', maintenance::rotation_options()),    config::document('m', maintenance::watch_options()),
  };
}

/// "MQTT_HOST rs": every variable once, in the order of first appearance.
std::string variable_list() {
  std::vector<std::pair<std::string, std::string>> variables;
  for (const auto& table : documented_tables()) {
    for (const auto& row : table.rows) {
      if (row.env.empty()) continue;
      auto found = std::find_if(variables.begin(), variables.end(),
                                [&](const auto& variable) { return variable.first == row.env; });
      if (found == variables.end()) {
        variables.emplace_back(row.env, std::string(1, table.service));
      } else if (found->second.find(table.service) == std::string::npos) {
        found->second += table.service;
      }
    }
  }
  std::string out;
  for (const auto& [name, services] : variables) out.append(name).append(" ").append(services).append("\n");
  return out;
}

std::vector<config::documented_program> programs() {
  return {
      {.name = "danemq-receiver",
       .summary = "receive end-to-end encrypted messages over MQTT, senders verified by DANE",
       .commands = {"run", "inbox", "quarantine", "quarantine show", "quarantine release", "quarantine purge", "stats",
                    "health"},
       .tables = {config::document('r', receiver::receiver_options())}},
      {.name = "danemq-sender",
       .summary = "send an end-to-end encrypted, signed message over MQTT to a DANE identity",
       .commands = {"send", "run", "outbox", "outbox cancel", "outbox retry"},
       .tables = {config::document('s', sender::sender_options())}},
      {.name = "danemq-maintenance",
       .summary = "create a danemq device identity and publish it as a DANE TLSA record",
       .commands = {"create-selfsigned-id", "create-id-csr", "generate-tlsa", "publish-tlsa", "check", "lookup",
                    "watch"},
       .tables = {config::document('m', maintenance::maintenance_options()),
                  config::document('m', maintenance::dns_options()),
                  config::document('m', maintenance::watch_options())}},
  };
}

/// Writes one file per program into `dir`; exit code.
int write_each(const std::string& dir, const std::string& suffix,
               std::string (*render)(const config::documented_program&)) {
  for (const auto& program : programs()) {
    const std::string path = (std::filesystem::path(dir) / (program.name + suffix)).string();
    std::ofstream out(path);
    out << render(program);
    if (!out) {
      std::cerr << "danemq-settings-table: cannot write " << path << '\n';
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string table = config::markdown_table(documented_tables());
  if (argc == 1) {
    std::cout << table;
    return 0;
  }
  const std::string mode = argv[1];
  if (argc == 3 && mode == "--man") return write_each(argv[2], ".1", config::man_page);
  if (argc == 3 && mode == "--completion") return write_each(argv[2], "", config::bash_completion);
  if (argc == 2 && mode == "--list") {
    std::cout << variable_list();
    return 0;
  }
  if (argc != 3 || (mode != "--check" && mode != "--write")) {
    std::cerr << "usage: danemq-settings-table [--list | --man DIR | --completion DIR | --check|--write README.md]\n";
    return 1;
  }
  const std::string path = argv[2];
  std::ifstream in(path);
  if (!in) {
    std::cerr << "danemq-settings-table: cannot read " << path << '\n';
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto replaced = config::replace_table(text.str(), table);
  if (!replaced) {
    std::cerr << "danemq-settings-table: " << path << ": " << replaced.error().detail << '\n';
    return 1;
  }
  if (mode == "--check") {
    if (*replaced == text.str()) return 0;
    std::cerr << "danemq-settings-table: the table of settings in " << path
              << " differs from the option tables; update it with: danemq-settings-table --write " << path << '\n';
    return 1;
  }
  std::ofstream out(path, std::ios::trunc);
  out << *replaced;
  return out ? 0 : 1;
}
