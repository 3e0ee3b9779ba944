#include "outbox_runner.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <iterator>
#include <limits>
#include <optional>
#include <vector>

#include "danemq/config/connections.hpp"
#include "danemq/log/log.hpp"
#include "sender_app.hpp"

namespace danemq::sender {

std::filesystem::path outbox_path(const sender_settings& settings) {
  return settings.service.data_path / "sender.db";
}

outbox_runner::outbox_runner(sender_settings settings, store::outbox& outbox)
    : settings_(std::move(settings)), outbox_(outbox) {}

outbox_runner::~outbox_runner() {
  if (client_) client_->stop(std::chrono::milliseconds(500));
}

int outbox_runner::run() {
  if (!settings_.metrics_address.empty()) {
    auto serving = sender_metrics::serve(settings_.metrics_address);
    if (!serving) {
      spdlog::error("{}", serving.error().detail);
      return exit_usage;
    }
    metrics_ = std::move(*serving);
    spdlog::info("metrics on http://{}/metrics", settings_.metrics_address);
  }
  auto options =
      config::mqtt_client_options(settings_.service.mqtt, config::client_id_for(settings_.service, "sender"));
  config::use_dane_admission(options, settings_.service);
  // Nothing to resume on the broker: unacknowledged messages are in the outbox.
  options.clean_session = true;
  options.max_inflight = std::max(settings_.window, 1U);
  client_ = std::make_unique<mqtt::client>(
      options, [](std::vector<mqtt::message>&) { return ok(); },
      [this](const mqtt::connection_event&) {
        // Connected: publish what waits; lost: what settles may need publishing again.
        boost::asio::post(runtime_.io(), [this] {
          if (!stopping_) pump();
        });
      });
  if (auto started = client_->start(); !started) {
    spdlog::error("MQTT: {}", started.error().message());
    return exit_usage;
  }
  auto waiting = outbox_.size();
  spdlog::info("danemq-sender run: delivering the outbox {} ({} waiting) to {}", outbox_path(settings_).string(),
               waiting ? *waiting : 0, config::broker_list_text(settings_.service.mqtt));
  if (auto plaintext = config::plaintext_broker_warning(settings_.service.mqtt)) spdlog::warn("{}", *plaintext);
  runtime_.on_stop([this](int signal) { begin_stop(signal); }, [this] { finish_stop(); });
  boost::asio::post(runtime_.io(), [this] {
    if (!stopping_) pump();
  });
  (void)runtime_.run();
  return exit_success;
}

void outbox_runner::request_stop() {
  runtime_.request_stop();
}

outbox_runner::publishing outbox_runner::publish(store::outbox_entry entry, bool again) {
  publishing out;
  out.losses_at_send = client_->statistics().connection_losses;
  auto payload = settings_.settle.count() > 0 ? entry.payload : std::move(entry.payload);
  const auto id = entry.id;
  client_->publish(entry.topic, std::move(payload), settings_.service.mqtt.qos, false, runtime_.executor(),
                   [this, id, again](const result<void>& outcome) {
                     if (again) {
                       on_acknowledged_again(id, outcome);
                     } else {
                       on_acknowledged(id, outcome);
                     }
                   });
  out.entry = std::move(entry);
  return out;
}

void outbox_runner::on_acknowledged(std::int64_t id, const result<void>& outcome) {
  // An entry leaves the outbox only after its PUBACK.
  const auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  if (stopping_) {
    if (outcome) {
      (void)outbox_.remove(id);
      ++delivered_;
      if (metrics_) metrics_->delivered();
    }
    in_flight_.erase(it);
    if (in_flight_.empty() && std::all_of(republishing_.begin(), republishing_.end(),
                                          [](const auto& pending) { return pending.second.answered; })) {
      finish_stop();
    }
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (outcome) {
    if (auto removed = outbox_.remove(id); !removed) {
      spdlog::error("outbox entry #{} delivered but not removed: {}", id, removed.error().message());
    }
    refused_.reset();
    past_horizon_.erase(id);
    spdlog::info("outbox entry #{} delivered", id);
    if (settings_.settle.count() > 0) {
      settling_[id] = settling{std::move(it->second.entry), it->second.losses_at_send, now + settings_.settle};
      unsettled_ = settling_.size() + republishing_.size();
    }
    // Counted once it is settling: whoever sees it delivered sees it unsettled.
    ++delivered_;
    if (metrics_) metrics_->delivered();
  } else {
    (void)outbox_.note_attempt(id, outcome.error().message());
    const auto delay = refused_.next();
    hold_until_ = now + delay;
    spdlog::warn("outbox entry #{} not delivered: {}; trying again in {} ms", id, outcome.error().message(),
                 delay.count());
  }
  in_flight_.erase(it);
  pump();
}

void outbox_runner::on_acknowledged_again(std::int64_t id, const result<void>& outcome) {
  const auto it = republishing_.find(id);
  if (it == republishing_.end()) return;
  if (stopping_) {
    it->second.answered = true;
    it->second.acknowledged = outcome.has_value();
    if (in_flight_.empty() && std::all_of(republishing_.begin(), republishing_.end(),
                                          [](const auto& pending) { return pending.second.answered; })) {
      finish_stop();
    }
    return;
  }
  if (!outcome) {
    spdlog::warn("outbox entry #{} not delivered again: {}; trying once more", id, outcome.error().message());
  }
  // Acknowledged: it settles anew. Refused: a loss count that cannot match publishes it again.
  settling_[id] = settling{std::move(it->second.entry),
                           outcome ? it->second.losses_at_send : std::numeric_limits<std::uint64_t>::max(),
                           std::chrono::steady_clock::now() + settings_.settle};
  republishing_.erase(it);
  pump();
}

void outbox_runner::pump() {
  take_retry_request();
  settle();
  note_past_horizon();
  fill();
  export_levels();
  schedule();
  unsettled_ = settling_.size() + republishing_.size();
}

void outbox_runner::fill() {
  const auto now = std::chrono::steady_clock::now();
  const auto busy = in_flight_.size() + republishing_.size();
  if (!client_->connected() || now < hold_until_ || busy >= settings_.window) return;
  if (now < next_look_ && in_flight_.empty()) return;
  next_look_ = now + settings_.poll_interval;
  auto entries = outbox_.oldest(settings_.window + in_flight_.size());
  if (!entries) {
    spdlog::error("cannot read the outbox: {}", entries.error().message());
    return;
  }
  for (auto& entry : *entries) {
    if (in_flight_.size() + republishing_.size() >= settings_.window) break;
    if (in_flight_.contains(entry.id)) continue;
    const auto id = entry.id;
    in_flight_.emplace(id, publish(std::move(entry), false));
  }
}

void outbox_runner::note_past_horizon() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_horizon_look_) return;
  next_horizon_look_ = now + std::max<std::chrono::milliseconds>(settings_.poll_interval, std::chrono::seconds(1));
  // The oldest come first: an entry past the horizon is among them (an entry
  // kept again after a lost connection keeps its age under a new id).
  constexpr std::size_t look_at = 64;
  auto entries = outbox_.oldest(look_at);
  if (!entries) return;  // fill() reports it
  const auto wall = std::chrono::system_clock::now();
  for (const auto& entry : *entries) {
    if (!entry.older_than(settings_.max_age, wall)) continue;
    if (!past_horizon_.insert(entry.id).second) continue;
    spdlog::warn(
        "outbox entry #{} for {} is older than MESSAGE_MAX_AGE ({}): a receiver with that horizon refuses it as too "
        "old; it stays in the outbox and is delivered all the same",
        entry.id, entry.recipient, config::format_duration(settings_.max_age));
  }
}

