#pragma once
// danemq-sender: `send <recipient> <message|->` signs with the local
// identity, finds the recipient's certificate by DANE, encrypts, publishes at
// QoS 1 to the recipient's topic and exits 0 only after the broker's PUBACK
// (the original's `send_message <recipient> <message>` is an alias). With
// --queue an unreachable broker is not a failure: the encrypted message waits
// in the outbox, which `run` (the container's long-running process) delivers
// in order, removing each entry only after its PUBACK.

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>

#include "danemq/core/backoff.hpp"
#include "danemq/core/result.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/runtime/service_runtime.hpp"
#include "danemq/store/outbox.hpp"
#include "sender_settings.hpp"

namespace danemq::sender {

/// Exit codes of danemq-sender (documented in the README).
enum exit_code : int {
  exit_success = 0,  ///< acknowledged by the broker, or queued with --queue
  exit_usage = 1,    ///< usage, a missing or invalid setting, the local identity, a message too large
  exit_recipient =
      2,            ///< the recipient's identity is not usable: no TLSA, not DNSSEC-secure, bad key (as the original)
  exit_broker = 3,  ///< the broker could not be reached or did not acknowledge the publish
};

/// The exit code for a jose::seal failure: exit_recipient when it concerns
/// the recipient's identity (unknown_in_dns, not_dnssec_secure,
/// lookup_failed, lookup_temporarily_failed, unsupported_key), else exit_usage.
[[nodiscard]] exit_code exit_code_for_seal_failure(const failure& why);

/// What tests replace: where peers' keys come from (null: DANE discovery as configured).
struct sender_dependencies {
  std::shared_ptr<dane::identity_source> peers{};
  /// Install the logger from LOG_FORMAT/LOG_LEVEL. Tests that run an app
  /// beside threads already logging pass false: replacing spdlog's default
  /// logger is not safe while other threads use it.
  bool configure_logging{true};
};

/// `run`: publishes the outbox in order whenever the broker is reachable.
/// Everything runs on the runtime's io thread: acknowledgements and
/// connection changes arrive there as handlers, a timer wakes it for the
/// next look at the outbox, the end of a back-off or of OUTBOX_SETTLE.
class outbox_runner {
 public:
  outbox_runner(sender_settings settings, store::outbox& outbox);
  ~outbox_runner();
  outbox_runner(const outbox_runner&) = delete;
  outbox_runner& operator=(const outbox_runner&) = delete;

  /// Runs until request_stop(), SIGTERM or SIGINT; returns the exit code.
  int run();
  /// From any thread.
  void request_stop();
  [[nodiscard]] std::uint64_t delivered() const { return delivered_.load(); }
  /// Acknowledged messages published again because the broker connection was lost within OUTBOX_SETTLE.
  [[nodiscard]] std::uint64_t republished() const { return republished_.load(); }

 private:
  /// A publish on its way; the entry is kept until it settled (see OUTBOX_SETTLE).
  struct publishing {
    store::outbox_entry entry;
    std::uint64_t losses_at_send{0};  ///< the client's connection losses when it was published
    bool acknowledged{false};         ///< while stopping: published again and acknowledged
    bool answered{false};             ///< while stopping: the broker answered
  };
  /// Acknowledged and removed from the outbox; kept in memory until it settled.
  struct settling {
    store::outbox_entry entry;
    std::uint64_t losses_at_send{0};
    std::chrono::steady_clock::time_point settled_at{};
  };

  /// Publishes the entry; the outcome comes to on_acknowledged (or on_acknowledged_again).
  [[nodiscard]] publishing publish(store::outbox_entry entry, bool again);
  void on_acknowledged(std::int64_t id, const result<void>& outcome);
  void on_acknowledged_again(std::int64_t id, const result<void>& outcome);
  /// Settles, fills the window from the outbox and sets the timer for the next look.
  void pump();
  void fill();
  void settle();
  void schedule();
  void begin_stop(int signal);
  void finish_stop();

  sender_settings settings_;
  store::outbox& outbox_;
  runtime::service_runtime runtime_{std::chrono::seconds(1)};
  boost::asio::steady_timer timer_{runtime_.io()};
  std::unique_ptr<mqtt::client> client_;
  std::map<std::int64_t, publishing> in_flight_;     // outbox entries published, by outbox id
  std::map<std::int64_t, settling> settling_;        // acknowledged within OUTBOX_SETTLE
  std::map<std::int64_t, publishing> republishing_;  // published again after a connection loss
  std::chrono::steady_clock::time_point next_look_{};
  std::chrono::steady_clock::time_point hold_until_{};
  backoff refused_{backoff_policy{std::chrono::seconds(1), std::chrono::seconds(60)}};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> republished_{0};
  bool stopping_{false};
};

class sender_app {
 public:
  /// Results and one-line errors go to `out` / `err`; `in` is read for the message `-`.
  sender_app(std::ostream& out, std::ostream& err, std::istream& in, sender_dependencies dependencies = {});
  /// Parses argv (argv[0] `send_message` means `send`), runs the subcommand, returns its exit code. Never throws.
  int run(int argc, char** argv);

 private:
  int send(const sender_settings& settings, const std::string& recipient, std::string text);
  int run_outbox(const sender_settings& settings);
  int queue_message(const sender_settings& settings, store::outbox& outbox, const std::string& recipient,
                    const std::string& topic, const std::string& wire, const std::string& why);
  int error(exit_code code, const std::string& message);

  std::ostream& out_;
  std::ostream& err_;
  std::istream& in_;
  sender_dependencies dependencies_;
};

}  // namespace danemq::sender
