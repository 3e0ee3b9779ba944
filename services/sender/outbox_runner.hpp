#pragma once
// danemq-sender run: the outbox runner, the container's long-running
// process. It delivers the outbox in order whenever the broker is reachable
// and removes each entry only after its PUBACK (see OUTBOX_SETTLE for what
// happens when the broker connection drops soon after).

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "danemq/core/backoff.hpp"
#include "danemq/core/result.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/runtime/service_runtime.hpp"
#include "danemq/store/outbox.hpp"
#include "sender_metrics.hpp"
#include "sender_settings.hpp"

namespace danemq::sender {

/// Where the outbox of these settings lives: DATA_PATH/sender.db.
[[nodiscard]] std::filesystem::path outbox_path(const sender_settings& settings);

/// `run`: publishes the outbox in order whenever the broker is reachable.
/// Everything runs on the runtime's io thread: acknowledgements and
/// connection changes arrive there as handlers, a timer wakes it for the
/// next look at the outbox, the end of a back-off or of OUTBOX_SETTLE.
class outbox_runner {
 public:
  outbox_runner(sender_settings settings, store::outbox& outbox);
  ~outbox_runner();
  outbox_runner(const outbox_runner&) = delete;
  outbox_runner& operator=(const outbox_runner&) = delete;

  /// Runs until request_stop(), SIGTERM or SIGINT; returns the exit code.
  int run();
  /// From any thread.
  void request_stop();
  [[nodiscard]] std::uint64_t delivered() const { return delivered_.load(); }
  /// Acknowledged messages published again because the broker connection was lost within OUTBOX_SETTLE.
  [[nodiscard]] std::uint64_t republished() const { return republished_.load(); }
  /// Acknowledged messages not settled yet: kept in memory within OUTBOX_SETTLE, or published again.
  [[nodiscard]] std::size_t unsettled() const { return unsettled_.load(); }
  /// `outbox retry` requests taken.
  [[nodiscard]] std::uint64_t retries_requested() const { return retries_requested_.load(); }

 private:
  /// A publish on its way; the entry is kept until it settled (see OUTBOX_SETTLE).
  struct publishing {
    store::outbox_entry entry;
    std::uint64_t losses_at_send{0};  ///< the client's connection losses when it was published
    bool acknowledged{false};         ///< while stopping: published again and acknowledged
    bool answered{false};             ///< while stopping: the broker answered
  };
  /// Acknowledged and removed from the outbox; kept in memory until it settled.
  struct settling {
    store::outbox_entry entry;
    std::uint64_t losses_at_send{0};
    std::chrono::steady_clock::time_point settled_at{};
  };

  /// Publishes the entry; the outcome comes to on_acknowledged (or on_acknowledged_again).
  [[nodiscard]] publishing publish(store::outbox_entry entry, bool again);
  void on_acknowledged(std::int64_t id, const result<void>& outcome);
  void on_acknowledged_again(std::int64_t id, const result<void>& outcome);
  /// Settles, fills the window from the outbox and sets the timer for the next look.
  void pump();
  void fill();
  /// Warns once per entry about those older than MESSAGE_MAX_AGE (kept all the same).
  void note_past_horizon();
  /// Sets the outbox metrics (depth, oldest age), every OUTBOX_POLL_INTERVAL.
  void export_levels();
  void settle();
  /// Takes an `outbox retry` request (polled every OUTBOX_POLL_INTERVAL):
  /// the back-offs end now.
  void take_retry_request();
  void schedule();
  void begin_stop(int signal);
  void finish_stop();

  sender_settings settings_;
  store::outbox& outbox_;
  runtime::service_runtime runtime_{std::chrono::seconds(1)};
  boost::asio::steady_timer timer_{runtime_.io()};
  std::unique_ptr<mqtt::client> client_;
  std::unique_ptr<sender_metrics> metrics_;          // METRICS_ADDRESS; null when off
  std::map<std::int64_t, publishing> in_flight_;     // outbox entries published, by outbox id
  std::map<std::int64_t, settling> settling_;        // acknowledged within OUTBOX_SETTLE
  std::map<std::int64_t, publishing> republishing_;  // published again after a connection loss
  std::chrono::steady_clock::time_point next_look_{};
  std::chrono::steady_clock::time_point next_horizon_look_{};  // also while the broker is unreachable
  std::set<std::int64_t> past_horizon_;                        // outbox ids already warned about
  std::chrono::steady_clock::time_point hold_until_{};
  std::chrono::steady_clock::time_point next_request_check_{};
  std::chrono::steady_clock::time_point next_levels_export_{};
  backoff refused_{backoff_policy{std::chrono::seconds(1), std::chrono::seconds(60)}};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> republished_{0};
  std::atomic<std::uint64_t> retries_requested_{0};
  std::atomic<std::size_t> unsettled_{0};  // settling_ and republishing_, for other threads
  bool stopping_{false};
};

}  // namespace danemq::sender
