#pragma once
// An MQTT client over libmosquitto that loses nothing it acknowledged.
//
// One non-copyable object owns the `mosquitto*`; libmosquitto's C callbacks
// are static functions that cast their context back to `this`. The network
// loop is ours, on one thread the client owns (libmosquitto's loop_start and
// its automatic reconnect are not used): connecting, reconnecting with
// bounded exponential back-off, re-subscribing after every connect and
// keepalive are explicit and tested.
//
// Deferred acknowledgement: libmosquitto 2.0 queues the QoS 1 PUBACK before
// it calls the message callback. The handle is put in "threaded" mode, in
// which queued packets are only written by our loop_write call; each read pass
// collects the messages it produced and hands them, as one batch, to the
// delivery handler on the network thread *before* writing anything. The
// handler stores them durably; only when it returns success are the PUBACKs
// written. If it fails (disk full) the connection is dropped without them and
// the broker redelivers. See docs/delivery.md.

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "danemq/core/backoff.hpp"
#include "danemq/core/result.hpp"
#include "danemq/mqtt/errors.hpp"
#include "danemq/mqtt/protocol_version.hpp"

// libmosquitto's handle, opaque here: <mosquitto.h> stays in src/mqtt.
struct mosquitto;

namespace danemq::mqtt {

struct mosquitto_deleter {
  void operator()(mosquitto* handle) const noexcept;
};
using unique_mosquitto = std::unique_ptr<mosquitto, mosquitto_deleter>;

struct tls_options {
  std::string ca_file;    ///< CA certificates that sign the broker's certificate (required for TLS)
  std::string cert_file;  ///< client certificate, for mutual TLS (with key_file)
  std::string key_file;
};

struct subscription {
  std::string topic;
  int qos{1};
};

/// One broker of a list (MQTT_HOST="a,b:1884").
struct broker_address {
  std::string host;
  std::uint16_t port{0};  ///< 0: client_options::port
};

struct client_options {
  std::string host;
  std::uint16_t port{1883};
  /// Brokers tried after host:port, in order, when a connect attempt to the
  /// one before fails (nodes of a cluster). Every connect starts again at
  /// host:port; the reconnect back-off applies once all of them have failed.
  std::vector<broker_address> more_brokers;
  protocol_version protocol{protocol_version::v311};
  /// Stable across restarts for a persistent session (the broker keeps the
  /// subscription and queues QoS 1 messages while we are away).
  std::string client_id;
  /// false: a persistent session (clean session off in 3.1.1; in 5, clean
  /// start off with `session_expiry`).
  bool clean_session{false};
  /// MQTT 5 only: how long the broker keeps the session after we disconnect.
  std::chrono::seconds session_expiry{std::chrono::hours(24 * 7)};
  std::chrono::seconds keepalive{30};
  std::optional<tls_options> tls;
  std::string username;
  std::string password;  ///< never logged
  /// When set, asked for the password before every connect attempt (a
  /// broker admission token is good for one connection); a failure is
  /// reported as the attempt's failure and the attempt is retried later.
  std::function<result<std::string>()> fresh_password;
  /// Subscribed again after every connect.
  std::vector<subscription> subscriptions;
  backoff_policy reconnect{};
  /// Connect attempt abandoned when no CONNACK (and SUBACKs) arrived by then.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  /// Messages handed to the delivery handler at most at once.
  std::size_t max_batch{256};
  /// Payload bytes in one batch: reading stops once a batch holds this many
  /// (a batch holds at least one message).
  std::size_t max_batch_bytes{std::size_t{4} * 1024 * 1024};
  /// 0: no limit. Otherwise a payload longer than this is not copied: its
  /// message carries only the size and digest (message::oversized). With MQTT
  /// 5 the CONNECT also says so (Maximum Packet Size: this plus
  /// packet_header_allowance), and the broker sends no longer packet; MQTT
  /// 3.1.1 has no such field, and libmosquitto reads a whole packet before
  /// its callback sees it.
  std::size_t max_payload{0};
  /// Our QoS 1/2 messages in flight at once (libmosquitto queues the rest).
  unsigned max_inflight{20};
  /// For a one-off command: a refused connection (nothing listens on the
  /// port, or the broker refuses the login) is final. The client stops
  /// trying, and wait_connected() returns false at once; see gave_up().
  bool give_up_when_refused{false};
  /// With give_up_when_refused: a refused login is tried again until the
  /// command's own timeout (a broker admitting by DNS refuses a first login
  /// it has not looked up yet); only a refused connection is final.
  bool retry_refused_login{false};
};

/// What reaches the client of a payload over client_options::max_payload.
struct oversized_payload {
  std::size_t size{0};
  /// SHA-256 of the topic, a zero byte and the payload: the digest the
  /// receiver's store recognises copies by.
  std::vector<std::uint8_t> digest;
};

/// Bytes a PUBLISH packet may carry besides its payload, added to
/// client_options::max_payload for MQTT 5's Maximum Packet Size: the fixed
/// header (5), a topic (up to 65,535 bytes and its 2-byte length), the packet
/// id (2) and the properties a broker forwards.
inline constexpr std::size_t packet_header_allowance = 65'535 + 2 + 5 + 2 + 1'024;

/// A message as delivered by the broker.
struct message {
  std::string topic;
  std::vector<std::uint8_t> payload;  ///< empty when oversized
  int qos{0};
  bool retain{false};
  std::optional<oversized_payload> oversized;  ///< set instead of the payload when it was over max_payload
};

/// A change of the connection: connected means CONNACK accepted and every
/// subscription acknowledged.
struct connection_event {
  bool connected{false};
  bool session_present{false};  ///< the broker still had our session
  std::string reason;           ///< why we are not connected (empty when connected)
};

/// Receives the messages of one read pass on the network thread before any
/// of them is acknowledged. Return success only once they are stored as
/// durably as their acknowledgement promises; a failure drops the connection
/// without acknowledging them, and the broker delivers them again. Must not
/// call back into the client.
using delivery_handler = std::function<result<void>(std::vector<message>& batch)>;
/// Told of each connection change, on the network thread.
using connection_handler = std::function<void(const connection_event& event)>;
/// Told how a publish ended (see client::publish).
using publish_handler = std::function<void(result<void> outcome)>;

struct client_statistics {
  std::uint64_t connects{0};  ///< accepted CONNACKs
  std::uint64_t connection_losses{0};
  std::uint64_t messages_received{0};
  std::uint64_t oversized{0};        ///< payloads over max_payload, not copied
  std::uint64_t batches_refused{0};  ///< batches whose handler failed (connection dropped, unacknowledged)
  std::uint64_t published{0};        ///< publishes acknowledged
  /// Times the connection was lost soon after connecting, several times in a
  /// row: the pattern of another client connecting with our client id.
  std::uint64_t suspected_takeovers{0};
};

/// A connection lost within this time after it was established counts
/// towards a suspected client-id takeover.
inline constexpr std::chrono::seconds takeover_window{5};
/// That many such losses in a row make a suspected takeover.
inline constexpr unsigned takeover_losses{3};

class client {
 public:
  client(client_options options, delivery_handler on_delivery, connection_handler on_connection = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  client(client&&) = delete;
  client& operator=(client&&) = delete;

  /// Checks the options, sets up libmosquitto and starts the network thread,
  /// which connects (and reconnects) on its own. Failure bad_options naming
  /// what is wrong (an unreadable TLS file, an empty client id or host).
  [[nodiscard]] result<void> start();

  /// Stops: no more reads, pending acknowledgements and a DISCONNECT are
  /// flushed for up to `grace`, the thread is joined. Pending publishes fail
  /// with stopped. Safe to call twice.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

  /// Queues a publish; `done` is posted to `executor` once, with success
  /// when the broker acknowledged it (PUBACK for QoS 1, PUBCOMP for QoS 2,
  /// written for QoS 0), or failure publish_refused (MQTT 5 reason code),
  /// too_large, bad_options (QoS) or stopped. While disconnected the publish
  /// waits; after a reconnect libmosquitto sends unacknowledged ones again.
  void publish(std::string topic, std::vector<std::uint8_t> payload, int qos, bool retain,
               boost::asio::any_io_executor executor, publish_handler done);

  /// The same for a caller that blocks on the outcome (a one-shot command,
  /// tests): the future is set on the network thread.
  [[nodiscard]] std::future<result<void>> publish(std::string topic, std::vector<std::uint8_t> payload, int qos,
                                                  bool retain = false);

  /// True once connected and subscribed; false after `timeout`, or at once
  /// when the client gave up (give_up_when_refused).
  [[nodiscard]] bool wait_connected(std::chrono::milliseconds timeout);
  [[nodiscard]] bool connected() const noexcept { return connected_.load(); }
  /// Why the last attempt or connection failed (empty while connected).
  [[nodiscard]] std::string last_error() const;
  /// True when the connection was refused and give_up_when_refused stopped
  /// the retries.
  [[nodiscard]] bool gave_up() const noexcept { return gave_up_.load(); }

  /// From any thread: while not connected, the next connect attempt is made
  /// now instead of at the end of the back-off (which starts again from its
  /// first delay); it also undoes gave_up().
  void retry_now();

  /// Back-pressure: while paused, nothing more is read from the broker (it
  /// keeps the messages); keepalive goes on.
  void set_paused(bool paused);

  [[nodiscard]] client_statistics statistics() const;
  [[nodiscard]] const client_options& options() const noexcept { return options_; }
  /// How many brokers the options name (host:port and more_brokers).
  [[nodiscard]] std::size_t broker_count() const noexcept { return 1 + options_.more_brokers.size(); }

 private:
  enum class phase { idle, connecting, subscribing, established };
  /// Completes a publish exactly once, on the network thread (or at once when refused before queueing).
  using completion = std::function<void(result<void>)>;
  struct publish_request {
    std::string topic;
    std::vector<std::uint8_t> payload;
    int qos{0};
    bool retain{false};
    completion done;
  };
  // libmosquitto's callbacks: static functions (client_callbacks.cpp) that cast their
  // context back to the client.
  struct callbacks;
  friend struct callbacks;

  void enqueue(publish_request request);
  void run();
  void begin_connect();
  void service_connection();
  [[nodiscard]] bool read_pass();
  /// While connecting, the socket reported an error or a hang-up: true when
  /// the connection may still be good (data to read), else it is given up.
  [[nodiscard]] bool connection_may_be_good(int fd);
  [[nodiscard]] bool deliver_batch();
  [[nodiscard]] result<void> store_batch();
  void send_publishes();
  void connection_lost(std::string reason, bool unacknowledged = false);
  void set_phase(phase next);
  void set_error(std::string reason);
  void notify(const connection_event& event);
  void wake() const;
  void wait_for_wake(std::chrono::milliseconds timeout) const;
  void shutdown_connection(std::chrono::milliseconds grace);
  void fail_pending(const failure& why);

  client_options options_;
  delivery_handler on_delivery_;
  connection_handler on_connection_;
  unique_mosquitto handle_;
  int wake_fd_{-1};
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> gave_up_{false};
  std::atomic<bool> retry_requested_{false};
  std::chrono::milliseconds stop_grace_{2000};

  // Network thread only.
  phase phase_{phase::idle};
  /// Which broker the current (or next) attempt goes to: 0 is host:port.
  std::size_t broker_index_{0};
  [[nodiscard]] broker_address current_broker() const;
  [[nodiscard]] std::string current_broker_text() const;
  backoff retry_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::steady_clock::time_point connect_deadline_{};
  std::chrono::steady_clock::time_point paused_since_{};
  bool session_present_{false};
  std::string refusal_;                  // set by callbacks during a read pass: the connection must be dropped
  bool refused_by_every_broker_{false};  // every attempt of this round through the broker list was refused
  bool attempt_refused_{false};          // the last attempt was refused (ECONNREFUSED, CONNACK refusal), not timed out
  std::chrono::steady_clock::time_point established_at_{};
  unsigned quick_losses_{0};  // connections lost within takeover_window of being established, in a row
  std::string log_error_;     // libmosquitto's last error-level log line, to explain a failure
  std::vector<int> pending_subscriptions_;
  std::vector<message> batch_;
  std::size_t batch_bytes_{0};  // payload bytes in batch_
  std::map<int, completion> in_flight_;

  // Shared with other threads.
  mutable std::mutex mutex_;
  std::condition_variable connected_changed_;
  std::deque<publish_request> outgoing_;
  std::string last_error_;
  client_statistics stats_;
};

}  // namespace danemq::mqtt
