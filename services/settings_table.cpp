// danemq-settings-table: the README's table of settings, generated from the
// option tables of danemq-receiver, danemq-sender and danemq-maintenance.
//   danemq-settings-table                      prints the markdown table
//   danemq-settings-table --check README.md    exit 1 when README.md's table differs
//   danemq-settings-table --write README.md    puts the table into README.md
// The table sits between <!-- settings:begin --> and <!-- settings:end -->.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "danemq/config/settings_doc.hpp"
#include "maintenance_settings.hpp"
#include "receiver_settings.hpp"
#include "sender_settings.hpp"

namespace {

using namespace danemq;

std::string generated_table() {
  return config::markdown_table({
      config::document('r', receiver::receiver_options()),
      config::document('s', sender::sender_options()),
      config::document('m', maintenance::maintenance_options()),
      config::document('m', maintenance::dns_options()),
      config::document('m', maintenance::rotation_options()),
      config::document('m', maintenance::watch_options()),
  });
}

}  // namespace

int main(int argc, char** argv) {
  const std::string table = generated_table();
  if (argc == 1) {
    std::cout << table;
    return 0;
  }
  const std::string mode = argv[1];
  if (argc != 3 || (mode != "--check" && mode != "--write")) {
    std::cerr << "usage: danemq-settings-table [--check|--write README.md]\n";
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
