#pragma once
// The Prometheus endpoint of a long-running daemon (METRICS_ADDRESS; off by
// default): prometheus-cpp's pull exporter (civetweb) serving one registry on
// /metrics. Each daemon registers its own metrics in registry().

#include <memory>
#include <string>

#include "danemq/core/result.hpp"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace danemq::metrics {

class metrics_endpoint {
 public:
  /// Serves /metrics on `address` ("127.0.0.1:9464", "[::1]:9464").
  /// Failure invalid_setting naming METRICS_ADDRESS when it cannot listen.
  [[nodiscard]] static result<std::unique_ptr<metrics_endpoint>> serve(const std::string& address);
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;

  /// Where the daemon's metrics are built; shared so that an observer handed
  /// to a library keeps its counters alive.
  [[nodiscard]] const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }

 private:
  metrics_endpoint();

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace danemq::metrics
