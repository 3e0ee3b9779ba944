#pragma once
// The Prometheus metrics of `danemq-sender run` (METRICS_ADDRESS; off by
// default), served by a metrics_endpoint: what waits in the outbox and how
// long the oldest has waited, read every OUTBOX_POLL_INTERVAL, and the
// messages delivered.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "danemq/core/result.hpp"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace danemq::metrics {
class metrics_endpoint;
}  // namespace danemq::metrics

namespace danemq::sender {

class sender_metrics {
 public:
  /// Serves /metrics on `address`; failure invalid_setting naming
  /// METRICS_ADDRESS when it cannot listen.
  [[nodiscard]] static result<std::unique_ptr<sender_metrics>> serve(const std::string& address);
  ~sender_metrics();
  sender_metrics(const sender_metrics&) = delete;
  sender_metrics& operator=(const sender_metrics&) = delete;

  /// `oldest_age`: how long the oldest entry has waited; none when empty.
  void outbox(std::size_t entries, std::optional<std::chrono::system_clock::duration> oldest_age);
  void delivered();

 private:
  explicit sender_metrics(std::unique_ptr<metrics::metrics_endpoint> endpoint);

  std::unique_ptr<metrics::metrics_endpoint> endpoint_;
  prometheus::Gauge* outbox_entries_{};
  prometheus::Gauge* oldest_age_{};
  prometheus::Counter* delivered_{};
};

}  // namespace danemq::sender
