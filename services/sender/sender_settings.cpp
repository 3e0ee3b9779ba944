#include "sender_settings.hpp"

namespace danemq::sender {
namespace {

using settings = sender_settings;
using std::chrono::milliseconds;

}  // namespace

config::option_table<sender_settings> sender_options() {
  auto table = config::lift(config::service_options(), &settings::service);
  config::option_table<settings> own;
  own.push_back({"MESSAGE_FORMAT", "format",
                 "v2 (signed recipient, time and id) or compat (exactly the original's format)", "v2", false, false,
                 false, [](settings& s, std::string_view text) -> result<void> {
                   auto choice = config::parse_choice(text, {"compat", "v2"});
                   if (!choice) return choice.error();
                   s.format = *choice == "compat" ? jose::message_format::compat : jose::message_format::v2;
                   return ok();
                 }});
  own.push_back({"SEND_TIMEOUT", "timeout",
                 "how long `send` waits, connecting included, for the broker's acknowledgement", "10s", false, false,
                 false, [](settings& s, std::string_view text) -> result<void> {
                   auto timeout = config::parse_duration(text, milliseconds(100), std::chrono::minutes(10));
                   if (timeout) s.timeout = *timeout;
                   return config::carry(timeout);
                 }});
  own.push_back({"SEND_QUEUE", "queue",
                 "if the broker cannot be reached, keep the encrypted message in the outbox for `run` (exit 0)", "",
                 false, false, true, [](settings& s, std::string_view text) -> result<void> {
                   auto on = config::parse_bool(text);
                   if (on) s.queue = *on;
                   return config::carry(on);
                 }});
  own.push_back({"OUTBOX_POLL_INTERVAL", "poll-interval", "how often `run` looks for new outbox entries", "500ms",
                 false, false, false, [](settings& s, std::string_view text) -> result<void> {
                   auto every = config::parse_duration(text, milliseconds(10), std::chrono::minutes(10));
                   if (every) s.poll_interval = *every;
                   return config::carry(every);
                 }});
  own.push_back({"OUTBOX_WINDOW", "window", "outbox messages in flight at once in `run`", "16", false, false, false,
                 [](settings& s, std::string_view text) -> result<void> {
                   auto n = config::parse_unsigned(text, 1, 1000);
                   if (n) s.window = static_cast<unsigned>(*n);
                   return config::carry(n);
                 }});
  own.push_back({"OUTBOX_SETTLE", "settle",
                 "how long `run` keeps an acknowledged message to publish it again if the broker connection drops "
                 "(above the broker's save interval; 0 for a broker durable at acknowledgement)",
                 "10s", false, false, false, [](settings& s, std::string_view text) -> result<void> {
                   auto settle = config::parse_duration(text, milliseconds(0), std::chrono::hours(1));
                   if (settle) s.settle = *settle;
                   return config::carry(settle);
                 }});
  config::append(table, std::move(own));
  return table;
}

}  // namespace danemq::sender
