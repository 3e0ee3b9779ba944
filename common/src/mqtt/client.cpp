#include "danemq/mqtt/client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "client_callbacks.hpp"
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

}  // namespace

void mosquitto_deleter::operator()(mosquitto* handle) const noexcept {
  mosquitto_destroy(handle);
}

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
  if (v5 && (!options_.clean_session || options_.max_payload != 0)) {
    // MQTT 5 ends a session at disconnect unless CONNECT carries a Session
    // Expiry Interval; a Maximum Packet Size keeps longer packets at the
    // broker. libmosquitto 2.0 takes CONNECT properties only in the
    // blocking mosquitto_connect_bind_v5, which stores them for every later
    // (re)connect before it tries the network. Given a Unix-socket "host"
    // longer than sun_path it stores them and fails at once without any
    // socket; our asynchronous connects then send them.
    mosquitto_property* list = nullptr;
    bool built = true;
    if (!options_.clean_session) {
      const auto expiry =
          static_cast<std::uint32_t>(std::clamp<std::int64_t>(options_.session_expiry.count(), 0, 0xFFFFFFFF));
      built = mosquitto_property_add_int32(&list, MQTT_PROP_SESSION_EXPIRY_INTERVAL, expiry) == MOSQ_ERR_SUCCESS;
    }
    if (built && options_.max_payload != 0) {
      // The protocol's own maximum (268,435,455 + 5) bounds it.
      const auto largest = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(std::uint64_t{options_.max_payload} + packet_header_allowance, 268'435'460));
      built = mosquitto_property_add_int32(&list, MQTT_PROP_MAXIMUM_PACKET_SIZE, largest) == MOSQ_ERR_SUCCESS;
    }
    const unique_mosquitto_property properties(list);
    if (!built) return fail(errc::library_failure, "cannot build CONNECT properties");
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
  return connected_changed_.wait_for(lock, timeout, [this] {
    return connected_.load() || stop_requested_.load() || gave_up_.load();
  }) && connected_.load();
}

void client::retry_now() {
  retry_requested_ = true;
  wake();
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

}  // namespace danemq::mqtt
