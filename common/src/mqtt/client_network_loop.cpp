// The client's network thread: connects, reads, hands each batch to the
// delivery handler before loop_write may send its PUBACKs, publishes, retries.
#include "danemq/mqtt/client.hpp"

#include <mosquitto.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>

#include "danemq/log/log.hpp"

namespace danemq::mqtt {
namespace {

bool readable_now(int fd) {
  pollfd probe{fd, POLLIN, 0};
  return ::poll(&probe, 1, 0) > 0 && (probe.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

}  // namespace

void client::run() {
  while (!stop_requested_) {
    if (phase_ == phase::idle) {
      const auto now = std::chrono::steady_clock::now();
      if (retry_requested_.exchange(false)) {
        retry_.reset();
        quick_losses_ = 0;
        gave_up_ = false;
        next_attempt_ = now;
      }
      if (now < next_attempt_) {
        wait_for_wake(std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now) +
                      std::chrono::milliseconds(1));
        continue;
      }
      begin_connect();
      continue;
    }
    service_connection();
  }
  shutdown_connection(stop_grace_);
  fail_pending(fail(errc::stopped));
}

broker_address client::current_broker() const {
  if (broker_index_ == 0 || broker_index_ > options_.more_brokers.size()) return {options_.host, options_.port};
  auto broker = options_.more_brokers[broker_index_ - 1];
  if (broker.port == 0) broker.port = options_.port;
  return broker;
}

std::string client::current_broker_text() const {
  const auto broker = current_broker();
  const bool v6 = broker.host.find(':') != std::string::npos;
  return (v6 ? "[" + broker.host + "]" : broker.host) + ":" + std::to_string(broker.port);
}

void client::begin_connect() {
  refusal_.clear();
  attempt_refused_ = false;
  log_error_.clear();
  batch_.clear();
  batch_bytes_ = 0;
  pending_subscriptions_.clear();
  session_present_ = false;
  if (options_.fresh_password) {
    auto password = options_.fresh_password();
    const int set = password ? mosquitto_username_pw_set(handle_.get(), options_.username.c_str(), password->c_str())
                             : MOSQ_ERR_INVAL;
    if (set != MOSQ_ERR_SUCCESS) {
      connection_lost("cannot make the password for " + current_broker_text() + ": " +
                      (password ? std::string(mosquitto_strerror(set)) : password.error().message()));
      return;
    }
  }
  // Every attempt is a fresh connect (libmosquitto's reconnect logic is not
  // used): a failed first connect_async is retried like any later one.
  errno = 0;
  const auto broker = current_broker();
  const int rc = mosquitto_connect_bind_async(handle_.get(), broker.host.c_str(), broker.port,
                                              static_cast<int>(options_.keepalive.count()), nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    // The TLS handshake may fail inside the connect already: OpenSSL's
    // reason (e.g. certificate verify failed) came through the log callback.
    std::string why = rc == MOSQ_ERR_ERRNO                        ? std::strerror(errno)
                      : rc == MOSQ_ERR_EAI                        ? gai_strerror(errno)
                      : rc == MOSQ_ERR_TLS && !log_error_.empty() ? "TLS handshake failed: " + log_error_
                                                                  : mosquitto_strerror(rc);
    attempt_refused_ = rc == MOSQ_ERR_ERRNO && errno == ECONNREFUSED;
    connection_lost("cannot connect to " + current_broker_text() + ": " + why);
    return;
  }
  // Over TLS the ClientHello is written inside the connect: a refusal that
  // came back at once is seen by that write, and libmosquitto reports only
  // that the handshake wants to write again.
  const int written = errno;
  if (options_.tls && (written == ECONNREFUSED || written == EHOSTUNREACH || written == ENETUNREACH)) {
    attempt_refused_ = written == ECONNREFUSED;
    connection_lost("cannot connect to " + current_broker_text() + ": " + std::strerror(written));
    return;
  }
  connect_deadline_ = std::chrono::steady_clock::now() + options_.connect_timeout;
  set_phase(phase::connecting);
}

bool client::connection_may_be_good(int fd) {
  // The TCP connect failed (nothing listens, no route) or the broker hung up
  // before the CONNACK: over TLS the handshake would hide it, reporting only
  // that it wants to write again, for ever.
  int error = 0;
  socklen_t size = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error != 0) {
    attempt_refused_ = error == ECONNREFUSED;
    connection_lost(std::string("connection failed: ") + std::strerror(error));
    return false;
  }
  sockaddr_storage peer{};
  socklen_t peer_size = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 && errno == ENOTCONN) {
    attempt_refused_ = true;
    // Its error went to the handshake's first write, which libmosquitto keeps to itself.
    connection_lost("connection failed: " + current_broker_text() +
                    " refused or dropped the connection before it was established");
    return false;
  }
  return true;  // hung up with data still to read: the CONNACK's refusal, read next
}

