#include "receiver_daemon.hpp"

#include <boost/asio/post.hpp>
#include <filesystem>
#include <ostream>

#include "danemq/config/connections.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/log/log.hpp"
#include "listing.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;

std::filesystem::path database_path(const receiver_settings& settings) {
  return settings.service.data_path / "receiver.db";
}

std::string describe_wait(std::chrono::milliseconds delay) {
  const auto tenths = delay.count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

}  // namespace

receiver_daemon::receiver_daemon(receiver_settings settings, std::ostream& out, receiver_dependencies dependencies)
    : settings_(std::move(settings)),
      out_(out),
      dependencies_(std::move(dependencies)),
      identity_retry_(backoff_policy{settings_.identity_retry_delay, std::chrono::seconds(60)}) {}

receiver_daemon::~receiver_daemon() {
  background_.stop();
  background_.join();
  if (client_) client_->stop(std::chrono::milliseconds(500));
  pipeline_view_.store(nullptr, std::memory_order_release);
  pipeline_.reset();
}

int receiver_daemon::run() {
  const auto& service = settings_.service;
  spdlog::info("danemq-receiver for {}: broker {}:{} (MQTT {}), QoS {}, data in {}", service.identity_name,
               service.mqtt.host, service.mqtt.port, service.mqtt.protocol == config::mqtt_protocol::v5 ? "5" : "3.1.1",
               service.mqtt.qos, service.data_path.string());
  if (auto plaintext = config::plaintext_broker_warning(service.mqtt)) spdlog::warn("{}", *plaintext);
  if (service.mqtt.qos != 1) {
    spdlog::warn(
        "MQTT_QOS={}: only QoS 1 loses nothing across crashes (QoS 0 is never redelivered; libmosquitto "
        "acknowledges QoS 2 before we can store), see docs/delivery.md",
        service.mqtt.qos);
  }
  auto directory = store::prepare_private_directory(service.data_path);
  if (!directory) {
    spdlog::error("DATA_PATH {}", directory.error().detail);
    return exit_failure;
  }
  if (!directory->empty()) spdlog::warn("DATA_PATH {}", *directory);
  auto opened = store::message_store::open(
      database_path(settings_), {},
      store::message_store_limits{settings_.replay_capacity, settings_.replay_per_sender, settings_.max_clock_skew});
  if (!opened) {
    spdlog::error("cannot open the database {}: {}", database_path(settings_).string(), opened.error().message());
    return exit_failure;
  }
  store_.emplace(std::move(*opened));
  if (dependencies_.peers) {
    peers_ = dependencies_.peers;
  } else {
    auto discovery = config::make_discovery(service);
    if (!discovery) {
      spdlog::error("{}", discovery.error().message());
      return exit_failure;
    }
    peers_ = *discovery;
  }
  runtime_.on_stop([this](int signal) {
    if (signal != 0) spdlog::info("signal {}: stopping", signal);
    wind_down();
  });
  {
    std::lock_guard lock(state_mutex_);
    health_detail_ = "checking the identity";
  }
  save_health();
  schedule_health();
  boost::asio::post(runtime_.io(), [this] { check_identity(); });
  (void)runtime_.run();
  return exit_code_;
}

void receiver_daemon::request_stop() {
  runtime_.request_stop();
}

bool receiver_daemon::receiving() const {
  const auto* client = client_view_.load(std::memory_order_acquire);
  return identity_in_sync_ && client != nullptr && client->connected();
}

std::optional<pipeline_statistics> receiver_daemon::statistics() const {
  const auto* running = pipeline_view_.load(std::memory_order_acquire);
  if (running == nullptr) return std::nullopt;
  return running->statistics();
}

std::optional<mqtt::client_statistics> receiver_daemon::mqtt_statistics() const {
  const auto* client = client_view_.load(std::memory_order_acquire);
  if (client == nullptr) return std::nullopt;
  return client->statistics();
}

