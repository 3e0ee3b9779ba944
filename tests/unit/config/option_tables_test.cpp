// The option tables of the three programs: every default shown (in --help and
// the README) is the member of a default-constructed settings struct, never a
// number typed into a help text, and it parses back to itself.
#include "danemq/config/cli_binding.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "maintenance_settings.hpp"
#include "receiver_settings.hpp"
#include "sender_settings.hpp"

namespace danemq::config {
namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

template <class Settings>
void check_table(const char* name, const option_table<Settings>& table) {
  SCOPED_TRACE(name);
  std::set<std::string> envs;
  std::set<std::string> flags;
  for (const auto& row : table) {
    SCOPED_TRACE(row.env + " " + row.flag);
    EXPECT_EQ(row.flag.rfind("--", 0), 0U) << "a flag starts with --";
    EXPECT_TRUE(row.env.empty() || envs.insert(row.env).second) << "one row per variable";
    EXPECT_TRUE(flags.insert(row.command + row.flag).second) << "one row per flag";
    EXPECT_TRUE(row.value.apply && row.value.show) << "every row parses and shows its member";
    EXPECT_EQ(lowercase(row.help).find("default"), std::string::npos)
        << "the default is shown from the struct, not typed into the help: " << row.help;
    const std::string shown = default_of(row);
    const std::string help = help_line(row);
    if (row.secret) {
      EXPECT_EQ(help.find("[default"), std::string::npos) << help;
      continue;
    }
    if (shown.empty()) continue;
    EXPECT_NE(help.find("[default: " + shown + "]"), std::string::npos) << help;
    // The shown default is a valid value that means the default.
    Settings settings{};
    auto applied = row.value.apply(settings, row.value.is_switch ? "1" : shown);
    if (!applied && applied.error().detail == "is not an existing file") continue;  // a path of the host
    ASSERT_TRUE(applied) << shown << ": " << applied.error().message();
    EXPECT_EQ(row.value.show(settings), shown);
  }
}

TEST(OptionTables, ShowTheStructDefaultsAndParseThemBack) {
  check_table("danemq-receiver", receiver::receiver_options());
  check_table("danemq-sender", sender::sender_options());
  check_table("danemq-maintenance", maintenance::maintenance_options());
  check_table("danemq-maintenance (DNS)", maintenance::dns_options());
  check_table("danemq-maintenance watch", maintenance::watch_options());
}

TEST(OptionTables, KeepTheOriginalDefaults) {
  const receiver::receiver_settings receiver{};
  const auto table = receiver::receiver_options();
  const auto shown = [&](const std::string& env) {
    const auto row = std::find_if(table.begin(), table.end(), [&](const auto& r) { return r.env == env; });
    return row == table.end() ? std::string("?") : row->value.show(receiver);
  };
  EXPECT_EQ(shown("MAX_MESSAGE_SIZE"), "4096");
  EXPECT_EQ(shown("MQTT_PORT"), "1883");
  EXPECT_EQ(shown("CRYPTO_PATH"), "/identity/");
  EXPECT_EQ(shown("MESSAGE_MAX_AGE"), "7d");
  EXPECT_EQ(shown("DNS_TIMEOUT_MS"), "2000");
}

}  // namespace
}  // namespace danemq::config
