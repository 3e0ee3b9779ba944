#pragma once
// The load test: many senders — each a real `danemq-sender run` process
// delivering its outbox — publish to one danemq-receiver through a local
// Mosquitto, with real DNSSEC-signed DNS, while the broker is killed
// (SIGKILL) and restarted and the receiver is killed (SIGKILL) and restarted.
// Afterwards the receiver's database is compared with what was sent and
// acknowledged. Shared by bench/load (the full run: 50 senders, 10,000
// messages, 5 broker restarts, 2 receiver kills) and the integration test
// tests/integration/fault/fault_load_test (a small run in the suite).

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "danemq/identity/key.hpp"

namespace danemq::load {

struct load_options {
  std::size_t senders{50};
  std::size_t messages{10'000};                              ///< in all, spread evenly over the senders
  std::size_t broker_restarts{5};                            ///< SIGKILL + start, spread over the run
  std::size_t receiver_kills{2};                             ///< SIGKILL + start, spread over the run
  identity::key_type key_type{identity::key_type::ec_p256};  ///< of every identity
  std::size_t window{16};                                    ///< OUTBOX_WINDOW: publishes in flight per sender
  unsigned receiver_workers{8};                              ///< RECEIVER_WORKERS
  /// Mosquitto saves its persistence file every this many seconds, as the
  /// deployed broker does (deploy/mosquitto: autosave_interval 5); 0: after
  /// every change. The senders keep acknowledged messages for OUTBOX_SETTLE
  /// (twice this, at least 2 s) to publish them again after a broker crash.
  unsigned broker_autosave_seconds{5};
  /// Give up when nothing moved for this long.
  std::chrono::seconds stall_limit{60};
  std::string receiver_log_level{"info"};  // "MQTT connected" is how the run sees the first subscription
};

struct load_report {
  std::size_t sent{0};          ///< messages put into the senders' outboxes
  std::size_t acknowledged{0};  ///< of those, acknowledged by the broker and gone from the outboxes
  std::size_t republished{0};   ///< acknowledged, then published again after a connection loss (OUTBOX_SETTLE)
  std::size_t in_inbox{0};      ///< distinct sent messages in the inbox
  std::size_t duplicates{0};    ///< inbox rows beyond the first of a message
  std::size_t unexpected{0};    ///< inbox rows that were never sent
  std::size_t quarantined{0};
  std::size_t pending{0};  ///< stored, not processed when the run ended
  std::size_t lost{0};     ///< acknowledged but neither in the inbox nor quarantined
  /// Of the lost: never stored by the receiver (lost before it: the broker),
  /// or stored raw and not processed (lost inside it).
  std::size_t lost_before_receiver{0};
  std::size_t lost_in_receiver{0};
  std::vector<std::string> lost_examples{};
  std::size_t broker_restarts{0};
  std::size_t receiver_kills{0};
  double seconds{0};  ///< senders started to the last message stored by the receiver
  double messages_per_second{0};
  long receiver_peak_rss_kib{0};  ///< the largest VmHWM of the receiver's runs
  std::string failure;            ///< why the run stopped early (empty: it completed)

  [[nodiscard]] bool passed() const {
    return failure.empty() && lost == 0 && duplicates == 0 && unexpected == 0 && quarantined == 0 && in_inbox == sent &&
           acknowledged == sent;
  }
};

/// Runs the load test; progress lines go to `progress`. Throws only when the
/// servers cannot be started.
[[nodiscard]] load_report run_load(const load_options& options, std::ostream& progress);

/// The figures, one per line.
std::ostream& operator<<(std::ostream& out, const load_report& report);

}  // namespace danemq::load