void receiver_daemon::check_identity() {
  if (stopping_) return;
  // DNS may take seconds: off the io thread, so that a signal is still served.
  boost::asio::post(background_, [this] {
    auto problem = identity_problem();
    boost::asio::post(runtime_.io(), [this, problem = std::move(problem)] {
      if (stopping_) return;
      if (!problem.empty()) {
        const auto delay = identity_retry_.next();
        spdlog::warn("identity {} not ready: {}; checking again in {}", settings_.service.identity_name, problem,
                     describe_wait(delay));
        {
          std::lock_guard lock(state_mutex_);
          health_detail_ = "identity not in sync: " + problem;
        }
        save_health();
        identity_timer_.expires_after(delay);
        identity_timer_.async_wait([this](const boost::system::error_code& ec) {
          if (!ec) check_identity();
        });
        return;
      }
      identity_in_sync_ = true;
      // The line the original's README tells users to wait for.
      spdlog::info("Reading {}", me_->paths.key.string());
      start_receiving();
    });
  });
}

std::string receiver_daemon::identity_problem() {
  const auto& service = settings_.service;
  auto local = identity::load_local_identity(service.crypto_path, service.identity_name);
  if (!local) return "local identity in " + service.crypto_path.string() + ": " + local.error().message();
  auto published = peers_->discover(service.identity_name);
  if (!published) return "DNS: " + published.error().message();
  if (!(*published)->dnssec_secure) return "DNS: the TLSA record of " + service.identity_name + " is not DNSSEC-secure";
  for (const auto& key : (*published)->keys) {
    if (key.public_key && crypto::same_public_key(*key.public_key, *local->key)) {
      me_.emplace(std::move(*local));
      return {};
    }
  }
  return "DNS: no TLSA record of " + service.identity_name + " matches the local key " + local->paths.key.string() +
         " (publish the record printed by generate_tlsa)";
}

void receiver_daemon::start_receiving() {
  const auto& service = settings_.service;
  processor_options processing;
  processing.open.max_message_size = service.max_message_size;
  processing.open.max_plaintext_size = service.max_message_size;
  processing.open.accept_legacy = settings_.accept_legacy;
  processing.open.allowed_senders = settings_.allowed_senders;
  processing.open.max_age = settings_.max_age;
  processing.open.max_clock_skew = settings_.max_clock_skew;
  processing.retry_limit = settings_.lookup_retry_limit;
  processing.unknown_sender_retry_limit = settings_.lookup_retry_limit_unknown;
  processing.retry = settings_.lookup_retry();
  processor_ = std::make_unique<message_processor>(*me_, *peers_, *store_, processing);
  pipeline_ = std::make_unique<pipeline>(
      runtime_.io(), *store_, *processor_,
      pipeline_options{settings_.workers, settings_.queue_size, settings_.backlog_limit},
      [this](const processing_outcome& outcome) { on_outcome(outcome); },
      [this](bool paused) {
        if (auto* client = client_view_.load(std::memory_order_acquire)) client->set_paused(paused);
      });
  pipeline_view_.store(pipeline_.get(), std::memory_order_release);
  if (auto started = pipeline_->start(); !started) {
    spdlog::error("cannot read the stored backlog: {}", started.error().message());
    stop_now(exit_failure);
    return;
  }
  auto options = config::mqtt_client_options(service.mqtt, config::client_id_for(service, "receiver"));
  options.clean_session = false;
  options.subscriptions = {{config::topic_for(service.mqtt, service.identity_name), service.mqtt.qos}};
  client_ = std::make_unique<mqtt::client>(
      options, [this](std::vector<mqtt::message>& batch) { return store_batch(batch); },
      [this](const mqtt::connection_event& event) {
        std::lock_guard lock(state_mutex_);
        health_detail_ = event.connected ? "" : "broker: " + event.reason;
      });
  client_view_.store(client_.get(), std::memory_order_release);
  if (pipeline_->statistics().paused) client_->set_paused(true);
  if (auto started = client_->start(); !started) {
    spdlog::error("MQTT: {}", started.error().message());
    stop_now(exit_failure);
    return;
  }
  spdlog::info("subscribing to {} as {}", options.subscriptions.front().topic, options.client_id);
}

