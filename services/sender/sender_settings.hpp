#pragma once
// danemq-sender's settings: the shared ones plus the message format and how
// long to wait for the broker. Loaded once, immutable afterwards.

#include <chrono>
#include <string>

#include "danemq/config/options.hpp"
#include "danemq/config/service_settings.hpp"
#include "danemq/jose/message.hpp"

namespace danemq::sender {

struct sender_settings {
  config::service_settings service{};
  /// MESSAGE_FORMAT / --format: v2 (recipient binding, freshness) or compat
  /// (exactly the original's, for peers still on it).
  jose::message_format format{jose::message_format::v2};
  /// SEND_TIMEOUT: for `send`, to connect and then to get the PUBACK.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  /// SEND_QUEUE / --queue: when the broker cannot be reached, keep the
  /// encrypted message in the outbox for `run` instead of failing.
  bool queue{false};
  /// RECEIPTS: ask the recipient for a signed receipt (v2 only).
  bool receipts{true};
  /// SEND_WAIT / --wait: `send` exits 0 only once the receipt arrived.
  bool wait{false};
  /// SEND_WAIT_TIMEOUT: how long `send --wait` waits for the receipt.
  std::chrono::milliseconds wait_timeout{std::chrono::seconds(30)};
  /// METRICS_ADDRESS: host:port of `run`'s Prometheus endpoint; empty: none.
  std::string metrics_address{};
  /// OUTBOX_POLL_INTERVAL: how often `run` looks for new outbox entries.
  std::chrono::milliseconds poll_interval{std::chrono::milliseconds(500)};
  /// OUTBOX_WINDOW: outbox messages published before their PUBACKs come back.
  unsigned window{16};
  /// OUTBOX_SETTLE: how long `run` keeps an acknowledged message in memory
  /// and publishes it again if the broker connection is lost meanwhile. A
  /// broker may acknowledge before it has saved (Mosquitto saves every
  /// autosave_interval), and a broker killed in between would lose the
  /// message; the receiver keeps one of identical copies. Set it above the
  /// broker's save interval; 0 for a broker durable at PUBACK.
  std::chrono::milliseconds settle{std::chrono::seconds(10)};
  /// MESSAGE_MAX_AGE: the receivers' acceptance horizon. The outbox keeps an
  /// entry older than this (it is never dropped) but says it would be refused.
  std::chrono::seconds max_age{jose::default_max_age};
};

[[nodiscard]] config::option_table<sender_settings> sender_options();

}  // namespace danemq::sender
