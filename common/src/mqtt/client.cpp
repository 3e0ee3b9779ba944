#include "danemq/mqtt/client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "danemq/core/error_category.hpp"
#include "danemq/log/log.hpp"

namespace danemq::mqtt {
namespace {

struct mosquitto_property_deleter {
  void operator()(mosquitto_property* list) const noexcept { mosquitto_property_free_all(&list); }
};
using unique_mosquitto_property = std::unique_ptr<mosquitto_property, mosquitto_property_deleter>;

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::bad_options: return "invalid MQTT client options";
    case errc::library_failure: return "libmosquitto call failed";
    case errc::not_connected: return "not connected to the MQTT broker";
    case errc::connection_refused: return "MQTT broker refused the connection";
    case errc::tls_failed: return "TLS connection to the MQTT broker failed";
    case errc::subscription_refused: return "MQTT broker refused the subscription";
    case errc::publish_refused: return "MQTT broker refused the publish";
    case errc::timeout: return "no acknowledgement from the MQTT broker in time";
    case errc::stopped: return "MQTT client stopped";
    case errc::too_large: return "payload too large for MQTT";
  }
  return nullptr;
}

std::once_flag library_once;

void init_library() {
  // Process-wide and never undone: mosquitto_lib_cleanup would pull OpenSSL's
  // state from under any other client still alive.
  std::call_once(library_once, [] { mosquitto_lib_init(); });
}

std::string readable_file_problem(const std::string& path, const char* what) {
  std::error_code ec;
  if (path.empty()) return std::string(what) + " is not set";
  if (!std::filesystem::is_regular_file(path, ec)) return std::string(what) + " " + path + " is not a file";
  if (::access(path.c_str(), R_OK) != 0) return std::string(what) + " " + path + " is not readable";
  return {};
}