void outbox_runner::export_levels() {
  if (!metrics_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_levels_export_) return;
  next_levels_export_ = now + settings_.poll_interval;
  auto entries = outbox_.size();
  auto oldest = outbox_.oldest(1);
  if (!entries || !oldest) return;  // fill() reports it
  std::optional<std::chrono::system_clock::duration> age;
  if (!oldest->empty()) age = std::chrono::system_clock::now() - oldest->front().created_at;
  metrics_->outbox(*entries, age);
}

void outbox_runner::settle() {
  if (settling_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  const auto losses = client_->statistics().connection_losses;
  for (auto it = settling_.begin(); it != settling_.end();) {
    if (it->second.losses_at_send != losses) {
      // The connection dropped after it was published: the broker may have
      // died before saving it. Never forgotten until acknowledged again.
      if (!client_->connected()) break;
      spdlog::info(
          "outbox entry #{}: the broker connection was lost within OUTBOX_SETTLE of its acknowledgement; "
          "publishing it again (the receiver keeps one copy)",
          it->first);
      ++republished_;
      republishing_.emplace(it->first, publish(std::move(it->second.entry), true));
      it = settling_.erase(it);
      continue;
    }
    it = now >= it->second.settled_at ? settling_.erase(it) : std::next(it);
  }
}

void outbox_runner::take_retry_request() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_request_check_) return;
  next_request_check_ = now + settings_.poll_interval;
  auto requested = outbox_.take_retry_request();
  if (!requested) {
    spdlog::error("cannot read the outbox's requests: {}", requested.error().message());
    return;
  }
  if (!*requested) return;
  ++retries_requested_;
  spdlog::info("outbox retry requested: trying again now");
  refused_.reset();
  hold_until_ = {};
  next_look_ = {};
  client_->retry_now();
}

