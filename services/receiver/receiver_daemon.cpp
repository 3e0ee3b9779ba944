#include "receiver_daemon.hpp"

#include <boost/asio/post.hpp>
#include <filesystem>
#include <ostream>

#include "danemq/config/connections.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/jose/errors.hpp"
#include "danemq/log/log.hpp"
#include "listing.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;

std::filesystem::path database_path(const receiver_settings& settings) {
  return settings.service.data_path / "receiver.db";
}

/// How often the key files are looked at (a stat of six files), and how
/// often DNS is asked whether it still publishes one of our keys.
constexpr std::chrono::seconds key_watch_interval{2};
constexpr std::chrono::seconds dns_recheck_interval{30};

/// Why the identity is not in sync when DNS publishes none of our keys.
std::string no_matching_record(const identity::key_set& keys) {
  return "DNS: no TLSA record of " + keys.name + " matches the local key " + keys.current().paths.key.string() +
         (keys.keys.size() > 1 ? " (nor another key of the rotation)" : "") +
         " (publish the record printed by generate_tlsa)";
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
  spdlog::info("danemq-receiver for {}: broker {} (MQTT {}), QoS {}, data in {}", service.identity_name,
               config::broker_list_text(service.mqtt),
               service.mqtt.protocol == config::mqtt_protocol::v5 ? "5" : "3.1.1", service.mqtt.qos,
               service.data_path.string());
  if (auto plaintext = config::plaintext_broker_warning(service.mqtt)) spdlog::warn("{}", *plaintext);
  if (service.mqtt.qos != 1) {
    spdlog::warn(
        "MQTT_QOS={}: only QoS 1 loses nothing across crashes (QoS 0 is never redelivered; libmosquitto "
        "acknowledges QoS 2 before we can store), see docs/delivery.md",
        service.mqtt.qos);
  }
  if (!settings_.metrics_address.empty()) {
    auto serving = receiver_metrics::serve(settings_.metrics_address);
    if (!serving) {
      spdlog::error("{}", serving.error().detail);
      return exit_failure;
    }
    metrics_ = std::move(*serving);
    spdlog::info("metrics on http://{}/metrics", settings_.metrics_address);
  }
  if (auto prepared = config::prepare_data_path(service); !prepared) {
    spdlog::error("{}", prepared.error().detail);
    return exit_failure;
  }
  auto directory = store::prepare_private_directory(service.data_path);
  if (!directory) {
    spdlog::error("DATA_PATH {}", directory.error().detail);
    return exit_failure;
  }
  if (!directory->empty()) spdlog::warn("DATA_PATH {}", *directory);
  auto opened = store::message_store::open(
      database_path(settings_), {},
      store::message_store_limits{settings_.replay_capacity,
                                  settings_.replay_per_sender,
                                  settings_.max_clock_skew,
                                  {settings_.quarantine_max_age, settings_.quarantine_max_bytes}});
  if (!opened) {
    spdlog::error("cannot open the database {}: {}", database_path(settings_).string(), opened.error().message());
    return exit_failure;
  }
  store_.emplace(std::move(*opened));
  if (dependencies_.peers) {
    peers_ = dependencies_.peers;
  } else {
    auto discovery = config::make_discovery(service, metrics_ ? metrics_->dns_observer() : nullptr);
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
    // Stamped before loading: a change while loading is seen at the next look.
    const auto loaded_stamp = identity::stamp_key_files(settings_.service.crypto_path, settings_.service.identity_name);
    std::shared_ptr<const identity::key_set> loaded;
    auto problem = identity_problem(loaded);
    boost::asio::post(runtime_.io(), [this, problem = std::move(problem), loaded = std::move(loaded), loaded_stamp] {
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
      {
        std::lock_guard lock(reload_mutex_);
        keys_.replace(loaded);
        key_stamp_ = loaded_stamp;
      }
      next_dns_check_ = std::chrono::steady_clock::now() + dns_recheck_interval;
      identity_in_sync_ = true;
      // The line the original's README tells users to wait for.
      spdlog::info("Reading {}", settings_.service.identity_key.key_uri.empty()
                                     ? loaded->current().paths.key.string()
                                     : settings_.service.identity_key.key_uri);
      if (loaded->keys.size() > 1) spdlog::info("key rotation under way: {} keys", loaded->keys.size());
      start_receiving();
      schedule_key_watch();
      watch_hangup();
    });
  });
}

