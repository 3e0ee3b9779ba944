#include "receiver_settings.hpp"

namespace danemq::receiver {

config::option_table<receiver_settings> receiver_options() {
  using S = receiver_settings;
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::seconds;
  auto table = config::lift(config::service_options(), &S::service);
  config::append(
      table,
      {
          {.env = "OUTPUT_JSON",
           .flag = "--json",
           .value = config::switch_on<S>(&S::json_output),
           .help = "print messages and listings as one JSON object per line",
           .unset = "off"},
          config::metrics_address_option<S>(&S::metrics_address),
          {.env = "ACCEPT_LEGACY",
           .flag = "--accept-legacy",
           .value = config::switch_on<S>(&S::accept_legacy),
           .help = "accept the original's format (no recipient binding, freshness or replay check), flagged legacy",
           .unset = "off"},
          {.env = "RECEIPTS",
           .flag = "--receipts",
           .value = config::boolean<S>(&S::receipts),
           .help = "send a signed receipt for each stored message that asks for one (`0`: never), queued in "
                   "DATA_PATH/sender.db for the device's `danemq-sender run`"},
          {.env = "ALLOWED_SENDERS",
           .flag = "--allowed-senders",
           .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                       auto list = identity::name_allow_list::parse(text);
                       if (!list) return config::invalid(list.error().detail);
                       s.allowed_senders = std::move(*list);
                       return ok();
                     },
                     .show = [](const S& s) { return s.allowed_senders.to_string(); },
                     .type_name = "NAMES"},
           .help = "who may write to this device, checked before any DNS lookup: comma-separated names and "
                   "`*.zone` patterns (every name below the zone); others are quarantined as `sender not allowed`",
           .unset = "anyone"},
          config::message_max_age_option<S>(&S::max_age),
          {.env = "MAX_CLOCK_SKEW",
           .flag = "--max-clock-skew",
           .value = config::duration_in<S>(&S::max_clock_skew, milliseconds(0), hours(1)),
           .help = "how far ahead of ours a sender's clock may be"},
          {.env = "REQUIRE_SYNCED_CLOCK",
           .flag = "--require-synced-clock",
           .value = config::boolean<S>(&S::require_synced_clock),
           .help = "keep messages stored and unjudged while the kernel says the system clock is not synchronised "
                   "(no real-time clock, NTP not done yet); 0 for systems without that status"},
          {.env = "LOOKUP_RETRY_DELAY",
           .flag = "--lookup-retry-delay",
           .value = config::duration_in<S>(&S::lookup_retry_delay, milliseconds(10), minutes(10)),
           .help = "first retry delay after a temporary DNS failure, doubling up to a minute"},
          {.env = "LOOKUP_RETRY_LIMIT",
           .flag = "--lookup-retry-limit",
           .value = config::duration_in<S>(&S::lookup_retry_limit, milliseconds(0), hours(24 * 7)),
           .help = "quarantine a message whose sender cannot be looked up for this long"},
          {.env = "LOOKUP_RETRY_LIMIT_UNKNOWN",
           .flag = "--lookup-retry-limit-unknown",
           .value = config::duration_in<S>(&S::lookup_retry_limit_unknown, milliseconds(0), hours(24 * 7)),
           .help = "the same for a sender whose name never resolved here (at most LOOKUP_RETRY_LIMIT)"},
          {.env = "IDENTITY_RETRY_DELAY",
           .flag = "--identity-retry-delay",
           .value = config::duration_in<S>(&S::identity_retry_delay, milliseconds(10), minutes(1)),
           .help = "first delay between the start-up identity checks, doubling up to a minute"},
          {.env = "RECEIVER_WORKERS",
           .flag = "--workers",
           .value = config::count_in<S>(&S::workers, 1, 256),
           .help = "messages processed at once"},
          {.env = "RECEIVER_QUEUE_SIZE",
           .flag = "--queue-size",
           .value = config::count_in<S>(&S::queue_size, 1, 100'000),
           .help = "stored messages held in memory for processing"},
          {.env = "RECEIVER_BACKLOG",
           .flag = "--backlog",
           .value = config::count_in<S>(&S::backlog_limit, 1, 10'000'000),
           .help = "unprocessed stored messages at which reading from the broker pauses, to resume at half"},
          {.env = "PROCESSING_CRASH_LIMIT",
           .flag = "--processing-crash-limit",
           .value = config::count_in<S>(&S::crash_limit, 1, 1000),
           .help = "times a message's processing may begin without an outcome (the receiver died each time) before "
                   "it is quarantined (jose:20 processing failed repeatedly)"},
          {.env = "REPLAY_MEMORY_SIZE",
           .flag = "--replay-memory-size",
           .value = config::count_in<S>(&S::replay_capacity, 1000, 100'000'000),
           .help = "most (sender, `jti`) pairs remembered against replay"},
          {.env = "REPLAY_MEMORY_PER_SENDER",
           .flag = "--replay-memory-per-sender",
           .value = config::count_in<S>(&S::replay_per_sender, 100, 100'000'000),
           .help = "most pairs of one sender: its further messages are quarantined (jose:21 sender over quota)"},
          {.env = "QUARANTINE_MAX_AGE",
           .flag = "--quarantine-max-age",
           .value = config::duration_in<S>(&S::quarantine_max_age, minutes(1), std::chrono::days(3650)),
           .help = "refused messages (and their digests) older than this are removed from the quarantine, "
                   "each removal logged"},
          {.env = "QUARANTINE_MAX_BYTES",
           .flag = "--quarantine-max-bytes",
           .value = config::size_in<S>(&S::quarantine_max_bytes, std::uint64_t{64} * 1024, 1ULL << 40),
           .help = "most the quarantine keeps (payloads, topics, reasons and per-row overhead): the oldest refused "
                   "messages are removed first, each removal logged"},
          {.env = "HEALTH_INTERVAL",
           .flag = "--health-interval",
           .value = config::duration_in<S>(&S::health_interval, milliseconds(100), minutes(10)),
           .help = "how often the daemon records its health"},
          {.env = "STOP_GRACE",
           .flag = "--stop-grace",
           .value = config::duration_in<S>(&S::stop_grace, milliseconds(100), minutes(1)),
           .help = "longest time from SIGTERM to exit"},
      });
  return table;
}

}  // namespace danemq::receiver
