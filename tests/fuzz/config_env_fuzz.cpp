// libFuzzer target for the configuration: environment variables and flags
// through the option tables of danemq-receiver and danemq-sender (CLI11,
// option_binding, every row's parser, the consistency check) and the value
// parsers on their own, including the receiver's `--since`.
//
// Input: lines. "NAME=value" sets the environment variable NAME when a table
// knows it (nothing else in the environment is touched); a line starting with
// "--" is a command-line argument. Nothing may crash, leak, hit UB or throw
// anything but CLI11's parse errors, and:
//   - a refused configuration is one config error whose text names a setting;
//   - an accepted one holds values inside every row's documented range.
//   build/fuzz/bin/config_env_fuzz tests/fuzz/corpus/config -max_total_time=60

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/config/cli_binding.hpp"
#include "danemq/config/options.hpp"
#include "danemq/config/service_settings.hpp"
#include "danemq/dane/resolver.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/log/log.hpp"
#include "listing.hpp"
#include "receiver_settings.hpp"
#include "sender_settings.hpp"

namespace {

using namespace danemq;
using std::chrono::milliseconds;

struct input_lines {
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> args;
  std::vector<std::string> values;  // every value and argument, for the parsers alone
};

input_lines split(std::string_view text, const std::set<std::string, std::less<>>& known) {
  input_lines out;
  while (!text.empty() && out.values.size() < 64) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.substr(0, 2) == "--") {
      out.args.emplace_back(line);
      out.values.emplace_back(line.substr(2));
      continue;
    }
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      out.values.emplace_back(line);
      continue;
    }
    const auto name = line.substr(0, equals);
    const auto value = line.substr(equals + 1);
    out.values.emplace_back(value);
    // setenv cannot carry a NUL; CLI11 would see the value cut there.
    if (known.contains(name) && value.find('\0') == std::string_view::npos) out.env.emplace_back(name, value);
  }
  return out;
}

/// A refusal is a config error naming the setting first.
template <class Settings>
void check_refusal(const failure& error, const config::option_table<Settings>& table) {
  if (error.code.category() != config::config_category()) std::abort();
  for (const auto& row : table) {
    if (!row.env.empty() && error.detail.rfind(row.env, 0) == 0) return;
    if (error.detail.rfind(row.flag, 0) == 0) return;
  }
  std::abort();
}

void check_service(const config::service_settings& s) {
  if (!s.identity_name.empty()) {
    auto canonical = identity::canonical_dns_name(s.identity_name);
    if (!canonical || *canonical != s.identity_name) std::abort();
  }
  if (s.mqtt.host.empty() || s.mqtt.port == 0 || s.mqtt.qos < 0 || s.mqtt.qos > 2) std::abort();
  if (s.mqtt.topic_prefix.find_first_of("+#") != std::string::npos) std::abort();
  if (s.mqtt.client_id.size() > 128) std::abort();
  if (s.mqtt.keepalive < std::chrono::seconds(5)) std::abort();
  if (s.max_message_size < 256 || s.max_message_size > 64U * 1024 * 1024) std::abort();
  if (s.app_uid && *s.app_uid == 0) std::abort();  // root is refused
  if (s.dane.timeout < milliseconds(10) || s.dane.timeout > milliseconds(60'000) || s.dane.retries > 10) std::abort();
  if (s.crypto_path.empty() || s.data_path.empty()) std::abort();
}

/// Environment and arguments through a service's table, as its main() does.
template <class Settings, class Check>
void through_cli(const char* program, const config::option_table<Settings>& table, const input_lines& lines,
                 Check&& check) {
  for (const auto& row : table) {
    if (!row.env.empty()) ::unsetenv(row.env.c_str());
  }
  for (const auto& [name, value] : lines.env) ::setenv(name.c_str(), value.c_str(), 1);
  CLI::App cli("fuzz", program);
  cli.allow_extras();
  config::option_binding<Settings> binding(cli, table);
  std::vector<std::string> args(lines.args.rbegin(), lines.args.rend());  // CLI11 takes them reversed
  bool parsed = true;
  try {
    cli.parse(args);
  } catch (const CLI::ParseError&) {
    parsed = false;  // the service prints CLI11's message and exits 1
  }
  if (parsed) {
    Settings settings;
    if (auto applied = binding.apply(settings); !applied) {
      check_refusal(applied.error(), table);
    } else if (auto consistent = config::check_consistency(settings.service); !consistent) {
      check_refusal(consistent.error(), table);
    } else {
      check_service(settings.service);
      check(settings);
    }
  }
  for (const auto& [name, value] : lines.env) ::unsetenv(name.c_str());
}

void parsers_alone(const std::string& value) {
  const auto within = [](const auto& parsed, const auto& min, const auto& max) {
    if (parsed && (*parsed < min || *parsed > max)) std::abort();
  };
  within(config::parse_unsigned(value, 3, 1000), 3U, 1000U);
  within(config::parse_size(value, 256, 64ULL << 20), 256U, 64ULL << 20);
  within(config::parse_duration(value, milliseconds(10), std::chrono::hours(24 * 7)), milliseconds(10),
         milliseconds(std::chrono::hours(24 * 7)));
  within(config::parse_duration(value, milliseconds(0), milliseconds(std::numeric_limits<std::int64_t>::max())),
         milliseconds(0), milliseconds(std::numeric_limits<std::int64_t>::max()));
  if (auto port = config::parse_port(value); port && *port == 0) std::abort();
  (void)config::parse_bool(value);
  (void)config::parse_choice(value, {"compat", "v2"});
  (void)log::parse_format(value);
  (void)log::parse_level(value);
  if (auto server = dane::parse_server_address(value)) {
    auto again = dane::parse_server_address(server->to_string());
    if (!again || !(*again == *server)) std::abort();
  }
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));
  (void)receiver::parse_since(value, now);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto receiver_table = receiver::receiver_options();
  static const auto sender_table = sender::sender_options();
  static const auto known = [] {
    std::set<std::string, std::less<>> names;
    for (const auto& row : receiver_table) names.insert(row.env);
    for (const auto& row : sender_table) names.insert(row.env);
    names.erase("");
    return names;
  }();
  const auto lines = split(std::string_view(reinterpret_cast<const char*>(data), size), known);

  through_cli("danemq-receiver", receiver_table, lines, [](const receiver::receiver_settings& s) {
    if (s.max_age < std::chrono::seconds(10) || s.max_age > std::chrono::days(30)) std::abort();
    if (s.max_clock_skew > std::chrono::hours(1)) std::abort();
    if (s.workers < 1 || s.workers > 256 || s.queue_size < 1 || s.backlog_limit < 1) std::abort();
    if (s.lookup_retry().initial > s.lookup_retry().max) std::abort();
  });
  through_cli("danemq-sender", sender_table, lines, [](const sender::sender_settings& s) {
    if (s.timeout < milliseconds(100) || s.window < 1 || s.window > 1000) std::abort();
    if (s.max_age < std::chrono::seconds(10) || s.max_age > std::chrono::days(30)) std::abort();
  });
  for (const auto& value : lines.values) parsers_alone(value);
  return 0;
}
