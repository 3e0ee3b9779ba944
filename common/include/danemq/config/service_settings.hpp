#pragma once
// The settings every danemq service shares — identity, storage, broker, DNS,
// logging — with their braced defaults, and the table of options that fills
// them from the original's environment variables (IDENTITY_NAME, CRYPTO_PATH,
// MQTT_HOST, MQTT_PORT, APP_UID, MAX_MESSAGE_SIZE) and the new ones, each also
// a flag.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "danemq/config/options.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/log/log.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/mqtt/protocol_version.hpp"
#include "danemq/pkcs11/token_key.hpp"

namespace danemq::config {

/// MQTT_PROTOCOL: the client's own enum, not a second one.
using mqtt_protocol = mqtt::protocol_version;

/// How to reach the broker. Nothing here assumes a single Mosquitto: the same
/// settings reach EMQX, VerneMQ, HiveMQ or AWS IoT Core (port 8883, TLS with a
/// client certificate).
struct mqtt_settings {
  std::string host;  ///< MQTT_HOST (required): the first broker's host
  /// MQTT_HOST as a list, "host[:port],host[:port]…" (nodes of a cluster,
  /// tried in order at each connect); port 0 there: MQTT_PORT.
  std::vector<mqtt::broker_address> brokers;
  std::uint16_t port{1883};                     ///< MQTT_PORT
  mqtt_protocol protocol{mqtt_protocol::v311};  ///< MQTT_PROTOCOL: 3.1.1 as the original's broker spoke, or 5
  int qos{1};                                   ///< MQTT_QOS: 1 loses nothing with our deferred acknowledgement
  std::string topic_prefix;                     ///< MQTT_TOPIC_PREFIX: empty, the topic is the recipient's name
  std::string client_id;                        ///< MQTT_CLIENT_ID: empty, derived from the identity
  std::filesystem::path tls_ca_file;            ///< MQTT_TLS_CA_FILE: TLS when set
  std::filesystem::path tls_cert_file;          ///< MQTT_TLS_CERT_FILE: client certificate (mutual TLS)
  std::filesystem::path tls_key_file;           ///< MQTT_TLS_KEY_FILE: its key
  std::string username;                         ///< MQTT_USERNAME
  std::string password;                         ///< MQTT_PASSWORD (secret)
  /// MQTT_ALLOW_PLAINTEXT_PASSWORD: the password may cross the network without TLS.
  bool allow_plaintext_password{false};
  std::chrono::seconds keepalive{30};  ///< MQTT_KEEPALIVE
  /// MQTT_AUTH=dane: the user name is IDENTITY_NAME and the password a fresh
  /// admission token (jose/mqtt_token.hpp) at every connect.
  bool dane_admission{false};
  /// MQTT_AUTH_AUDIENCE: the broker's name in the token; empty: `host`.
  std::string auth_audience;
};

struct service_settings {
  std::string identity_name;                        ///< IDENTITY_NAME, canonical (lowercase, no final dot)
  std::filesystem::path crypto_path{"/identity/"};  ///< CRYPTO_PATH: <name>.key.pem and .crt.pem live here
  std::filesystem::path data_path{"/data/"};        ///< DATA_PATH: the service's SQLite database
  std::optional<uid_t> app_uid{};                   ///< APP_UID: run as this user when started as root
  /// MAX_MESSAGE_SIZE: bytes of an encrypted message; the original's unless set.
  std::size_t max_message_size{jose::default_max_message_size};
  log::format log_format{log::format::text};                 ///< LOG_FORMAT
  spdlog::level::level_enum log_level{spdlog::level::info};  ///< LOG_LEVEL
  mqtt_settings mqtt;
  /// The rows of token_key_options(): the identity key in a PKCS#11 token.
  pkcs11::token_settings identity_key{};
  /// The rows of discovery_options().
  dane::discovery_config dane{};
};

/// The rows of DANE discovery's settings (DNS_RESOLVER, DNSSEC_VALIDATION,
/// DNSSEC_TRUST_ANCHOR, DNS_TIMEOUT_MS, DNS_RETRIES, DANE_CACHE_MAX_TTL,
/// DANE_NEGATIVE_CACHE_TTL, DANE_FAILURE_CACHE_TTL, PKIX_CD, PKIX_CD_CA_BUNDLE, PKIX_CD_HTTPS_PORT),
/// for every program that looks names up; lift() them into a bigger struct.
[[nodiscard]] option_table<dane::discovery_config> discovery_options();

/// MESSAGE_MAX_AGE, the acceptance horizon, as one row for every program
/// that needs it (the receiver refuses older messages; maintenance's `rotate
/// finish` waits it out after `commit`): a fleet sets one value for all.
template <class Settings>
[[nodiscard]] option<Settings> message_max_age_option(std::chrono::seconds Settings::*member) {
  return {.env = "MESSAGE_MAX_AGE",
          .flag = "--message-max-age",
          .value = duration_in<Settings>(member, std::chrono::seconds(10), std::chrono::days(30)),
          .help =
              "refuse messages signed longer ago than this before they reached the receiver (the acceptance "
              "horizon: keep the broker's session expiry at least as long; `rotate finish` waits this long "
              "after `commit`)"};
}
/// METRICS_ADDRESS, the Prometheus endpoint of a long-running daemon (the
/// receiver, the sender's `run`), as one row; empty: off. `command`: the
/// subcommand it applies to (empty: the daemon itself).
template <class Settings>
[[nodiscard]] option<Settings> metrics_address_option(std::string Settings::*member, const std::string& command = {}) {
  return {.env = "METRICS_ADDRESS",
          .flag = "--metrics-address",
          .command = command,
          .value = {.apply = [member](Settings& s, std::string_view text) -> result<void> {
                      const auto colon = text.rfind(':');
                      if (!text.empty() &&
                          (colon == std::string_view::npos || colon == 0 || !parse_port(text.substr(colon + 1)))) {
                        return invalid("is not host:port (e.g. 127.0.0.1:9464, [::1]:9464)");
                      }
                      s.*member = std::string(text);
                      return ok();
                    },
                    .show = [member](const Settings& s) { return s.*member; },
                    .type_name = "HOST:PORT"},
          .help =
              "address of the Prometheus endpoint (`/metrics`) of the receiver daemon and of `danemq-sender run`, "
              "e.g. `127.0.0.1:9464`; see Metrics",
          .unset = "off"};
}
/// The rows of a key in a PKCS#11 token (IDENTITY_KEY_URI, PKCS11_MODULE,
/// PKCS11_PIN_FILE), for every program that uses the identity key.
[[nodiscard]] option_table<pkcs11::token_settings> token_key_options();

/// The rows for service_settings. `identity_required`: IDENTITY_NAME must be given.
[[nodiscard]] option_table<service_settings> service_options(bool identity_required = true);

/// Checks what no single row can: a client certificate needs its key and a CA,
/// a password sent off the machine needs TLS (or MQTT_ALLOW_PLAINTEXT_PASSWORD),
/// and so on. The failure names the settings.
[[nodiscard]] result<void> check_consistency(const service_settings& settings);

/// MQTT_HOST's value: comma-separated `host`, `host:port`, `[v6]` or
/// `[v6]:port` (a bare IPv6 address is a host); at least one. Port 0: MQTT_PORT.
[[nodiscard]] result<std::vector<mqtt::broker_address>> parse_broker_list(std::string_view text);

/// The brokers for messages: "a:1883, b:1884".
[[nodiscard]] std::string broker_list_text(const mqtt_settings& mqtt);
/// True inside a container: Docker's /.dockerenv, Podman's
/// /run/.containerenv, or `container` in the environment (systemd-nspawn).
[[nodiscard]] bool in_container();

/// Creates DATA_PATH for the service's database. Outside a container, the
/// default (`default_path`, /data/) is refused when it does not exist: a
/// forgotten DATA_PATH must not make a directory at the file system root.
/// Failure invalid_setting naming DATA_PATH (and why it cannot be made).
[[nodiscard]] result<void> prepare_data_path(const service_settings& settings, bool inside_container = in_container(),
                                             const std::filesystem::path& default_path = service_settings{}.data_path);

/// True for "localhost" and loopback addresses (127.0.0.0/8, ::1): a
/// connection that never leaves the machine. A name is not resolved.
[[nodiscard]] bool is_loopback_host(std::string_view host);

/// The warning a long-running command logs at start when it talks to a broker
/// off this machine without TLS; nothing with TLS or on loopback.
[[nodiscard]] std::optional<std::string> plaintext_broker_warning(const mqtt_settings& mqtt);

/// The MQTT topic for a recipient: prefix + name.
[[nodiscard]] std::string topic_for(const mqtt_settings& mqtt, std::string_view recipient);

/// Drops root privileges to `uid` (and its primary group) when running as
/// root; nothing when not root or no uid is set. Failure invalid_setting when
/// the switch fails.
[[nodiscard]] result<void> apply_app_uid(const std::optional<uid_t>& uid);

}  // namespace danemq::config
