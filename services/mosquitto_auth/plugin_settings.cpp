#include "plugin_settings.hpp"

#include <charconv>
#include <filesystem>
#include <functional>
#include <map>
#include <system_error>

#include "danemq/dane/resolver.hpp"

namespace danemq::mosquitto_auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

failure bad(std::string_view key, std::string_view reason) {
  return fail(std::make_error_code(std::errc::invalid_argument),
              "plugin_opt_" + std::string(key) + ": " + std::string(reason));
}

result<bool> parse_plugin_bool(std::string_view text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return fail(std::make_error_code(std::errc::invalid_argument), "'" + std::string(text) + "' is not true or false");
}

result<seconds> duration_between(std::string_view text, seconds min, seconds max) {
  auto value = parse_plugin_duration(text);
  if (!value) return value.error();
  if (*value < min || *value > max || *value % seconds(1) != milliseconds(0)) {
    return fail(std::make_error_code(std::errc::invalid_argument),
                "'" + std::string(text) + "' is out of range (" + std::to_string(min.count()) + "s.." +
                    std::to_string(max.count()) + "s, whole seconds)");
  }
  return std::chrono::duration_cast<seconds>(*value);
}

using apply_fn = std::function<result<void>(plugin_settings&, std::string_view)>;

const std::map<std::string, apply_fn, std::less<>>& appliers() {
  static const std::map<std::string, apply_fn, std::less<>> table = {
      {"dns_resolver",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         if (auto address = dane::parse_server_address(text); !address) return address.error();
         s.dane.resolver = std::string(text);
         return ok();
       }},
      {"dnssec_validation",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         auto mode = dane::parse_dnssec_mode(text);
         if (!mode) return mode.error();
         s.dane.dnssec = *mode;
         return ok();
       }},
      {"dnssec_trust_anchor",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         std::error_code error;
         if (!std::filesystem::is_regular_file(std::filesystem::path(text), error)) {
           return fail(std::make_error_code(std::errc::invalid_argument), "'" + std::string(text) + "' is not a file");
         }
         s.dane.trust_anchor = std::string(text);
         return ok();
       }},
      {"audience",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         if (text.empty()) return fail(std::make_error_code(std::errc::invalid_argument), "is empty");
         s.audience = std::string(text);
         return ok();
       }},
      {"topic_prefix",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         if (text.find_first_of("+#") != std::string_view::npos) {
           return fail(std::make_error_code(std::errc::invalid_argument), "must not contain the wildcards + or #");
         }
         s.topic_prefix = std::string(text);
         return ok();
       }},
      {"max_token_age",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         auto age = duration_between(text, seconds(1), seconds(3600));
         if (!age) return age.error();
         s.max_token_age = *age;
         return ok();
       }},
      {"cache_max_ttl",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         auto ttl = duration_between(text, seconds(1), seconds(86400));
         if (!ttl) return ttl.error();
         s.dane.cache.max_ttl = *ttl;
         return ok();
       }},
      {"allowed_names",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         auto names = identity::name_allow_list::parse(text);
         if (!names) return names.error();
         s.allowed_names = std::move(names).value();
         return ok();
       }},
      {"allow_plaintext",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         auto on = parse_plugin_bool(text);
         if (!on) return on.error();
         s.allow_plaintext = *on;
         return ok();
       }},
      {"lookup_wait",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         auto wait = parse_plugin_duration(text);
         if (!wait) return wait.error();
         if (*wait > seconds(5)) {
           return fail(std::make_error_code(std::errc::invalid_argument),
                       "'" + std::string(text) + "' is over 5s (the broker stalls while it waits)");
         }
         s.lookup_wait = *wait;
         return ok();
       }},
      {"lookup_threads",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         unsigned threads = 0;
         const auto* end = text.data() + text.size();
         if (auto [ptr, ec] = std::from_chars(text.data(), end, threads);
             ec != std::errc() || ptr != end || threads < 1 || threads > 64) {
           return fail(std::make_error_code(std::errc::invalid_argument),
                       "'" + std::string(text) + "' is not a number of threads (1..64)");
         }
         s.lookup_threads = threads;
         return ok();
       }},
      {"sys_topics",
       [](plugin_settings& s, std::string_view text) -> result<void> {
         auto on = parse_plugin_bool(text);
         if (!on) return on.error();
         s.sys_topics = *on;
         return ok();
       }},
  };
  return table;
}

}  // namespace

result<milliseconds> parse_plugin_duration(std::string_view text) {
  std::uint64_t number = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, number);
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  const auto refused = [&] {
    return fail(std::make_error_code(std::errc::invalid_argument),
                "'" + std::string(text) + "' is not a duration (e.g. 200ms, 60s, 5m, 1h)");
  };
  if (ec != std::errc() || number > 1'000'000'000) return refused();
  const auto count = static_cast<std::int64_t>(number);
  if (unit == "ms") return milliseconds(count);
  if (unit.empty() || unit == "s") return milliseconds(seconds(count));
  if (unit == "m") return milliseconds(std::chrono::minutes(count));
  if (unit == "h") return milliseconds(std::chrono::hours(count));
  return refused();
}

result<plugin_settings> parse_plugin_settings(const std::vector<std::pair<std::string, std::string>>& options) {
  plugin_settings settings;
  for (const auto& [key, value] : options) {
    const auto found = appliers().find(key);
    if (found == appliers().end()) return bad(key, "unknown option");
    if (auto applied = found->second(settings, value); !applied)
      return bad(key, applied.error().detail.empty() ? applied.error().message() : applied.error().detail);
  }
  if (settings.audience.empty()) return bad("audience", "is required: this broker's name, as clients' tokens name it");
  // Failures are kept no longer than a token is fresh: a client that retried
  // after a timed-out lookup should find the answer, not the timeout.
  settings.dane.cache.failure_ttl = std::min(settings.dane.cache.failure_ttl, settings.max_token_age);
  return settings;
}

}  // namespace danemq::mosquitto_auth