result<void> receiver_daemon::store_batch(std::vector<mqtt::message>& batch) {
  std::vector<store::incoming_message> incoming;
  incoming.reserve(batch.size());
  const auto now = clock::now();
  for (auto& message : batch) {
    incoming.push_back(store::incoming_message{std::move(message.topic), std::move(message.payload), now});
  }
  auto stored = store_->raw().store_raw(incoming);
  if (!stored) {
    spdlog::error("cannot store {} received messages: {}; not acknowledged, the broker will deliver them again",
                  incoming.size(), stored.error().message());
    return stored.error();
  }
  std::size_t fresh = 0;
  for (const auto& outcome : *stored) {
    if (outcome.duplicate) {
      spdlog::info("message #{} received again (a broker redelivery or an identical replay): kept once",
                   outcome.raw_id);
    } else {
      ++fresh;
    }
  }
  pipeline_->notify_stored(fresh);
  return ok();
}

void receiver_daemon::on_outcome(const processing_outcome& outcome) {
  switch (outcome.what) {
    case fate::accepted: {
      const auto& entry = *outcome.accepted;
      {
        std::lock_guard lock(out_mutex_);
        out_ << (settings_.json_output ? inbox_json(entry) : says_line(entry)) << '\n' << std::flush;
      }
      spdlog::debug("message #{} from {} accepted{}", outcome.raw_id, entry.sender, entry.legacy ? " (legacy)" : "");
      std::lock_guard lock(state_mutex_);
      processing_halted_.clear();
      break;
    }
    case fate::quarantined:
      spdlog::warn("message #{} quarantined: {}", outcome.raw_id, outcome.reason->message());
      break;
    case fate::deferred:
      spdlog::info("message #{}: {}; retry {} at {}", outcome.raw_id, outcome.reason->message(), outcome.attempts + 1,
                   iso_time(*outcome.next_attempt));
      break;
    case fate::unchanged:
      spdlog::error("message #{}: could not record the outcome: {}; it stays stored and is processed again",
                    outcome.raw_id, outcome.reason ? outcome.reason->message() : std::string("unknown"));
      // Fails closed: nothing is accepted without its replay entry, nothing
      // dropped; health says why until a message gets through again.
      if (outcome.reason && outcome.reason->code == make_error_code(store::errc::full)) {
        std::lock_guard lock(state_mutex_);
        processing_halted_ = outcome.reason->message() + " (raise REPLAY_MEMORY_SIZE)";
      }
      break;
  }
}

void receiver_daemon::save_health() {
  if (!store_) return;
  store::service_health health;
  health.connected = client_ && client_->connected();
  health.identity_in_sync = identity_in_sync_;
  health.updated_at = clock::now();
  {
    std::lock_guard lock(state_mutex_);
    health.detail = health_detail_;
    health.processing_halted = processing_halted_;
  }
  if (stopping_) {
    health.connected = false;
    health.detail = "stopped";
  }
  if (auto saved = store_->health().save(health); !saved) {
    spdlog::warn("cannot record health: {}", saved.error().message());
  }
  // Keeps the replay memory down to the entries that still matter.
  if (auto purged = store_->replay().purge(health.updated_at); !purged) {
    spdlog::warn("cannot purge the replay memory: {}", purged.error().message());
  }
}

void receiver_daemon::schedule_health() {
  health_timer_.expires_after(settings_.health_interval);
  health_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    save_health();
    if (pipeline_) pipeline_->rescan();
    schedule_health();
  });
}

void receiver_daemon::stop_now(int code) {
  if (!runtime_.stopping()) exit_code_ = code;
  runtime_.begin_stop();
}

void receiver_daemon::wind_down() {
  stopping_ = true;
  const auto deadline = runtime_.deadline();
  identity_timer_.cancel();
  health_timer_.cancel();
  // First stop reading: what was stored gets its PUBACK, nothing new comes in.
  if (client_) client_->stop(std::min<std::chrono::milliseconds>(settings_.stop_grace / 3, std::chrono::seconds(1)));
  if (pipeline_) {
    const auto left =
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()),
                 std::chrono::milliseconds(100));
    if (!pipeline_->stop(left)) {
      left_work_behind_ = true;
      spdlog::warn("messages still in processing stay stored and are processed at the next start");
    }
  }
  save_health();
  spdlog::info("stopped");
  runtime_.finish();
}

}  // namespace danemq::receiver
