#pragma once
// The end-to-end world: real danemq-receiver / danemq-sender processes, a
// real Mosquitto (tests/support/mosquitto_rig) and real DNSSEC-signed DNS
// (tests/support/dns_rig: Knot + validating Unbound) with the identities'
// TLSA records, all on loopback ports of their own.
//
// Identities (RSA-2048 unless asked otherwise), in one crypto directory:
//   alice, bob, carol .danemq.test  — published in the signed zone
//   mallory.danemq.test             — keys but no TLSA record (unknown in DNS)
//   dave.unsigned.test              — published in an unsigned zone (not DNSSEC-secure)

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "danemq/dane/discovery.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/store/message_store.hpp"
#include "danemq/store/outbox.hpp"
#include "support/dns_rig.hpp"
#include "support/mosquitto_rig.hpp"
#include "support/process.hpp"
#include "support/test_peers.hpp"

namespace danemq::e2e {

using namespace std::chrono_literals;

struct world_options {
  bool mqtt5{false};
  test::mosquitto_rig_options broker{};
  identity::key_type key_type{identity::key_type::rsa_2048};
  /// Extra environment for every service started.
  std::map<std::string, std::string> env{};
};

inline std::string full_name(const std::string& who) {
  if (who.find('.') != std::string::npos) return who;
  return who == "dave" ? "dave.unsigned.test" : who + ".danemq.test";
}

class world {
 public:
  explicit world(world_options options = {}) : options_(std::move(options)) {
    for (const auto* who : {"alice", "bob", "carol", "mallory", "dave"}) {
      identities_.emplace(who, test::make_identity(root_.path() / "identity", full_name(who), options_.key_type));
    }
    test::dns_rig_options dns;
    for (const auto* who : {"alice", "bob", "carol"}) dns.signed_records.push_back(tlsa_line(who));
    dns.unsigned_records.push_back(tlsa_line("dave"));
    dns_ = std::make_unique<test::dns_rig>(dns);
    broker_ = std::make_unique<test::mosquitto_rig>(options_.broker);
  }

  [[nodiscard]] test::mosquitto_rig& broker() { return *broker_; }
  [[nodiscard]] test::dns_rig& dns() { return *dns_; }
  [[nodiscard]] const identity::local_identity& id(const std::string& who) const { return identities_.at(who); }
  [[nodiscard]] std::filesystem::path crypto_path() const { return root_.path() / "identity"; }
  [[nodiscard]] std::filesystem::path data_path(const std::string& who) const { return root_.path() / "data" / who; }

  /// The environment a service of `who` runs with.
  [[nodiscard]] std::map<std::string, std::string> env(const std::string& who,
                                                       const std::map<std::string, std::string>& extra = {}) const {
    std::map<std::string, std::string> out = {
        {"IDENTITY_NAME", full_name(who)},
        {"CRYPTO_PATH", crypto_path().string()},
        {"DATA_PATH", data_path(who).string()},
        {"MQTT_HOST", broker_->host()},
        {"MQTT_PORT", std::to_string(broker_->port())},
        {"MQTT_PROTOCOL", options_.mqtt5 ? "5" : "3.1.1"},
        {"DNS_TIMEOUT_MS", "1000"},
        {"DNS_RETRIES", "1"},
        {"DANE_NEGATIVE_CACHE_TTL", "0"},
        {"PKIX_CD", "0"},
        {"IDENTITY_RETRY_DELAY", "100ms"},
        {"HEALTH_INTERVAL", "500ms"},
        {"LOG_LEVEL", "info"},
    };
    for (const auto& [key, value] : dns_->service_env()) out[key] = value;
    if (options_.broker.tls) {
      out["MQTT_TLS_CA_FILE"] = broker_->tls().ca_cert.string();
      out["MQTT_TLS_CERT_FILE"] = broker_->tls().client_cert.string();
      out["MQTT_TLS_KEY_FILE"] = broker_->tls().client_key.string();
    }
    for (const auto& [key, value] : options_.env) out[key] = value;
    for (const auto& [key, value] : extra) out[key] = value;
    return out;
  }

  /// Starts `who`'s danemq-receiver and waits until it is subscribed.
  [[nodiscard]] std::unique_ptr<test::child_process> start_receiver(
      const std::string& who, const std::map<std::string, std::string>& extra = {}) {
    auto receiver = std::make_unique<test::child_process>(
        std::vector<std::string>{(test::binary_dir() / "danemq-receiver").string()}, env(who, extra));
    wait_subscribed(*receiver);
    return receiver;
  }

  /// Waits for the receiver's "Reading ..." line and its subscription.
  void wait_subscribed(const test::child_process& receiver, std::size_t connections = 1) const {
    if (!subscribed_within(receiver, 20s, connections)) {
      ADD_FAILURE() << "receiver not subscribed:\n" << receiver.errors();
    }
  }

