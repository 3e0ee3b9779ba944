#include "receiver_settings.hpp"

namespace danemq::receiver {
namespace {

using settings = receiver_settings;
using std::chrono::milliseconds;

}  // namespace

config::option_table<receiver_settings> receiver_options() {
  auto table = config::lift(config::service_options(), &settings::service);
  config::option_table<settings> own;
  own.push_back({"OUTPUT_JSON", "json", "print messages and listings as one JSON object per line", "", false, false,
                 true, [](settings& s, std::string_view text) -> result<void> {
                   auto on = config::parse_bool(text);
                   if (on) s.json_output = *on;
                   return config::carry(on);
                 }});
  own.push_back({"ACCEPT_LEGACY", "accept-legacy",
                 "accept the original's format (no recipient binding, freshness or replay check), flagged legacy", "",
                 false, false, true, [](settings& s, std::string_view text) -> result<void> {
                   auto on = config::parse_bool(text);
                   if (on) s.accept_legacy = *on;
                   return config::carry(on);
                 }});
  own.push_back({"MESSAGE_MAX_AGE", "message-max-age", "refuse messages signed longer ago than this", "5m", false,
                 false, false, [](settings& s, std::string_view text) -> result<void> {
                   auto age = config::parse_duration(text, std::chrono::seconds(10), std::chrono::hours(24));
                   if (age) s.max_age = std::chrono::duration_cast<std::chrono::seconds>(*age);
                   return config::carry(age);
                 }});
  own.push_back({"MAX_CLOCK_SKEW", "max-clock-skew", "how far a sender's clock may be ahead of ours", "60s", false,
                 false, false, [](settings& s, std::string_view text) -> result<void> {
                   auto skew = config::parse_duration(text, milliseconds(0), std::chrono::hours(1));
                   if (skew) s.max_clock_skew = std::chrono::duration_cast<std::chrono::seconds>(*skew);
                   return config::carry(skew);
                 }});
  own.push_back({"LOOKUP_RETRY_DELAY", "lookup-retry-delay",
                 "first retry delay after a temporary DNS failure (doubles up to a minute)", "1s", false, false, false,
                 [](settings& s, std::string_view text) -> result<void> {
                   auto delay = config::parse_duration(text, milliseconds(10), std::chrono::minutes(10));
                   if (delay) s.lookup_retry_delay = *delay;
                   return config::carry(delay);
                 }});
  own.push_back({"LOOKUP_RETRY_LIMIT", "lookup-retry-limit",
                 "quarantine a message whose sender could not be looked up for this long", "10m", false, false, false,
                 [](settings& s, std::string_view text) -> result<void> {
                   auto limit = config::parse_duration(text, milliseconds(0), std::chrono::hours(24 * 7));
                   if (limit) s.lookup_retry_limit = *limit;
                   return config::carry(limit);
                 }});
  own.push_back({"IDENTITY_RETRY_DELAY", "identity-retry-delay",
                 "first delay between start-up identity checks (doubles up to a minute)", "1s", false, false, false,
                 [](settings& s, std::string_view text) -> result<void> {
                   auto delay = config::parse_duration(text, milliseconds(10), std::chrono::minutes(1));
                   if (delay) s.identity_retry_delay = *delay;
                   return config::carry(delay);
                 }});
  own.push_back({"RECEIVER_WORKERS", "workers", "messages processed at once", "8", false, false, false,
                 [](settings& s, std::string_view text) -> result<void> {
                   auto n = config::parse_unsigned(text, 1, 256);
                   if (n) s.workers = static_cast<unsigned>(*n);
                   return config::carry(n);
                 }});
  own.push_back({"RECEIVER_QUEUE_SIZE", "queue-size", "stored messages held in memory for processing", "128", false,
                 false, false, [](settings& s, std::string_view text) -> result<void> {
                   auto n = config::parse_unsigned(text, 1, 100'000);
                   if (n) s.queue_size = static_cast<std::size_t>(*n);
                   return config::carry(n);
                 }});
  own.push_back({"RECEIVER_BACKLOG", "backlog", "unprocessed stored messages at which reading from the broker pauses",
                 "2048", false, false, false, [](settings& s, std::string_view text) -> result<void> {
                   auto n = config::parse_unsigned(text, 1, 10'000'000);
                   if (n) s.backlog_limit = static_cast<std::size_t>(*n);
                   return config::carry(n);
                 }});
  own.push_back({"REPLAY_MEMORY_SIZE", "replay-memory-size", "most (sender, jti) pairs remembered against replay",
                 "1000000", false, false, false, [](settings& s, std::string_view text) -> result<void> {
                   auto n = config::parse_unsigned(text, 1000, 100'000'000);
                   if (n) s.replay_capacity = static_cast<std::size_t>(*n);
                   return config::carry(n);
                 }});
  own.push_back({"HEALTH_INTERVAL", "health-interval", "how often the daemon records its health", "5s", false, false,
                 false, [](settings& s, std::string_view text) -> result<void> {
                   auto every = config::parse_duration(text, milliseconds(100), std::chrono::minutes(10));
                   if (every) s.health_interval = *every;
                   return config::carry(every);
                 }});
  own.push_back({"STOP_GRACE", "stop-grace", "longest time from SIGTERM to exit", "3s", false, false, false,
                 [](settings& s, std::string_view text) -> result<void> {
                   auto grace = config::parse_duration(text, milliseconds(100), std::chrono::minutes(1));
                   if (grace) s.stop_grace = *grace;
                   return config::carry(grace);
                 }});
  config::append(table, std::move(own));
  return table;
}

}  // namespace danemq::receiver
