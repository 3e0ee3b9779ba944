#pragma once
// danemq-receiver's settings: the shared ones plus how messages are checked,
// retried, processed and printed. Loaded once, immutable afterwards.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "danemq/config/options.hpp"
#include "danemq/config/service_settings.hpp"
#include "danemq/core/backoff.hpp"
#include "danemq/identity/name_allow_list.hpp"
#include "danemq/jose/message.hpp"

namespace danemq::receiver {

struct receiver_settings {
  config::service_settings service{};
  bool json_output{false};        ///< OUTPUT_JSON: one JSON object per message/row
  bool accept_legacy{false};      ///< ACCEPT_LEGACY: accept the original's format
  bool receipts{true};            ///< RECEIPTS: answer messages that ask for a signed receipt
  std::string metrics_address{};  ///< METRICS_ADDRESS: host:port of the Prometheus endpoint; empty: none
  /// ALLOWED_SENDERS: who may write to us, checked before any DNS lookup; empty: anyone.
  identity::name_allow_list allowed_senders{};
  std::chrono::seconds max_age{jose::default_max_age};  ///< MESSAGE_MAX_AGE: acceptance horizon of `iat`
  std::chrono::seconds max_clock_skew{60};              ///< MAX_CLOCK_SKEW: how far `iat` may be ahead
  /// REQUIRE_SYNCED_CLOCK: judge no message's age until the kernel says the
  /// system clock is synchronised (a device without a real-time clock).
  bool require_synced_clock{true};
  /// LOOKUP_RETRY_DELAY / LOOKUP_RETRY_LIMIT: a message whose sender cannot
  /// be looked up for a temporary reason (DNS timeout, SERVFAIL) is retried
  /// with back-off from this delay, and quarantined once it failed this long.
  std::chrono::milliseconds lookup_retry_delay{std::chrono::seconds(1)};
  std::chrono::milliseconds lookup_retry_limit{std::chrono::minutes(10)};
  /// LOOKUP_RETRY_LIMIT_UNKNOWN: the same limit for a sender whose name never
  /// resolved (anyone can invent names in a zone that never answers).
  std::chrono::milliseconds lookup_retry_limit_unknown{std::chrono::seconds(30)};
  /// IDENTITY_RETRY_DELAY: first delay of the start-up identity check's back-off (up to a minute).
  std::chrono::milliseconds identity_retry_delay{std::chrono::seconds(1)};
  unsigned workers{8};              ///< RECEIVER_WORKERS: messages processed at once (decryption, DNS, verification)
  std::size_t queue_size{128};      ///< RECEIVER_QUEUE_SIZE: messages held in memory for processing
  std::size_t backlog_limit{2048};  ///< RECEIVER_BACKLOG: stored-but-unprocessed messages before reading pauses
  /// PROCESSING_CRASH_LIMIT: begun processings without an outcome (the
  /// receiver died each time) after which a message is quarantined (jose:20).
  unsigned crash_limit{3};
  std::size_t replay_capacity{1'000'000};  ///< REPLAY_MEMORY_SIZE: bound of the replay memory
  std::size_t replay_per_sender{700'000};  ///< REPLAY_MEMORY_PER_SENDER: one sender's share of it
  /// QUARANTINE_MAX_AGE / QUARANTINE_MAX_BYTES: the quarantine's retention.
  /// A month to look into what was refused; 64 MiB bounds what anyone who can
  /// publish to our topic can make us keep (README, "How big the database grows").
  std::chrono::milliseconds quarantine_max_age{std::chrono::days(30)};
  std::uint64_t quarantine_max_bytes{64ULL * 1024 * 1024};
  std::chrono::milliseconds health_interval{std::chrono::seconds(5)};  ///< HEALTH_INTERVAL: how often health is saved
  std::chrono::milliseconds stop_grace{std::chrono::seconds(3)};       ///< STOP_GRACE: SIGTERM to exit, at most

  [[nodiscard]] backoff_policy lookup_retry() const {
    return backoff_policy{lookup_retry_delay, std::max(lookup_retry_delay, std::chrono::milliseconds(60'000))};
  }
};

/// The shared rows plus the receiver's.
[[nodiscard]] config::option_table<receiver_settings> receiver_options();

}  // namespace danemq::receiver