void client::service_connection() {
  auto* h = handle_.get();
  const int fd = mosquitto_socket(h);
  if (fd < 0) {
    connection_lost(refusal_.empty() ? "connection closed" : refusal_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (phase_ != phase::established && now > connect_deadline_) {
    connection_lost(refusal_.empty() ? "no CONNACK/SUBACK from " + current_broker_text() + " within " +
                                           std::to_string(options_.connect_timeout.count()) + " ms"
                                     : refusal_,
                    true);
    return;
  }
  bool reading = true;
  if (phase_ == phase::established && paused_) {
    // Paused: read nothing, except one pass every half keepalive so that the
    // broker's PINGRESP is seen and the connection survives a long pause.
    if (paused_since_ == std::chrono::steady_clock::time_point{}) paused_since_ = now;
    if (now - paused_since_ < options_.keepalive / 2) {
      reading = false;
    } else {
      paused_since_ = now;
    }
  } else {
    paused_since_ = {};
  }
  const bool handshaking = options_.tls.has_value() && phase_ == phase::connecting;
  pollfd fds[2] = {{fd, static_cast<short>((reading ? POLLIN : 0) | (mosquitto_want_write(h) ? POLLOUT : 0)), 0},
                   {wake_fd_, POLLIN, 0}};
  const int timeout_ms = phase_ == phase::established ? 1000 : 50;
  if (::poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
    connection_lost(std::string("poll: ") + std::strerror(errno), true);
    return;
  }
  if ((fds[1].revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    (void)!::read(wake_fd_, &count, sizeof count);
  }
  if (stop_requested_) return;
  if (phase_ == phase::connecting && (fds[0].revents & (POLLERR | POLLHUP)) != 0 && !connection_may_be_good(fd)) return;
  const bool readable = (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
  const bool writable = (fds[0].revents & POLLOUT) != 0;
  // During the TLS handshake only loop_read drives SSL_connect, whichever way
  // the socket is ready (or not: libmosquitto may wait without saying for what).
  if ((reading && readable) || handshaking) {
    if (!read_pass()) return;
  }
  if (!batch_.empty() && !deliver_batch()) return;
  if (phase_ == phase::established) send_publishes();
  if (writable || mosquitto_want_write(h)) {
    const int rc = mosquitto_loop_write(h, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      connection_lost(refusal_.empty() ? std::string("write failed: ") + mosquitto_strerror(rc) : refusal_);
      return;
    }
  }
  const int rc = mosquitto_loop_misc(h);
  if (rc != MOSQ_ERR_SUCCESS) {
    connection_lost(rc == MOSQ_ERR_KEEPALIVE ? "broker did not answer the keepalive ping"
                                             : std::string("connection lost: ") + mosquitto_strerror(rc));
  }
}

bool client::read_pass() {
  auto* h = handle_.get();
  for (;;) {
    errno = 0;
    const int rc = mosquitto_loop_read(h, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      const int saved_errno = errno;
      std::string why = !refusal_.empty()          ? refusal_
                        : rc == MOSQ_ERR_TLS       ? "TLS handshake failed: " + log_error_
                        : rc == MOSQ_ERR_ERRNO     ? std::string("connection failed: ") + std::strerror(saved_errno)
                        : rc == MOSQ_ERR_CONN_LOST ? std::string("connection lost")
                                                   : std::string("connection failed: ") + mosquitto_strerror(rc);
      if (rc == MOSQ_ERR_ERRNO && saved_errno == EPROTO && !log_error_.empty()) why += " (" + log_error_ + ")";
      attempt_refused_ =
          phase_ == phase::connecting && ((!refusal_.empty() && !options_.retry_refused_login) ||
                                          (refusal_.empty() && rc == MOSQ_ERR_ERRNO && saved_errno == ECONNREFUSED));
      // Messages read before the failure are worth storing although their
      // PUBACKs cannot be sent any more: the broker delivers them again and
      // the copies are recognised.
      if (!batch_.empty()) (void)store_batch();
      connection_lost(std::move(why));
      return false;
    }
    if (!refusal_.empty()) {
      attempt_refused_ = phase_ == phase::connecting && !options_.retry_refused_login;
      connection_lost(refusal_, true);
      return false;
    }
    // Read on while more is there, once the CONNACK came: before, one pass
    // per poll (a TLS handshake on a dead socket reads "nothing yet" for ever).
    const int fd = mosquitto_socket(h);
    if (fd < 0 || phase_ == phase::connecting || stop_requested_ || batch_.size() >= options_.max_batch ||
        batch_bytes_ >= options_.max_batch_bytes || !readable_now(fd)) {
      return true;
    }
  }
}

result<void> client::store_batch() {
  {
    std::lock_guard lock(mutex_);
    stats_.messages_received += batch_.size();
  }
  auto stored = on_delivery_(batch_);
  if (!stored) {
    std::lock_guard lock(mutex_);
    ++stats_.batches_refused;
  }
  batch_.clear();
  batch_bytes_ = 0;
  return stored;
}

bool client::deliver_batch() {
  auto stored = store_batch();
  if (stored) return true;
  // Not stored, so not acknowledged: close the socket before loop_write can
  // send the queued PUBACKs. The next connect discards them.
  connection_lost("could not store received messages: " + stored.error().message(), true);
  return false;
}

void client::send_publishes() {
  std::deque<publish_request> ready;
  {
    std::lock_guard lock(mutex_);
    ready.swap(outgoing_);
  }
  while (!ready.empty()) {
    auto& request = ready.front();
    int mid = 0;
    const int rc =
        mosquitto_publish_v5(handle_.get(), &mid, request.topic.c_str(), static_cast<int>(request.payload.size()),
                             request.payload.data(), request.qos, request.retain, nullptr);
    if (rc == MOSQ_ERR_NO_CONN) break;  // sent again once connected
    if (rc == MOSQ_ERR_SUCCESS) {
      in_flight_.emplace(mid, std::move(request.done));
    } else if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_OVERSIZE_PACKET) {
      request.done(fail(errc::too_large, std::to_string(request.payload.size()) + " bytes"));
    } else {
      request.done(fail(errc::library_failure, std::string("publish: ") + mosquitto_strerror(rc)));
    }
    ready.pop_front();
  }
  if (!ready.empty()) {
    std::lock_guard lock(mutex_);
    while (!ready.empty()) {
      outgoing_.push_front(std::move(ready.back()));
      ready.pop_back();
    }
  }
}

void client::connection_lost(std::string reason, bool unacknowledged) {
  if (unacknowledged) {
    // shutdown, not close: the descriptor stays libmosquitto's, which closes
    // it (and drops the packets it queued) on the next connect.
    const int fd = mosquitto_socket(handle_.get());
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  const bool was_connected = phase_ == phase::established;
  const auto now = std::chrono::steady_clock::now();
  batch_.clear();
  batch_bytes_ = 0;
  pending_subscriptions_.clear();
  set_phase(phase::idle);
  const auto failed = current_broker_text();
  // A failed attempt moves on to the next broker of the list at once; a lost
  // connection, or the last broker failing, waits out the back-off and starts
  // again at the first.
  const bool next_broker = !was_connected && broker_index_ + 1 < broker_count();
  refused_by_every_broker_ = (broker_index_ == 0 || refused_by_every_broker_) && attempt_refused_;
  broker_index_ = next_broker ? broker_index_ + 1 : 0;
  if (!next_broker && refused_by_every_broker_ && options_.give_up_when_refused) {
    {
      std::lock_guard lock(mutex_);
      last_error_ = reason;
      gave_up_ = true;
    }
    next_attempt_ = now + std::chrono::hours(24);
    connected_changed_.notify_all();
    notify(connection_event{false, false, std::move(reason)});
    return;
  }
  auto delay = next_broker ? std::chrono::milliseconds(0) : retry_.next();
  bool takeover = false;
  if (was_connected) {
    quick_losses_ = now - established_at_ < takeover_window ? quick_losses_ + 1 : 0;
    if (quick_losses_ >= takeover_losses) {
      // The broker drops a session when another client connects with the
      // same client id; the two then take it from each other at every
      // reconnect. Say so, and wait the longest delay: the other may stop.
      takeover = true;
      delay = std::max(delay, retry_.policy().max);
      reason = "another client with this client id (" + options_.client_id +
               ") is connected: the broker dropped the connection " + std::to_string(quick_losses_) +
               " times in a row soon after connecting (" + reason + ")";
    }
  }
  next_attempt_ = now + delay;
  set_error(reason);
  {
    std::lock_guard lock(mutex_);
    if (was_connected) ++stats_.connection_losses;
    if (takeover) ++stats_.suspected_takeovers;
  }
  if (takeover && !stop_requested_) {
    spdlog::error("MQTT {}: {}; retrying in {} ms", failed, reason, delay.count());
  } else if (!stop_requested_) {
    if (next_broker) {
      spdlog::warn("MQTT {}: {}; trying {}", failed, reason, current_broker_text());
    } else {
      spdlog::warn("MQTT {}: {}; retrying in {} ms", failed, reason, delay.count());
    }
  }
  notify(connection_event{false, false, std::move(reason)});
}

void client::set_phase(phase next) {
  phase_ = next;
  const bool now_connected = next == phase::established;
  if (now_connected == connected_.load()) return;
  {
    std::lock_guard lock(mutex_);
    connected_ = now_connected;
    if (now_connected) last_error_.clear();
  }
  connected_changed_.notify_all();
  if (now_connected) {
    established_at_ = std::chrono::steady_clock::now();
    // A takeover keeps the longest delay until a connection lasts.
    if (quick_losses_ < takeover_losses) retry_.reset();
    spdlog::info("MQTT connected to {} as {} (session {})", current_broker_text(), options_.client_id,
                 session_present_ ? "resumed" : "new");
    notify(connection_event{true, session_present_, {}});
  }
}

void client::set_error(std::string reason) {
  std::lock_guard lock(mutex_);
  last_error_ = std::move(reason);
}

void client::notify(const connection_event& event) {
  if (on_connection_) on_connection_(event);
}

void client::wake() const {
  if (wake_fd_ < 0) return;
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void client::wait_for_wake(std::chrono::milliseconds timeout) const {
  pollfd fd{wake_fd_, POLLIN, 0};
  const auto capped = std::min<std::int64_t>(timeout.count(), 1000);
  if (::poll(&fd, 1, static_cast<int>(capped)) > 0) {
    std::uint64_t count = 0;
    (void)!::read(wake_fd_, &count, sizeof count);
  }
}

void client::shutdown_connection(std::chrono::milliseconds grace) {
  auto* h = handle_.get();
  if (phase_ != phase::idle && mosquitto_socket(h) >= 0) {
    // Acknowledgements already queued (for stored messages) go out before
    // the DISCONNECT; nothing more is read.
    if (phase_ == phase::established) (void)mosquitto_disconnect_v5(h, 0, nullptr);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (mosquitto_socket(h) >= 0 && mosquitto_want_write(h) && std::chrono::steady_clock::now() < deadline) {
      pollfd fd{mosquitto_socket(h), POLLOUT, 0};
      if (::poll(&fd, 1, 50) < 0 && errno != EINTR) break;
      if (mosquitto_loop_write(h, 1) != MOSQ_ERR_SUCCESS) break;
    }
    const int fd = mosquitto_socket(h);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  const bool was_connected = connected_.load();
  set_phase(phase::idle);
  if (was_connected) notify(connection_event{false, false, "stopped"});
  {
    std::lock_guard lock(mutex_);
    last_error_ = "stopped";
  }
  connected_changed_.notify_all();
}

void client::fail_pending(const failure& why) {
  for (auto& [mid, done] : in_flight_) done(why);
  in_flight_.clear();
  std::deque<publish_request> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(outgoing_);
  }
  for (auto& request : left) request.done(why);
}

}  // namespace danemq::mqtt