std::string receiver_daemon::identity_problem(std::shared_ptr<const identity::key_set>& loaded) {
  const auto& service = settings_.service;
  // A token that is missing or refuses the PIN is a problem like a missing
  // key file: logged, and tried again with the back-off, never an exit.
  auto local = identity::load_key_set(service.crypto_path, service.identity_name, service.identity_key);
  if (!local) return "local identity in " + service.crypto_path.string() + ": " + local.error().message();
  auto published = peers_->discover(service.identity_name);
  if (!published) return "DNS: " + published.error().message();
  if (!(*published)->dnssec_secure) return "DNS: the TLSA record of " + service.identity_name + " is not DNSSEC-secure";
  for (const auto& key : (*published)->keys) {
    for (const auto& mine : local->keys) {
      if (key.public_key && crypto::same_public_key(*key.public_key, *mine.key)) {
        loaded = std::make_shared<const identity::key_set>(std::move(*local));
        return {};
      }
    }
  }
  return no_matching_record(*local);
}

void receiver_daemon::schedule_key_watch() {
  key_watch_timer_.expires_after(key_watch_interval);
  key_watch_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    bool changed = false;
    {
      std::lock_guard lock(reload_mutex_);
      changed = identity::stamp_key_files(settings_.service.crypto_path, settings_.service.identity_name) != key_stamp_;
    }
    if (changed || std::chrono::steady_clock::now() >= next_dns_check_) recheck_keys(false);
    schedule_key_watch();
  });
}

void receiver_daemon::watch_hangup() {
  hangup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || stopping_) return;
    spdlog::info("SIGHUP: reading the identity's keys again");
    recheck_keys(true);
    watch_hangup();
  });
}

bool receiver_daemon::reload_keys(bool force) {
  const auto& service = settings_.service;
  std::lock_guard lock(reload_mutex_);
  const auto stamp = identity::stamp_key_files(service.crypto_path, service.identity_name);
  if (!force && stamp == key_stamp_) return false;
  auto local = identity::load_key_set(service.crypto_path, service.identity_name, service.identity_key);
  if (!local) {
    // A rotation writes its files one by one: the next look reads them again.
    spdlog::warn("cannot reload the identity's keys, keeping the ones in use: {}", local.error().message());
    return false;
  }
  std::string roles;
  for (const auto& key : local->keys) roles += (roles.empty() ? "" : ", ") + std::string(to_string(key.role));
  keys_.replace(std::make_shared<const identity::key_set>(std::move(*local)));
  key_stamp_ = stamp;
  spdlog::info("identity keys reloaded: {}", roles);
  return true;
}

