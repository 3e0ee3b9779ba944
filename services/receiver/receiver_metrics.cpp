#include "receiver_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "metrics_endpoint.hpp"

namespace danemq::receiver {
namespace {

double seconds_of(std::chrono::system_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

/// DANE discovery's lookups by outcome, and its cache hits. The outcomes
/// are few (dane::errc), so each label's counter is made on first use.
class dns_lookup_metrics final : public dane::lookup_observer {
 public:
  explicit dns_lookup_metrics(std::shared_ptr<prometheus::Registry> registry) : registry_(std::move(registry)) {
    lookups_ = &prometheus::BuildCounter()
                    .Name("danemq_dns_lookups_total")
                    .Help(
                        "TLSA lookups sent to DNS (not answered from the cache), by outcome (ok, nxdomain, "
                        "timeout, bogus, ...)")
                    .Register(*registry_);
    cache_hits_ = &prometheus::BuildCounter()
                       .Name("danemq_dns_cache_hits_total")
                       .Help("TLSA lookups answered from the cache (an identity or a failure still cached)")
                       .Register(*registry_)
                       .Add({});
  }

  void cache_hit() noexcept override { cache_hits_->Increment(); }

  void looked_up(std::error_code outcome) noexcept override {
    try {
      prometheus::Counter* counter = nullptr;
      {
        std::lock_guard lock(mutex_);
        auto& known = by_outcome_[outcome];
        if (known == nullptr) known = &lookups_->Add({{"outcome", std::string(dane::outcome_name(outcome))}});
        counter = known;
      }
      counter->Increment();
    } catch (...) {
      // A metric lost to memory exhaustion is no reason to fail a lookup.
    }
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;  // owns the counters below
  prometheus::Family<prometheus::Counter>* lookups_{};
  prometheus::Counter* cache_hits_{};
  std::mutex mutex_;
  std::map<std::error_code, prometheus::Counter*> by_outcome_;
};

}  // namespace

receiver_metrics::receiver_metrics(std::unique_ptr<metrics::metrics_endpoint> endpoint)
    : endpoint_(std::move(endpoint)) {
  prometheus::Registry& registry = *endpoint_->registry();
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  received_ = &BuildCounter()
                   .Name("danemq_messages_received_total")
                   .Help("Messages received from the broker and stored (copies included)")
                   .Register(registry)
                   .Add({});
  duplicates_ = &BuildCounter()
                     .Name("danemq_messages_duplicate_total")
                     .Help("Messages received again (broker redelivery or identical replay), kept once")
                     .Register(registry)
                     .Add({});
  accepted_ = &BuildCounter()
                   .Name("danemq_messages_accepted_total")
                   .Help("Messages verified and put in the inbox")
                   .Register(registry)
                   .Add({});
  deferred_ = &BuildCounter()
                   .Name("danemq_messages_deferred_total")
                   .Help("Decisions put off for a temporary failure (DNS), retried later")
                   .Register(registry)
                   .Add({});
  quarantined_ = &BuildCounter()
                      .Name("danemq_messages_quarantined_total")
                      .Help("Messages refused, by reason (category:code, as in `quarantine`)")
                      .Register(registry);
  latency_ = &BuildHistogram()
                  .Name("danemq_processing_duration_seconds")
                  .Help("From arrival to the recorded acceptance of a message")
                  .Register(registry)
                  .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                                                   10, 30, 60, 300});
  backlog_ = &BuildGauge()
                  .Name("danemq_backlog_messages")
                  .Help("Stored messages not processed yet")
                  .Register(registry)
                  .Add({});
  connected_ = &BuildGauge()
                    .Name("danemq_broker_connected")
                    .Help("1 when connected to the broker and subscribed")
                    .Register(registry)
                    .Add({});
  reconnects_ = &BuildGauge()
                     .Name("danemq_broker_connection_losses")
                     .Help("Broker connections lost since the start (each followed by a reconnect)")
                     .Register(registry)
                     .Add({});
  takeovers_ = &BuildGauge()
                    .Name("danemq_broker_suspected_takeovers")
                    .Help("Times another client with this client id seemed to take the connection")
                    .Register(registry)
                    .Add({});
  identity_in_sync_ = &BuildGauge()
                           .Name("danemq_identity_in_sync")
                           .Help("1 when DNS publishes the local identity")
                           .Register(registry)
                           .Add({});
  paused_ = &BuildGauge()
                 .Name("danemq_reading_paused")
                 .Help("1 while reading from the broker is paused (backlog full)")
                 .Register(registry)
                 .Add({});
  replay_entries_ = &BuildGauge()
                         .Name("danemq_replay_memory_entries")
                         .Help("(sender, message id) pairs the replay memory holds, expired ones not yet purged")
                         .Register(registry)
                         .Add({});
  dns_observer_ = std::make_shared<dns_lookup_metrics>(endpoint_->registry());
}

receiver_metrics::~receiver_metrics() = default;

result<std::unique_ptr<receiver_metrics>> receiver_metrics::serve(const std::string& address) {
  auto endpoint = metrics::metrics_endpoint::serve(address);
  if (!endpoint) return endpoint.error();
  return std::unique_ptr<receiver_metrics>(new receiver_metrics(std::move(*endpoint)));
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
  replay_entries_->Set(static_cast<double>(now.replay_entries));
}

}  // namespace danemq::receiver
