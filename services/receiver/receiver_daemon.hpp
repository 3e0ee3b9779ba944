#pragma once
// The receiver daemon: checks that its identity in DNS matches its local key
// (retrying with back-off until it does, then logging `Reading
// <CRYPTO_PATH>/<name>.key.pem`), subscribes with a persistent session,
// stores every message raw before the broker is acknowledged, and processes
// stored messages on a worker pool (pipeline.hpp). SIGTERM/SIGINT: stops
// reading, acknowledges what is stored, finishes or leaves pending what is in
// flight, exits 0 within STOP_GRACE. The identity's keys (key_set.hpp) are
// re-read on SIGHUP and when their files change, swapped in whole, and
// checked against DNS again: health says when no local key matches what DNS
// publishes.

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <csignal>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "clock_status.hpp"
#include "danemq/core/backoff.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/key_set.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/runtime/service_runtime.hpp"
#include "danemq/store/message_store.hpp"
#include "message_processor.hpp"
#include "pipeline.hpp"
#include "receiver_metrics.hpp"
#include "receiver_settings.hpp"

namespace danemq::receiver {

/// Exit codes of danemq-receiver (documented in the README).
enum exit_code : int {
  exit_success = 0,
  exit_failure = 1,  ///< usage, a missing or invalid setting, a database that cannot be opened; `health`: unhealthy
};

/// What tests replace: where peers' keys come from (null: DANE discovery as configured).
struct receiver_dependencies {
  std::shared_ptr<dane::identity_source> peers{};
  /// Install the logger from LOG_FORMAT/LOG_LEVEL. Tests that run an app
  /// beside threads already logging pass false: replacing spdlog's default
  /// logger is not safe while other threads use it.
  bool configure_logging{true};
  /// Whether the system clock is synchronised (null: the kernel's adjtimex status).
  clock_status clock_synchronised{};
};

class receiver_daemon {
 public:
  receiver_daemon(receiver_settings settings, std::ostream& out, receiver_dependencies dependencies = {});
  ~receiver_daemon();
  receiver_daemon(const receiver_daemon&) = delete;
  receiver_daemon& operator=(const receiver_daemon&) = delete;

  /// Runs until request_stop(), SIGTERM or SIGINT; returns the exit code.
  int run();
  /// From any thread.
  void request_stop();

  /// True once subscribed with the identity in sync.
  [[nodiscard]] bool receiving() const;
  /// True when stop() had to leave messages in processing (they stay stored):
  /// the caller should exit without waiting for those threads.
  [[nodiscard]] bool left_work_behind() const { return left_work_behind_; }
  [[nodiscard]] std::optional<pipeline_statistics> statistics() const;
  [[nodiscard]] std::optional<mqtt::client_statistics> mqtt_statistics() const;
  /// Quarantined messages removed by QUARANTINE_MAX_AGE / QUARANTINE_MAX_BYTES since the start.
  [[nodiscard]] std::uint64_t quarantine_removals() const { return quarantine_removals_.load(); }

 private:
  void check_identity();
  /// Loads the key set and compares it with DNS; on success `loaded` holds the set.
  [[nodiscard]] std::string identity_problem(std::shared_ptr<const identity::key_set>& loaded);
  /// Every few seconds (and on SIGHUP): reloads the keys when their files
  /// changed, and re-checks DNS now and then.
  void schedule_key_watch();
  void watch_hangup();
  void recheck_keys(bool force_reload);
  /// Loads the key set again when its files changed since the last load (or
  /// always with `force`) and swaps it in; true when it did. Any thread.
  bool reload_keys(bool force);
  void start_receiving();
  [[nodiscard]] result<void> store_batch(std::vector<mqtt::message>& batch);
  void on_outcome(const processing_outcome& outcome);
  /// Applies the quarantine's retention and logs each removal.
  void enforce_retention();
  /// While waiting for the system clock: judges the stored messages once it is synchronised.
  void check_clock();
  void save_health();
  void schedule_health();
  /// Begins the stop (once) with this exit code.
  void stop_now(int code);
  /// The stop itself, on the io thread, within STOP_GRACE.
  void wind_down();

  receiver_settings settings_;
  std::ostream& out_;
  std::mutex out_mutex_;
  receiver_dependencies dependencies_;

  runtime::service_runtime runtime_{settings_.stop_grace};
  boost::asio::steady_timer identity_timer_{runtime_.io()};
  boost::asio::steady_timer health_timer_{runtime_.io()};
  boost::asio::steady_timer key_watch_timer_{runtime_.io()};
  boost::asio::signal_set hangup_{runtime_.io(), SIGHUP};
  boost::asio::thread_pool background_{1};  // blocking start-up checks (DNS) off the io thread
  backoff identity_retry_;

  std::optional<store::message_store> store_;
  std::shared_ptr<dane::identity_source> peers_;
  identity::shared_key_set keys_;
  std::mutex reload_mutex_;
  identity::key_files_stamp key_stamp_{};                   // guarded by reload_mutex_: the files of the set in use
  std::chrono::steady_clock::time_point next_dns_check_{};  // io thread only
  bool rechecking_keys_{false};                             // io thread only
  std::unique_ptr<message_processor> processor_;
  std::unique_ptr<pipeline> pipeline_;
  std::unique_ptr<mqtt::client> client_;
  // The two above, published once built for the threads that only look at
  // them (the pipeline's pause handler, receiving(), the statistics): the
  // io thread assigns the unique_ptrs while those may run.
  std::atomic<pipeline*> pipeline_view_{nullptr};
  std::atomic<mqtt::client*> client_view_{nullptr};

  std::unique_ptr<receiver_metrics> metrics_;  // METRICS_ADDRESS; null when off
  std::atomic<bool> stopping_{false};
  std::atomic<bool> identity_in_sync_{false};
  std::atomic<bool> left_work_behind_{false};
  std::atomic<std::uint64_t> quarantine_removals_{0};
  std::atomic<bool> waiting_for_clock_{false};  // REQUIRE_SYNCED_CLOCK: nothing judged until it is synchronised
  mutable std::mutex state_mutex_;
  std::string health_detail_;
  std::string identity_detail_;    // guarded by state_mutex_: why the keys no longer match DNS
  std::string processing_halted_;  // guarded by state_mutex_: why stored messages wait unprocessed
  int exit_code_{exit_success};
};

}  // namespace danemq::receiver