void receiver_daemon::recheck_keys(bool force_reload) {
  if (rechecking_keys_) return;
  rechecking_keys_ = true;
  next_dns_check_ = std::chrono::steady_clock::now() + dns_recheck_interval;
  boost::asio::post(background_, [this, force_reload] {
    const auto& service = settings_.service;
    (void)reload_keys(force_reload);
    const auto keys = keys_.get();
    std::string dns_problem;
    auto published = peers_->discover(service.identity_name);
    if (!published) {
      dns_problem = "DNS: " + published.error().message();
    } else if (!(*published)->dnssec_secure) {
      dns_problem = "DNS: the TLSA record of " + service.identity_name + " is not DNSSEC-secure";
    } else {
      bool matched = false;
      for (const auto& key : (*published)->keys) {
        for (const auto& mine : keys->keys) {
          matched = matched || (key.public_key && crypto::same_public_key(*key.public_key, *mine.key));
        }
      }
      if (!matched) dns_problem = no_matching_record(*keys);
    }
    boost::asio::post(runtime_.io(), [this, dns_problem] {
      rechecking_keys_ = false;
      if (stopping_) return;
      const bool was_in_sync = identity_in_sync_.exchange(dns_problem.empty());
      if (!dns_problem.empty() && was_in_sync) spdlog::error("identity not in sync: {}", dns_problem);
      if (dns_problem.empty() && !was_in_sync) spdlog::info("identity back in sync with DNS");
      std::lock_guard lock(state_mutex_);
      identity_detail_ = dns_problem.empty() ? std::string() : "identity not in sync: " + dns_problem;
    });
  });
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
  processing.crash_limit = static_cast<int>(settings_.crash_limit);
  processing.unknown_sender_retry_limit = settings_.lookup_retry_limit_unknown;
  processing.answer_receipts = settings_.receipts;
  // The device's sender database, shared with its `danemq-sender run`.
  processing.receipts = std::make_shared<sender_database_book>(service.data_path / "sender.db");
  processing.topic_of = [mqtt = service.mqtt](const std::string& name) { return config::topic_for(mqtt, name); };
  processing.retry = settings_.lookup_retry();
  processor_ = std::make_unique<message_processor>(keys_, *peers_, *store_, processing);
  processor_->set_key_refresh([this] { return reload_keys(false); });
  // Receipts to queue and sent messages to mark delivered that a crash left
  // between the inbox's commit and the sender's database.
  processor_->hand_over();
  pipeline_ = std::make_unique<pipeline>(
      runtime_.io(), *store_, *processor_,
      pipeline_options{settings_.workers, settings_.queue_size, settings_.backlog_limit},
      [this](const processing_outcome& outcome) { on_outcome(outcome); },
      [this](bool paused) {
        if (auto* client = client_view_.load(std::memory_order_acquire)) client->set_paused(paused);
      },
      [this] {
        std::lock_guard lock(out_mutex_);
        out_ << std::flush;
      });
  pipeline_view_.store(pipeline_.get(), std::memory_order_release);
  if (!dependencies_.clock_synchronised) dependencies_.clock_synchronised = system_clock_synchronised;
  if (settings_.require_synced_clock && !dependencies_.clock_synchronised()) {
    // Stored, not judged: a clock days off would refuse good mail for good.
    waiting_for_clock_ = true;
    pipeline_->set_judging(false);
    spdlog::warn(
        "the system clock is not synchronised (adjtimex): messages are stored and judged once it is "
        "(REQUIRE_SYNCED_CLOCK=0 judges them now)");
    std::lock_guard lock(state_mutex_);
    processing_halted_ = "waiting for the system clock to be synchronised (REQUIRE_SYNCED_CLOCK)";
  }
  if (auto started = pipeline_->start(); !started) {
    spdlog::error("cannot read the stored backlog: {}", started.error().message());
    stop_now(exit_failure);
    return;
  }
  auto options = config::mqtt_client_options(service.mqtt, config::client_id_for(service, "receiver"));
  config::use_dane_admission(options, service);
  options.clean_session = false;
  // A longer payload is refused where libmosquitto hands it over, never
  // copied; under MQTT 5 the broker does not even send it.
  options.max_payload = service.max_message_size;
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
    if (message.oversized) {
      const auto& oversized = *message.oversized;
      const auto why =
          fail(jose::errc::too_large, "message of " + std::to_string(oversized.size) + " bytes (MAX_MESSAGE_SIZE " +
                                          std::to_string(settings_.service.max_message_size) + "), not kept; sha256 " +
                                          crypto::to_hex(oversized.digest));
      incoming.back().refused = store::refused_on_arrival{oversized.digest, store::refusal::of(why)};
    }
  }
  auto stored = store_->raw().store_raw(incoming);
  if (!stored) {
    spdlog::error("cannot store {} received messages: {}; not acknowledged, the broker will deliver them again",
                  incoming.size(), stored.error().message());
    return stored.error();
  }
  std::size_t fresh = 0;
  bool quarantined = false;
  for (std::size_t i = 0; i < stored->size(); ++i) {
    const auto& outcome = (*stored)[i];
    if (outcome.duplicate) {
      spdlog::info("message #{} received again (a broker redelivery or an identical replay): kept once",
                   outcome.raw_id);
    } else if (outcome.quarantined) {
      quarantined = true;
      spdlog::warn("message #{} quarantined on arrival: {}", outcome.raw_id, incoming[i].refused->reason.text);
    } else {
      ++fresh;
    }
  }
  if (metrics_) metrics_->received(fresh, stored->size() - fresh);
  pipeline_->notify_stored(fresh);
  if (quarantined) enforce_retention();
  return ok();
}

void receiver_daemon::enforce_retention() {
  auto removed = store_->enforce_retention(clock::now());
  if (!removed) {
    spdlog::warn("cannot apply the quarantine's retention: {}", removed.error().message());
    return;
  }
  for (const auto& one : *removed) {
    spdlog::info("quarantined message #{} (received {}, {} bytes) removed: {}", one.raw_id, iso_time(one.received_at),
                 one.bytes, one.too_old ? "older than QUARANTINE_MAX_AGE" : "over QUARANTINE_MAX_BYTES");
  }
  quarantine_removals_ += removed->size();
}

