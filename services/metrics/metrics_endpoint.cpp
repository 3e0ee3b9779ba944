#include "metrics_endpoint.hpp"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "danemq/config/errors.hpp"

namespace danemq::metrics {

metrics_endpoint::metrics_endpoint() : registry_(std::make_shared<prometheus::Registry>()) {}

metrics_endpoint::~metrics_endpoint() = default;

result<std::unique_ptr<metrics_endpoint>> metrics_endpoint::serve(const std::string& address) {
  std::unique_ptr<metrics_endpoint> endpoint(new metrics_endpoint());
  try {
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return fail(config::errc::invalid_setting, "METRICS_ADDRESS " + address + ": cannot listen: " + e.what());
  }
  endpoint->exposer_->RegisterCollectable(endpoint->registry_);
  return endpoint;
}

}  // namespace danemq::metrics