bool readable_now(int fd) {
  pollfd probe{fd, POLLIN, 0};
  return ::poll(&probe, 1, 0) > 0 && (probe.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

}  // namespace

void mosquitto_deleter::operator()(mosquitto* handle) const noexcept {
  mosquitto_destroy(handle);
}

struct client::callbacks {
  static void on_connect(mosquitto* handle, void* context, int rc, int flags, const mosquitto_property* props);
  static void on_subscribe(mosquitto* handle, void* context, int mid, int count, const int* granted,
                           const mosquitto_property* props);
  static void on_message(mosquitto* handle, void* context, const mosquitto_message* msg,
                         const mosquitto_property* props);
  static void on_publish(mosquitto* handle, void* context, int mid, int reason, const mosquitto_property* props);
  static void on_log(mosquitto* handle, void* context, int level, const char* text);
};

const std::error_category& mqtt_category() noexcept {
  static const enum_error_category<errc> instance("mqtt", describe);
  return instance;
}

client::client(client_options options, delivery_handler on_delivery, connection_handler on_connection)
    : options_(std::move(options)),
      on_delivery_(std::move(on_delivery)),
      on_connection_(std::move(on_connection)),
      retry_(options_.reconnect) {}

client::~client() {
  stop(stop_grace_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

result<void> client::start() {
  if (handle_) return fail(errc::bad_options, "client already started");
  if (options_.host.empty()) return fail(errc::bad_options, "no broker host");
  if (options_.client_id.empty() && !options_.clean_session) {
    return fail(errc::bad_options, "a persistent session needs a client id");
  }
  for (const auto& sub : options_.subscriptions) {
    if (sub.qos < 0 || sub.qos > 2)
      return fail(errc::bad_options, "QoS " + std::to_string(sub.qos) + " for " + sub.topic);
    if (sub.topic.empty()) return fail(errc::bad_options, "empty subscription topic");
  }
  if (options_.tls) {
    if (auto problem = readable_file_problem(options_.tls->ca_file, "TLS CA file"); !problem.empty()) {
      return fail(errc::bad_options, problem);
    }
    if (!options_.tls->cert_file.empty() || !options_.tls->key_file.empty()) {
      for (const auto& [path, what] : {std::pair{options_.tls->cert_file, "TLS certificate file"},
                                       std::pair{options_.tls->key_file, "TLS key file"}}) {
        if (auto problem = readable_file_problem(path, what); !problem.empty()) return fail(errc::bad_options, problem);
      }
    }
  }
  init_library();
  handle_.reset(
      mosquitto_new(options_.client_id.empty() ? nullptr : options_.client_id.c_str(), options_.clean_session, this));
  if (!handle_) return fail(errc::library_failure, std::string("mosquitto_new: ") + std::strerror(errno));
  auto* h = handle_.get();
  const bool v5 = options_.protocol == protocol_version::v5;
  int rc = mosquitto_int_option(h, MOSQ_OPT_PROTOCOL_VERSION, v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  // Threaded mode: libmosquitto only queues outgoing packets and our
  // loop_write sends them. That is what defers the PUBACK until the delivery
  // handler has stored the message.
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_threaded_set(h, true);
  if (rc == MOSQ_ERR_SUCCESS) {
    rc =
        mosquitto_int_option(h, MOSQ_OPT_SEND_MAXIMUM, static_cast<int>(std::clamp(options_.max_inflight, 1U, 65535U)));
  }
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_int_option(h, MOSQ_OPT_TCP_NODELAY, 1);
  if (rc == MOSQ_ERR_SUCCESS && !options_.username.empty()) {
    rc = mosquitto_username_pw_set(h, options_.username.c_str(),
                                   options_.password.empty() ? nullptr : options_.password.c_str());
  }
  if (rc != MOSQ_ERR_SUCCESS) return fail(errc::library_failure, mosquitto_strerror(rc));
  if (options_.tls) {
    const auto& tls = *options_.tls;
    rc = mosquitto_tls_set(h, tls.ca_file.c_str(), nullptr, tls.cert_file.empty() ? nullptr : tls.cert_file.c_str(),
                           tls.key_file.empty() ? nullptr : tls.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return fail(errc::bad_options, std::string("TLS files: ") + mosquitto_strerror(rc));
    // Verify the broker's certificate and host name (libmosquitto's default;
    // stated so that it cannot silently change).
    rc = mosquitto_tls_opts_set(h, 1, nullptr, nullptr);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_insecure_set(h, false);
    if (rc != MOSQ_ERR_SUCCESS) return fail(errc::bad_options, std::string("TLS options: ") + mosquitto_strerror(rc));
  }
  if (v5 && !options_.clean_session) {
    // MQTT 5 ends a session at disconnect unless CONNECT carries a Session
    // Expiry Interval. libmosquitto 2.0 takes CONNECT properties only in the
    // blocking mosquitto_connect_bind_v5, which stores them for every later
    // (re)connect before it tries the network. Given a Unix-socket "host"
    // longer than sun_path it stores them and fails at once without any
    // socket; our asynchronous connects then send them.
    mosquitto_property* list = nullptr;
    const auto expiry =
        static_cast<std::uint32_t>(std::clamp<std::int64_t>(options_.session_expiry.count(), 0, 0xFFFFFFFF));
    if (mosquitto_property_add_int32(&list, MQTT_PROP_SESSION_EXPIRY_INTERVAL, expiry) != MOSQ_ERR_SUCCESS) {
      return fail(errc::library_failure, "cannot build CONNECT properties");
    }
    const unique_mosquitto_property properties(list);
    const std::string no_such_socket(200, 'x');
    (void)mosquitto_connect_bind_v5(h, no_such_socket.c_str(), 0, static_cast<int>(options_.keepalive.count()), nullptr,
                                    properties.get());
  }
  mosquitto_connect_v5_callback_set(h, &callbacks::on_connect);
  mosquitto_subscribe_v5_callback_set(h, &callbacks::on_subscribe);
  mosquitto_message_v5_callback_set(h, &callbacks::on_message);
  mosquitto_publish_v5_callback_set(h, &callbacks::on_publish);
  mosquitto_log_callback_set(h, &callbacks::on_log);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return fail(errc::library_failure, std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
  return ok();
}

void client::stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  stop_grace_ = grace;
  stop_requested_ = true;
  wake();
  thread_.join();
}

void client::publish(std::string topic, std::vector<std::uint8_t> payload, int qos, bool retain,
                     boost::asio::any_io_executor executor, publish_handler done) {
  enqueue(publish_request{std::move(topic), std::move(payload), qos, retain,
                          [executor = std::move(executor), done = std::move(done)](result<void> outcome) {
                            boost::asio::post(executor, [done, outcome = std::move(outcome)] { done(outcome); });
                          }});
}

std::future<result<void>> client::publish(std::string topic, std::vector<std::uint8_t> payload, int qos, bool retain) {
  auto promise = std::make_shared<std::promise<result<void>>>();
  auto future = promise->get_future();
  enqueue(publish_request{std::move(topic), std::move(payload), qos, retain,
                          [promise](result<void> outcome) { promise->set_value(std::move(outcome)); }});
  return future;
}

void client::enqueue(publish_request request) {
  if (request.qos < 0 || request.qos > 2) {
    request.done(fail(errc::bad_options, "QoS " + std::to_string(request.qos)));
    return;
  }
  if (stop_requested_ || !thread_.joinable()) {
    request.done(fail(errc::stopped));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    outgoing_.push_back(std::move(request));
  }
  wake();
}

bool client::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return connected_changed_.wait_for(lock, timeout, [this] { return connected_.load() || stop_requested_.load(); }) &&
         connected_.load();
}

std::string client::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void client::set_paused(bool paused) {
  paused_ = paused;
  wake();
}

client_statistics client::statistics() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// ---- libmosquitto callbacks (network thread, inside loop_read/loop_write) ----

void client::callbacks::on_connect(mosquitto* handle, void* context, int rc, int flags, const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  if (rc != 0) {
    self->refusal_ =
        std::string("broker refused the connection: ") +
        (self->options_.protocol == protocol_version::v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
    return;
  }
  self->session_present_ = (flags & 1) != 0;
  {
    std::lock_guard lock(self->mutex_);
    ++self->stats_.connects;
  }
  self->pending_subscriptions_.clear();
  for (const auto& sub : self->options_.subscriptions) {
    int mid = 0;
    const int sent = mosquitto_subscribe_v5(handle, &mid, sub.topic.c_str(), sub.qos, 0, nullptr);
    if (sent != MOSQ_ERR_SUCCESS) {
      self->refusal_ = "cannot subscribe to " + sub.topic + ": " + mosquitto_strerror(sent);
      return;
    }
    self->pending_subscriptions_.push_back(mid);
  }
  self->set_phase(self->pending_subscriptions_.empty() ? phase::established : phase::subscribing);
}

void client::callbacks::on_subscribe(mosquitto*, void* context, int mid, int count, const int* granted,
                                     const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  auto& pending = self->pending_subscriptions_;
  const auto found = std::find(pending.begin(), pending.end(), mid);
  if (found == pending.end()) return;
  const auto index = static_cast<std::size_t>(found - pending.begin());
  pending.erase(found);
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= 0x80) {
      const auto& topic =
          index < self->options_.subscriptions.size() ? self->options_.subscriptions[index].topic : std::string("?");
      self->refusal_ = "broker refused the subscription to " + topic + " (reason " + std::to_string(granted[i]) + ")";
      return;
    }
  }
  if (pending.empty() && self->phase_ == phase::subscribing) self->set_phase(phase::established);
}

void client::callbacks::on_message(mosquitto*, void* context, const mosquitto_message* msg, const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  message copy;
  copy.topic = msg->topic != nullptr ? msg->topic : "";
  const auto* bytes = static_cast<const std::uint8_t*>(msg->payload);
  if (bytes != nullptr && msg->payloadlen > 0) copy.payload.assign(bytes, bytes + msg->payloadlen);
  copy.qos = msg->qos;
  copy.retain = msg->retain;
  self->batch_.push_back(std::move(copy));
}

void client::callbacks::on_publish(mosquitto*, void* context, int mid, int reason, const mosquitto_property*) {
  auto* self = static_cast<client*>(context);
  const auto found = self->in_flight_.find(mid);
  if (found == self->in_flight_.end()) return;
  if (reason >= 0x80) {
    found->second(fail(errc::publish_refused, mosquitto_reason_string(reason)));
  } else {
    {
      std::lock_guard lock(self->mutex_);
      ++self->stats_.published;
    }
    found->second(ok());
  }
  self->in_flight_.erase(found);
}

void client::callbacks::on_log(mosquitto*, void* context, int level, const char* text) {
  auto* self = static_cast<client*>(context);
  if (text == nullptr) return;
  if (level == MOSQ_LOG_ERR) {
    // libmosquitto reports TLS failures (untrusted certificate, wrong host
    // name) only here; keep the line to say why the connection failed.
    self->log_error_ = text;
  }
  spdlog::debug("libmosquitto: {}", text);
}

// ---- the network thread ----

void client::run() {
  while (!stop_requested_) {
    if (phase_ == phase::idle) {
      const auto now = std::chrono::steady_clock::now();
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

void client::begin_connect() {
  refusal_.clear();
  log_error_.clear();
  batch_.clear();
  pending_subscriptions_.clear();
  session_present_ = false;
  // Every attempt is a fresh connect (libmosquitto's reconnect logic is not
  // used): a failed first connect_async is retried like any later one.
  errno = 0;
  const int rc = mosquitto_connect_bind_async(handle_.get(), options_.host.c_str(), options_.port,
                                              static_cast<int>(options_.keepalive.count()), nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    // The TLS handshake may fail inside the connect already: OpenSSL's
    // reason (e.g. certificate verify failed) came through the log callback.
    std::string why = rc == MOSQ_ERR_ERRNO                        ? std::strerror(errno)
                      : rc == MOSQ_ERR_EAI                        ? gai_strerror(errno)
                      : rc == MOSQ_ERR_TLS && !log_error_.empty() ? "TLS handshake failed: " + log_error_
                                                                  : mosquitto_strerror(rc);
    connection_lost("cannot connect to " + options_.host + ":" + std::to_string(options_.port) + ": " + why);
    return;
  }
  connect_deadline_ = std::chrono::steady_clock::now() + options_.connect_timeout;
  set_phase(phase::connecting);
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
    connection_lost(refusal_.empty() ? "no CONNACK/SUBACK from " + options_.host + ":" + std::to_string(options_.port) +
                                           " within " + std::to_string(options_.connect_timeout.count()) + " ms"
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
      // Messages read before the failure are worth storing although their
      // PUBACKs cannot be sent any more: the broker delivers them again and
      // the copies are recognised.
      if (!batch_.empty()) (void)store_batch();
      connection_lost(std::move(why));
      return false;
    }
    if (!refusal_.empty()) {
      connection_lost(refusal_, true);
      return false;
    }
    const int fd = mosquitto_socket(h);
    if (fd < 0 || batch_.size() >= options_.max_batch || !readable_now(fd)) return true;
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
  batch_.clear();
  pending_subscriptions_.clear();
  set_phase(phase::idle);
  const auto delay = retry_.next();
  next_attempt_ = std::chrono::steady_clock::now() + delay;
  set_error(reason);
  {
    std::lock_guard lock(mutex_);
    if (was_connected) ++stats_.connection_losses;
  }
  if (!stop_requested_) {
    spdlog::warn("MQTT {}:{}: {}; retrying in {} ms", options_.host, options_.port, reason, delay.count());
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
    retry_.reset();
    spdlog::info("MQTT connected to {}:{} as {} (session {})", options_.host, options_.port, options_.client_id,
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
