#pragma once
// danemq-sender: `send <recipient> <message|->` signs with the local
// identity, finds the recipient's certificate by DANE, encrypts, publishes at
// QoS 1 to the recipient's topic and exits 0 only after the broker's PUBACK
// (the original's `send_message <recipient> <message>` is an alias). With
// --queue an unreachable broker is not a failure: the encrypted message waits
// in the outbox, which `run` (the container's long-running process) delivers
// in order, removing each entry only after its PUBACK. `chat` holds a
// conversation in a terminal on top of `send` and the receiver's inbox.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/store/outbox.hpp"
#include "outbox_runner.hpp"
#include "sender_settings.hpp"

namespace danemq::sender {

/// Exit codes of danemq-sender (documented in the README).
enum exit_code : int {
  exit_success = 0,  ///< acknowledged by the broker, or queued with --queue
  exit_usage = 1,    ///< usage, a missing or invalid setting, the local identity, a message too large
  exit_recipient =
      2,            ///< the recipient's identity is not usable: no TLSA, not DNSSEC-secure, bad key (as the original)
  exit_broker = 3,  ///< the broker could not be reached or did not acknowledge the publish
  exit_unconfirmed = 4,  ///< send --wait: published (or queued), but no receipt within SEND_WAIT_TIMEOUT
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

class sender_app {
 public:
  /// Results and one-line errors go to `out` / `err`; `in` is read for the message `-`.
  sender_app(std::ostream& out, std::ostream& err, std::istream& in, sender_dependencies dependencies = {});
  /// Parses argv (argv[0] `send_message` means `send`), runs the subcommand, returns its exit code. Never throws.
  int run(int argc, char** argv);

 private:
  /// `send`; `logged`, when given, gets the message's id in the sent log.
  int send(const sender_settings& settings, const std::string& recipient, std::string text,
           std::optional<std::int64_t>* logged = nullptr);
  /// `chat PEER` (chat_command.cpp): the history, then the peer's new messages and each line typed, sent.
  int chat(const sender_settings& settings, const std::string& peer);
  int run_outbox(const sender_settings& settings);
  /// The outbox for `outbox` and its subcommands: failure when there is no database at DATA_PATH.
  [[nodiscard]] static result<store::outbox> open_existing_outbox(const sender_settings& settings, bool read_only);
  int list_outbox(const sender_settings& settings, bool json);
  int cancel_outbox(const sender_settings& settings, const std::vector<std::int64_t>& ids);
  int retry_outbox(const sender_settings& settings);
  int queue_message(const sender_settings& settings, store::outbox& outbox, const store::sent_entry& logged,
                    std::optional<std::int64_t> sent_id, const std::string& topic, const std::string& wire,
                    const std::string& why);
  int wait_for_receipt(const sender_settings& settings, store::outbox& outbox, std::int64_t sent_id);
  int list_sent(const sender_settings& settings, const std::optional<std::string>& to,
                const std::optional<std::string>& since, std::size_t limit, bool json);
  int error(exit_code code, const std::string& message);
  /// The recipients' identities: the injected source, or DANE discovery as
  /// configured (failure: the setting at fault).
  [[nodiscard]] result<std::shared_ptr<dane::identity_source>> peer_source(
      const config::service_settings& service) const;
  /// What `send` and `chat` seal with: our identity and the recipients'
  /// source (failure: the identity files or the setting at fault, as printed).
  struct sending_parts {
    identity::local_identity me;
    std::shared_ptr<dane::identity_source> peers;
  };
  [[nodiscard]] result<sending_parts> sending_parts_for(const config::service_settings& service) const;
  /// How `send` and `chat` seal: the format, the size limit, and a receipt
  /// asked for when RECEIPTS is on and the format has one (v2).
  [[nodiscard]] static jose::seal_options sealing_for(const sender_settings& settings);
  /// A required setting of `run` is missing: waits for SIGTERM, saying so once a minute; exit_usage.
  int wait_for_setting(const std::string& missing);

  std::ostream& out_;
  std::ostream& err_;
  std::istream& in_;
  sender_dependencies dependencies_;
};

}  // namespace danemq::sender
