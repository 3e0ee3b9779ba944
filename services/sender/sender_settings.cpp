#include "sender_settings.hpp"

namespace danemq::sender {

config::option_table<sender_settings> sender_options() {
  using S = sender_settings;
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  auto table = config::lift(config::service_options(), &S::service);
  config::append(
      table,
      {
          {.env = "MESSAGE_FORMAT",
           .flag = "--format",
           .command = "send",
           .value = {
               .apply = [](S& s, std::string_view text) -> result<void> {
                 auto choice = config::parse_choice(text, {"compat", "v2"});
                 if (!choice) return choice.error();
                 s.format = *choice == "compat" ? jose::message_format::compat : jose::message_format::v2;
                 return ok();
               },
               .show =
                   [](const S& s) { return std::string(s.format == jose::message_format::compat ? "compat" : "v2"); },
               .type_name = "FORMAT"},
           .help = "`v2` (signed recipient, time and id) or `compat` (exactly the original's format; see Sending)"},
          {.env = "SEND_TIMEOUT",
           .flag = "--timeout",
           .command = "send",
           .value = config::duration_in<S>(&S::timeout, milliseconds(100), minutes(10)),
           .help = "how long `send` waits, connecting included, for the broker's acknowledgement"},
          {.env = "SEND_QUEUE",
           .flag = "--queue",
           .command = "send",
           .value = config::switch_on<S>(&S::queue),
           .help = "if the broker cannot be reached, keep the encrypted message in the outbox for `run` (exit 0)",
           .unset = "off"},
          {.env = "RECEIPTS",
           .flag = "--receipts",
           .value = config::boolean<S>(&S::receipts),
           .help = "ask each recipient for a signed receipt (`0`: never); the device's receiver records it in the "
                   "sent log (`danemq-sender sent`)"},
          {.env = "SEND_WAIT",
           .flag = "--wait",
           .command = "send",
           .value = config::switch_on<S>(&S::wait),
           .help = "`send` exits 0 only once the recipient's receipt arrived (exit 4 after SEND_WAIT_TIMEOUT); needs "
                   "this device's receiver running",
           .unset = "off"},
          {.env = "SEND_WAIT_TIMEOUT",
           .flag = "--wait-timeout",
           .command = "send",
           .value = config::duration_in<S>(&S::wait_timeout, std::chrono::seconds(1), std::chrono::hours(24)),
           .help = "how long `send --wait` waits for the receipt"},
          config::metrics_address_option<S>(&S::metrics_address, "run"),
          {.env = "OUTBOX_POLL_INTERVAL",
           .flag = "--poll-interval",
           .command = "run",
           .value = config::duration_in<S>(&S::poll_interval, milliseconds(10), minutes(10)),
           .help = "how often `run` looks for new outbox entries"},
          {.env = "OUTBOX_WINDOW",
           .flag = "--window",
           .command = "run",
           .value = config::count_in<S>(&S::window, 1, 1000),
           .help = "outbox messages in flight at once in `run`"},
          {.env = "OUTBOX_SETTLE",
           .flag = "--settle",
           .command = "run",
           .value = config::duration_in<S>(&S::settle, milliseconds(0), hours(1)),
           .help = "how long `run` keeps an acknowledged message to publish it again if the broker connection drops: "
                   "above the broker's save interval, 0 for a broker durable at acknowledgement"},
          {.env = "MESSAGE_MAX_AGE",
           .flag = "--message-max-age",
           .value = config::duration_in<S>(&S::max_age, std::chrono::seconds(10), std::chrono::days(30)),
           .help = "the receivers' acceptance horizon: `run` warns about (and keeps) an outbox entry older than this, "
                   "which they would refuse"},
      });
  return table;
}

}  // namespace danemq::sender
