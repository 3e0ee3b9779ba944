#include "receiver_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "danemq/config/errors.hpp"

namespace danemq::receiver {
namespace {

double seconds_of(std::chrono::system_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

receiver_metrics::receiver_metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  received_ = &BuildCounter()
                   .Name("danemq_messages_received_total")
                   .Help("Messages received from the broker and stored (copies included)")
                   .Register(*registry_)
                   .Add({});
  duplicates_ = &BuildCounter()
                     .Name("danemq_messages_duplicate_total")
                     .Help("Messages received again (broker redelivery or identical replay), kept once")
                     .Register(*registry_)
                     .Add({});
  accepted_ = &BuildCounter()
                   .Name("danemq_messages_accepted_total")
                   .Help("Messages verified and put in the inbox")
                   .Register(*registry_)
                   .Add({});
  deferred_ = &BuildCounter()
                   .Name("danemq_messages_deferred_total")
                   .Help("Decisions put off for a temporary failure (DNS), retried later")
                   .Register(*registry_)
                   .Add({});
  quarantined_ = &BuildCounter()
                      .Name("danemq_messages_quarantined_total")
                      .Help("Messages refused, by reason (category:code, as in `quarantine`)")
                      .Register(*registry_);
  latency_ = &BuildHistogram()
                  .Name("danemq_processing_duration_seconds")
                  .Help("From arrival to the recorded acceptance of a message")
                  .Register(*registry_)
                  .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                                                   10, 30, 60, 300});
  backlog_ = &BuildGauge()
                  .Name("danemq_backlog_messages")
                  .Help("Stored messages not processed yet")
                  .Register(*registry_)
                  .Add({});
  connected_ = &BuildGauge()
                    .Name("danemq_broker_connected")
                    .Help("1 when connected to the broker and subscribed")
                    .Register(*registry_)
                    .Add({});
  reconnects_ = &BuildGauge()
                     .Name("danemq_broker_connection_losses")
                     .Help("Broker connections lost since the start (each followed by a reconnect)")
                     .Register(*registry_)
                     .Add({});
  takeovers_ = &BuildGauge()
                    .Name("danemq_broker_suspected_takeovers")
                    .Help("Times another client with this client id seemed to take the connection")
                    .Register(*registry_)
                    .Add({});
  identity_in_sync_ = &BuildGauge()
                           .Name("danemq_identity_in_sync")
                           .Help("1 when DNS publishes the local identity")
                           .Register(*registry_)
                           .Add({});
  paused_ = &BuildGauge()
                 .Name("danemq_reading_paused")
                 .Help("1 while reading from the broker is paused (backlog full)")
                 .Register(*registry_)
                 .Add({});
}

receiver_metrics::~receiver_metrics() = default;

result<std::unique_ptr<receiver_metrics>> receiver_metrics::serve(const std::string& address) {
  std::unique_ptr<receiver_metrics> metrics(new receiver_metrics());
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return fail(config::errc::invalid_setting, "METRICS_ADDRESS " + address + ": cannot listen: " + e.what());
  }
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  return metrics;
}

void receiver_metrics::received(std::size_t fresh, std::size_t duplicates) {
  received_->Increment(static_cast<double>(fresh + duplicates));
  duplicates_->Increment(static_cast<double>(duplicates));
}

void receiver_metrics::accepted(std::chrono::system_clock::duration since_arrival) {
  accepted_->Increment();
  latency_->Observe(seconds_of(since_arrival));
}

void receiver_metrics::quarantined(const std::string& reason) {
  prometheus::Counter* counter = nullptr;
  {
    std::lock_guard lock(quarantine_mutex_);
    auto& known = quarantine_reasons_[reason];
    if (known == nullptr) known = &quarantined_->Add({{"reason", reason}});
    counter = known;
  }
  counter->Increment();
}

void receiver_metrics::deferred() {
  deferred_->Increment();
}

void receiver_metrics::levels(const receiver_levels& now) {
  backlog_->Set(static_cast<double>(now.backlog));
  connected_->Set(now.connected ? 1 : 0);
  reconnects_->Set(static_cast<double>(now.reconnects));
  takeovers_->Set(static_cast<double>(now.suspected_takeovers));
  identity_in_sync_->Set(now.identity_in_sync ? 1 : 0);
  paused_->Set(now.paused ? 1 : 0);
}

}  // namespace danemq::receiver