  /// Whether the receiver logged `connections` connections and its
  /// "Reading ..." line within `limit`.
  [[nodiscard]] static bool subscribed_within(const test::child_process& receiver, std::chrono::milliseconds limit,
                                              std::size_t connections = 1) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto log = receiver.errors();
      std::size_t seen = 0;
      for (auto at = log.find("MQTT connected"); at != std::string::npos; at = log.find("MQTT connected", at + 1)) {
        ++seen;
      }
      if (seen >= connections && log.find("Reading ") != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  /// Runs danemq-sender (or the alias `send_message`) as `who`.
  [[nodiscard]] test::command_result sender(const std::string& who, const std::vector<std::string>& args,
                                            const std::map<std::string, std::string>& extra = {},
                                            const std::string& program = "danemq-sender") const {
    std::vector<std::string> argv = {(test::binary_dir() / program).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, env(who, extra), {}, 60s);
  }

  /// Runs a danemq-receiver listing command for `who`.
  [[nodiscard]] test::command_result receiver_command(const std::string& who,
                                                      const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {(test::binary_dir() / "danemq-receiver").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, env(who), {}, 30s);
  }

  /// DANE discovery in this process, against the rig (what an in-process publisher uses).
  [[nodiscard]] dane::identity_source& discovery() {
    if (!discovery_) {
      dane::discovery_config config = dns_->discovery_config();
      config.pkix_cd = false;
      discovery_ = dane::discovery::create(config).value();
    }
    return *discovery_;
  }

  /// Seals like danemq-sender does, in this process (for bulk traffic).
  [[nodiscard]] std::string seal(const std::string& from, const std::string& to, const std::string& text,
                                 jose::seal_options options = {}) {
    auto wire = jose::seal(jose::message_to_send{full_name(to), text}, id(from), discovery(), options);
    if (!wire) throw std::runtime_error("seal: " + wire.error().message());
    return *wire;
  }

  /// Seals `count` messages "<label> #<i>" from `from` to `to` into `from`'s
  /// outbox (DATA_PATH/sender.db), for `danemq-sender run` to deliver; returns
  /// their texts in order.
  std::vector<std::string> queue_in_outbox(const std::string& from, const std::string& to, const std::string& label,
                                           int count) {
    std::filesystem::create_directories(data_path(from));
    auto outbox = store::outbox::open(data_path(from) / "sender.db");
    if (!outbox) throw std::runtime_error("outbox: " + outbox.error().message());
    std::vector<std::string> texts;
    for (int i = 0; i < count; ++i) {
      texts.push_back(label + " #" + std::to_string(i));
      const auto wire = seal(from, to, texts.back());
      store::outbox_entry entry{0,
                                full_name(to),
                                full_name(to),
                                std::vector<std::uint8_t>(wire.begin(), wire.end()),
                                std::chrono::system_clock::now(),
                                0};
      if (auto queued = outbox->enqueue(entry); !queued) {
        throw std::runtime_error("outbox: " + queued.error().message());
      }
    }
    return texts;
  }

  /// Publishes raw payloads to `to`'s topic at QoS 1 and waits for every PUBACK.
  void publish(const std::string& to, const std::vector<std::string>& payloads) {
    mqtt::client_options options;
    options.host = broker_->host();
    options.port = broker_->port();
    options.clean_session = true;
    options.protocol = options_.mqtt5 ? mqtt::protocol_version::v5 : mqtt::protocol_version::v311;
    if (options_.broker.tls) {
      options.tls = mqtt::tls_options{broker_->tls().ca_cert, broker_->tls().client_cert, broker_->tls().client_key};
    }
    mqtt::client publisher(options, [](std::vector<mqtt::message>&) { return ok(); });
    ASSERT_TRUE(publisher.start());
    ASSERT_TRUE(publisher.wait_connected(10s)) << publisher.last_error();
    std::vector<std::future<result<void>>> acks;
    for (const auto& payload : payloads) {
      acks.push_back(publisher.publish(full_name(to), std::vector<std::uint8_t>(payload.begin(), payload.end()), 1));
    }
    for (auto& ack : acks) {
      ASSERT_EQ(ack.wait_for(30s), std::future_status::ready);
      ASSERT_TRUE(ack.get());
    }
    publisher.stop();
  }

  /// What `who`'s receiver database holds, read directly.
  [[nodiscard]] std::vector<store::inbox_entry> inbox(const std::string& who) const {
    auto db = open_db(who);
    return db ? db->outcomes().list_inbox().value() : std::vector<store::inbox_entry>{};
  }
  [[nodiscard]] std::vector<store::quarantine_entry> quarantine(const std::string& who) const {
    auto db = open_db(who);
    return db ? db->outcomes().list_quarantine().value() : std::vector<store::quarantine_entry>{};
  }
  [[nodiscard]] std::size_t pending(const std::string& who) const {
    auto db = open_db(who);
    return db ? db->raw().pending_count().value() : 0;
  }

  /// Waits until `who`'s inbox and quarantine hold `count` messages in all.
  bool wait_for_stored(const std::string& who, std::size_t count, std::chrono::milliseconds timeout = 60s) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (inbox(who).size() + quarantine(who).size() >= count) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

 private:
  [[nodiscard]] std::string tlsa_line(const std::string& who) const {
    auto record = identity::make_tlsa_record(*identities_.at(who).certificate, 3, 0, 0).value();
    return identity::zone_file_line(full_name(who), record, 60);
  }

  [[nodiscard]] std::optional<store::message_store> open_db(const std::string& who) const {
    const auto path = data_path(who) / "receiver.db";
    if (!std::filesystem::exists(path)) return std::nullopt;
    auto db = store::message_store::open(path, store::open_options{.read_only = true});
    if (!db) return std::nullopt;
    return std::move(*db);
  }

  world_options options_;
  test::temp_dir root_{"danemq-e2e"};
  std::map<std::string, identity::local_identity> identities_;
  std::unique_ptr<test::dns_rig> dns_;
  std::unique_ptr<test::mosquitto_rig> broker_;
  std::shared_ptr<dane::discovery> discovery_;
};

/// The texts of the inbox, in arrival order.
inline std::vector<std::string> texts_of(const std::vector<store::inbox_entry>& inbox) {
  std::vector<std::string> out;
  for (const auto& entry : inbox) out.push_back(entry.message);
  return out;
}

/// Lines of a process's stdout that carry `<sender> says: `.
inline std::vector<std::string> said_lines(const std::string& output) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const auto line = output.substr(start, end - start);
    if (line.find(" says: ") != std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

}  // namespace danemq::e2e