void outbox_runner::schedule() {
  // The next moment something is due without an event to announce it: a
  // fresh look at the outbox, the end of a back-off, an entry that settles.
  // Acknowledgements and connection changes wake the runner themselves.
  const auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> wake;
  const auto consider = [&](std::chrono::steady_clock::time_point at) {
    if (at > now && (!wake || at < *wake)) wake = at;
  };
  consider(next_look_);
  consider(next_horizon_look_);
  consider(hold_until_);
  consider(next_request_check_);
  if (metrics_) consider(next_levels_export_);
  for (const auto& [id, waiting] : settling_) consider(waiting.settled_at);
  if (!wake) return;
  timer_.expires_at(*wake);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    pump();
  });
}

void outbox_runner::begin_stop(int signal) {
  stopping_ = true;
  if (signal != 0) spdlog::info("signal {}: stopping", signal);
  timer_.cancel();
  // Acknowledgements already on their way get the runtime's grace; what
  // stays unacknowledged stays in the outbox for the next run.
  if (in_flight_.empty() && republishing_.empty()) finish_stop();
}

void outbox_runner::finish_stop() {
  in_flight_.clear();
  // Messages whose connection dropped after they were published, and that
  // are not acknowledged again, go back into the outbox for the next run.
  const auto losses = client_ ? client_->statistics().connection_losses : 0;
  std::vector<store::outbox_entry> unsettled;
  for (auto& [id, pending] : republishing_) {
    if (pending.acknowledged && pending.losses_at_send == losses) continue;
    unsettled.push_back(std::move(pending.entry));
  }
  for (auto& [id, waiting] : settling_) {
    if (waiting.losses_at_send != losses) unsettled.push_back(std::move(waiting.entry));
  }
  for (const auto& entry : unsettled) {
    if (auto queued = outbox_.enqueue(entry); !queued) {
      spdlog::error("outbox entry #{} could not be kept for the next run: {}", entry.id, queued.error().message());
    }
  }
  republishing_.clear();
  settling_.clear();
  unsettled_ = 0;
  if (client_) client_->stop(std::chrono::seconds(1));
  runtime_.finish();
}

}  // namespace danemq::sender
