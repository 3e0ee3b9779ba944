#pragma once
// The receiver's Prometheus metrics (METRICS_ADDRESS; off by default), served
// by a metrics_endpoint: the daemon updates them as messages are stored and
// decided, at each health record for what is a level rather than an event
// (backlog, connection, identity, replay memory), and DANE discovery counts
// its lookups through dns_observer().
// Metric names follow Prometheus' conventions: danemq_..._total counters,
// seconds, no unit in a gauge of things.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "danemq/core/result.hpp"
#include "danemq/dane/lookup_observer.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace danemq::metrics {
class metrics_endpoint;
}  // namespace danemq::metrics

namespace danemq::receiver {

/// The levels read at each health record.
struct receiver_levels {
  std::size_t backlog{0};
  bool connected{false};
  std::uint64_t reconnects{0};  ///< connection losses so far
  std::uint64_t suspected_takeovers{0};
  bool identity_in_sync{false};
  bool paused{false};
  std::size_t replay_entries{0};  ///< (sender, id) pairs the replay memory holds
};

class receiver_metrics {
 public:
  /// Serves /metrics on `address` ("127.0.0.1:9464", "[::1]:9464").
  /// Failure invalid_setting naming METRICS_ADDRESS when it cannot listen.
  [[nodiscard]] static result<std::unique_ptr<receiver_metrics>> serve(const std::string& address);
  ~receiver_metrics();
  receiver_metrics(const receiver_metrics&) = delete;
  receiver_metrics& operator=(const receiver_metrics&) = delete;

  // From any thread.
  void received(std::size_t fresh, std::size_t duplicates);
  void accepted(std::chrono::system_clock::duration since_arrival);
  /// `reason`: "category:code", as the quarantine listing shows it.
  void quarantined(const std::string& reason);
  void deferred();
  void levels(const receiver_levels& now);
  /// Counts DANE discovery's lookups by outcome and its cache hits (hand it
  /// to dane::discovery::observe); it outlives this object if need be.
  [[nodiscard]] std::shared_ptr<dane::lookup_observer> dns_observer() const { return dns_observer_; }

 private:
  explicit receiver_metrics(std::unique_ptr<metrics::metrics_endpoint> endpoint);

  std::unique_ptr<metrics::metrics_endpoint> endpoint_;
  prometheus::Counter* received_{};
  prometheus::Counter* duplicates_{};
  prometheus::Counter* accepted_{};
  prometheus::Counter* deferred_{};
  prometheus::Family<prometheus::Counter>* quarantined_{};
  prometheus::Histogram* latency_{};
  prometheus::Gauge* backlog_{};
  prometheus::Gauge* connected_{};
  prometheus::Gauge* reconnects_{};
  prometheus::Gauge* takeovers_{};
  prometheus::Gauge* identity_in_sync_{};
  prometheus::Gauge* paused_{};
  prometheus::Gauge* replay_entries_{};
  std::shared_ptr<dane::lookup_observer> dns_observer_;
  std::mutex quarantine_mutex_;  // Family::Add is thread-safe; the map of children is ours
  std::map<std::string, prometheus::Counter*> quarantine_reasons_;
};

}  // namespace danemq::receiver