void receiver_daemon::on_outcome(const processing_outcome& outcome) {
  if (metrics_) {
    if (outcome.what == fate::accepted) metrics_->accepted(clock::now() - outcome.accepted->received_at);
    if (outcome.what == fate::quarantined) {
      const auto reason = store::refusal::of(*outcome.reason);
      metrics_->quarantined(reason.category + ":" + std::to_string(reason.value));
    }
    if (outcome.what == fate::deferred) metrics_->deferred();
  }
  switch (outcome.what) {
    case fate::accepted: {
      const auto& entry = *outcome.accepted;
      {
        std::lock_guard lock(out_mutex_);
        // Flushed once for the transaction's outcomes (after_group below).
        out_ << (settings_.json_output ? inbox_json(entry) : says_line(entry)) << '\n';
      }
      spdlog::debug("message #{} from {} accepted{}", outcome.raw_id, entry.sender, entry.legacy ? " (legacy)" : "");
      std::lock_guard lock(state_mutex_);
      processing_halted_.clear();
      break;
    }
    case fate::receipt:
      spdlog::info("message #{}: receipt from {} for our message {}", outcome.raw_id, outcome.receipt->first,
                   outcome.receipt->second.jti);
      break;
    case fate::quarantined:
      spdlog::warn("message #{} quarantined: {}", outcome.raw_id, outcome.reason->message());
      enforce_retention();
      break;
    case fate::deferred: {
      const bool key_away = outcome.reason->code == make_error_code(jose::errc::key_unavailable);
      spdlog::log(key_away ? spdlog::level::warn : spdlog::level::info, "message #{}: {}; retry {} at {}",
                  outcome.raw_id, outcome.reason->message(), outcome.attempts + 1, iso_time(*outcome.next_attempt));
      if (key_away) {
        // Every message waits for the key: health says so (until one is accepted).
        std::lock_guard lock(state_mutex_);
        processing_halted_ = "identity key unavailable, messages wait: " + outcome.reason->message();
      }
      break;
    }
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

void receiver_daemon::check_clock() {
  if (!waiting_for_clock_ || !dependencies_.clock_synchronised()) return;
  // What arrived meanwhile was stamped by the untrusted clock: it counts as
  // arrived now, which is after its true arrival (it can only look older).
  auto stamped = store_->raw().restamp_untried(clock::now());
  if (!stamped) {
    spdlog::error("cannot restamp the messages stored before the clock was synchronised: {}",
                  stamped.error().message());
    return;
  }
  waiting_for_clock_ = false;
  spdlog::info("the system clock is synchronised: judging the {} stored messages", *stamped);
  {
    std::lock_guard lock(state_mutex_);
    processing_halted_.clear();
  }
  pipeline_->set_judging(true);
}

void receiver_daemon::save_health() {
  if (!store_) return;
  store::service_health health;
  health.connected = client_ && client_->connected();
  health.identity_in_sync = identity_in_sync_;
  health.updated_at = clock::now();
  {
    std::lock_guard lock(state_mutex_);
    health.detail = !identity_in_sync_ && !identity_detail_.empty() ? identity_detail_ : health_detail_;
    health.processing_halted = processing_halted_;
  }
  if (metrics_) {
    receiver_levels levels;
    levels.connected = health.connected;
    levels.identity_in_sync = health.identity_in_sync;
    if (auto stats = statistics()) {
      levels.backlog = stats->backlog;
      levels.paused = stats->paused;
    }
    if (auto mqtt = mqtt_statistics()) {
      levels.reconnects = mqtt->connection_losses;
      levels.suspected_takeovers = mqtt->suspected_takeovers;
    }
    if (store_) {
      if (auto entries = store_->replay().size()) levels.replay_entries = *entries;
    }
    metrics_->levels(levels);
  }
  if (stopping_) {
    health.connected = false;
    health.detail = "stopped";
  }
  if (auto saved = store_->health().save(health); !saved) {
    spdlog::warn("cannot record health: {}", saved.error().message());
  }
  // Nothing is removed by a clock that cannot be trusted yet.
  if (waiting_for_clock_) return;
  enforce_retention();  // the age bound, also while nothing is quarantined
  // Keeps the replay memory down to the entries that still matter.
  if (auto purged = store_->replay().purge(health.updated_at); !purged) {
    spdlog::warn("cannot purge the replay memory: {}", purged.error().message());
  }
}

void receiver_daemon::schedule_health() {
  health_timer_.expires_after(settings_.health_interval);
  health_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    check_clock();
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
  key_watch_timer_.cancel();
  boost::system::error_code ignored;
  hangup_.cancel(ignored);
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
