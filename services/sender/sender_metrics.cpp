#include "sender_metrics.hpp"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "metrics_endpoint.hpp"

namespace danemq::sender {

sender_metrics::sender_metrics(std::unique_ptr<metrics::metrics_endpoint> endpoint) : endpoint_(std::move(endpoint)) {
  prometheus::Registry& registry = *endpoint_->registry();
  outbox_entries_ = &prometheus::BuildGauge()
                         .Name("danemq_outbox_messages")
                         .Help("Encrypted messages waiting in the outbox for the broker's acknowledgement")
                         .Register(registry)
                         .Add({});
  oldest_age_ = &prometheus::BuildGauge()
                     .Name("danemq_outbox_oldest_age_seconds")
                     .Help("How long the oldest outbox message has waited since it was sealed; 0 when empty")
                     .Register(registry)
                     .Add({});
  delivered_ = &prometheus::BuildCounter()
                    .Name("danemq_outbox_delivered_total")
                    .Help("Outbox messages acknowledged by the broker and removed from the outbox")
                    .Register(registry)
                    .Add({});
}

sender_metrics::~sender_metrics() = default;

result<std::unique_ptr<sender_metrics>> sender_metrics::serve(const std::string& address) {
  auto endpoint = metrics::metrics_endpoint::serve(address);
  if (!endpoint) return endpoint.error();
  return std::unique_ptr<sender_metrics>(new sender_metrics(std::move(*endpoint)));
}

void sender_metrics::outbox(std::size_t entries, std::optional<std::chrono::system_clock::duration> oldest_age) {
  outbox_entries_->Set(static_cast<double>(entries));
  oldest_age_->Set(oldest_age ? std::max(0.0, std::chrono::duration<double>(*oldest_age).count()) : 0.0);
}

void sender_metrics::delivered() {
  delivered_->Increment();
}

}  // namespace danemq::sender
