#pragma once
// The receiver's Prometheus endpoint (METRICS_ADDRESS; off by default):
// prometheus-cpp's pull exporter (civetweb) serves a registry that the daemon
// updates as messages are stored and decided, and at each health record for
// what is a level rather than an event (backlog, connection, identity).
// Metric names follow Prometheus' conventions: danemq_..._total counters,
// seconds, no unit in a gauge of things.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "danemq/core/result.hpp"

namespace prometheus {
class Exposer;
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace danemq::receiver {

/// The levels read at each health record.
struct receiver_levels {
  std::size_t backlog{0};
  bool connected{false};
  std::uint64_t reconnects{0};  ///< connection losses so far
  std::uint64_t suspected_takeovers{0};
  bool identity_in_sync{false};
  bool paused{false};
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

 private:
  receiver_metrics();

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
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
  std::mutex quarantine_mutex_;  // Family::Add is thread-safe; the map of children is ours
  std::map<std::string, prometheus::Counter*> quarantine_reasons_;
};

}  // namespace danemq::receiver
