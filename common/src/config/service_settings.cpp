#include "danemq/config/service_settings.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "danemq/identity/dns_name.hpp"

namespace danemq::config {
namespace {

using settings = service_settings;

}  // namespace

option_table<dane::discovery_config> discovery_options() {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  option_table<dane::discovery_config> table;
  table.push_back({"DNS_RESOLVER", "dns-resolver", "resolver ip[:port] for DANE lookups; default resolv.conf's first",
                   "", false, false, false, [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     if (text.empty()) return ok();
                     auto server = dane::parse_server_address(text);
                     if (!server)
                       return invalid(server.error().detail.empty() ? "is not an ip[:port]" : server.error().detail);
                     s.resolver = std::string(text);
                     return ok();
                   }});
  table.push_back({"DNSSEC_VALIDATION", "dnssec-validation",
                   "resolver (trust the AD bit of a validating resolver) or local (validate here)", "resolver", false,
                   false, false, [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto mode = dane::parse_dnssec_mode(text);
                     if (!mode) return invalid("is not resolver or local");
                     s.dnssec = *mode;
                     return ok();
                   }});
  table.push_back({"DNSSEC_TRUST_ANCHOR", "dnssec-trust-anchor", "DS/DNSKEY records of the trust anchor (local mode)",
                   dane::default_trust_anchor, false, false, false,
                   [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto file = parse_readable_file(text);
                     if (file) s.trust_anchor = *file;
                     return carry(file);
                   }});
  table.push_back({"DNS_TIMEOUT_MS", "dns-timeout-ms", "DNS timeout per attempt, in milliseconds", "2000", false, false,
                   false, [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto ms = parse_unsigned(text, 10, 60'000);
                     if (ms) s.timeout = milliseconds(*ms);
                     return carry(ms);
                   }});
  table.push_back({"DNS_RETRIES", "dns-retries", "DNS attempts after the first", "2", false, false, false,
                   [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto retries = parse_unsigned(text, 0, 10);
                     if (retries) s.retries = static_cast<unsigned>(*retries);
                     return carry(retries);
                   }});
  table.push_back({"DANE_CACHE_MAX_TTL", "dane-cache-max-ttl", "longest time a DANE answer is cached (s, m, h)", "1h",
                   false, false, false, [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto ttl = parse_duration(text, milliseconds(0), std::chrono::hours(24));
                     if (ttl) s.cache.max_ttl = std::chrono::duration_cast<seconds>(*ttl);
                     return carry(ttl);
                   }});
  table.push_back({"DANE_NEGATIVE_CACHE_TTL", "dane-negative-cache-ttl",
                   "longest time an NXDOMAIN/NODATA answer is cached (s, m)", "30s", false, false, false,
                   [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto ttl = parse_duration(text, milliseconds(0), std::chrono::hours(1));
                     if (ttl) s.cache.max_negative_ttl = std::chrono::duration_cast<seconds>(*ttl);
                     return carry(ttl);
                   }});
  table.push_back({"PKIX_CD", "pkix-cd", "accept PKIX-CD (usage 4) TLSA records, fetching CAs over HTTPS", "1", false,
                   false, false, [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto on = parse_bool(text);
                     if (on) s.pkix_cd = *on;
                     return carry(on);
                   }});
  table.push_back({"PKIX_CD_CA_BUNDLE", "pkix-cd-ca-bundle",
                   "PEM CAs trusted for the PKIX-CD authority's HTTPS; default the system's", "", false, false, false,
                   [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     if (text.empty()) return ok();
                     auto file = parse_readable_file(text);
                     if (file) s.https.trusted_cas = *file;
                     return carry(file);
                   }});
  table.push_back({"PKIX_CD_HTTPS_PORT", "pkix-cd-https-port", "port of the PKIX-CD authority's HTTPS server", "443",
                   false, false, false, [](dane::discovery_config& s, std::string_view text) -> result<void> {
                     auto port = parse_port(text);
                     if (port) s.https.port = *port;
                     return carry(port);
                   }});
  return table;
}

option_table<service_settings> service_options(bool identity_required) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  option_table<settings> table;
  table.push_back({"IDENTITY_NAME", "identity-name", "DNS name of this device's identity", "", identity_required, false,
                   false, [](settings& s, std::string_view text) -> result<void> {
                     auto name = identity::canonical_dns_name(text);
                     if (!name) return invalid("is not a valid DNS name (" + name.error().detail + ")");
                     s.identity_name = *name;
                     return ok();
                   }});
  table.push_back({"CRYPTO_PATH", "crypto-path", "directory holding <name>.key.pem and <name>.crt.pem", "/identity/",
                   false, false, false, [](settings& s, std::string_view text) -> result<void> {
                     auto dir = parse_directory(text);
                     if (dir) s.crypto_path = *dir;
                     return carry(dir);
                   }});
  table.push_back({"DATA_PATH", "data-path", "directory of the service's SQLite database", "/data/", false, false,
                   false, [](settings& s, std::string_view text) -> result<void> {
                     auto dir = parse_directory(text);
                     if (dir) s.data_path = *dir;
                     return carry(dir);
                   }});
  table.push_back({"APP_UID", "app-uid", "numeric user id to run as when started as root", "", false, false, false,
                   [](settings& s, std::string_view text) -> result<void> {
                     auto uid = parse_unsigned(text, 1, 4'294'967'294U);
                     if (!uid) return invalid("is not a user id (1..4294967294; root is refused)");
                     s.app_uid = static_cast<uid_t>(*uid);
                     return ok();
                   }});
  table.push_back({"MAX_MESSAGE_SIZE", "max-message-size",
                   "largest encrypted message accepted or sent, in bytes (K/M suffix allowed)", "4096", false, false,
                   false, [](settings& s, std::string_view text) -> result<void> {
                     auto size = parse_size(text, 256, 64ULL * 1024 * 1024);
                     if (size) s.max_message_size = static_cast<std::size_t>(*size);
                     return carry(size);
                   }});
  table.push_back({"LOG_FORMAT", "log-format", "text or json (one object per line)", "text", false, false, false,
                   [](settings& s, std::string_view text) -> result<void> {
                     auto format = log::parse_format(text);
                     if (!format) return invalid("is not text or json");
                     s.log_format = *format;
                     return ok();
                   }});
  table.push_back({"LOG_LEVEL", "log-level", "trace, debug, info, warning, error, critical or off", "info", false,
                   false, false, [](settings& s, std::string_view text) -> result<void> {
                     auto level = log::parse_level(text);
                     if (!level)
                       return invalid("is not a log level (trace, debug, info, warning, error, critical, off)");
                     s.log_level = *level;
                     return ok();
                   }});
  table.push_back({"MQTT_HOST", "mqtt-host", "broker host name or address", "", true, false, false,
                   [](settings& s, std::string_view text) -> result<void> {
                     if (text.empty()) return invalid("is empty");
                     s.mqtt.host = std::string(text);
                     return ok();
                   }});
  table.push_back({"MQTT_PORT", "mqtt-port", "broker port (8883 is usual with TLS)", "1883", false, false, false,
                   [](settings& s, std::string_view text) -> result<void> {
                     auto port = parse_port(text);
                     if (port) s.mqtt.port = *port;
                     return carry(port);
                   }});
  table.push_back({"MQTT_PROTOCOL", "mqtt-protocol", "MQTT version: 3.1.1 or 5", "3.1.1", false, false, false,
                   [](settings& s, std::string_view text) -> result<void> {
                     if (text == "3.1.1" || text == "311" || text == "4") {
                       s.mqtt.protocol = mqtt_protocol::v311;
                     } else if (text == "5" || text == "5.0") {
                       s.mqtt.protocol = mqtt_protocol::v5;
                     } else {
                       return invalid("is not an MQTT version (3.1.1 or 5)");
                     }
                     return ok();
                   }});
  table.push_back({"MQTT_QOS", "mqtt-qos", "quality of service of publish and subscribe: 0, 1 or 2", "1", false, false,
                   false, [](settings& s, std::string_view text) -> result<void> {
                     auto qos = parse_unsigned(text, 0, 2);
                     if (!qos) return invalid("is not a QoS (0, 1 or 2)");
                     s.mqtt.qos = static_cast<int>(*qos);
                     return ok();
                   }});
  table.push_back({"MQTT_TOPIC_PREFIX", "mqtt-topic-prefix",
                   "prefix of every topic (the topic is prefix + recipient name); empty as the original", "", false,
                   false, false, [](settings& s, std::string_view text) -> result<void> {
                     if (text.find_first_of("+#") != std::string_view::npos) {
                       return invalid("must not contain the MQTT wildcards + or #");
                     }
                     s.mqtt.topic_prefix = std::string(text);
                     return ok();
                   }});
  table.push_back({"MQTT_CLIENT_ID", "mqtt-client-id", "MQTT client id; default derived from the identity name", "",
                   false, false, false, [](settings& s, std::string_view text) -> result<void> {
                     if (text.size() > 128) return invalid("is longer than 128 bytes");
                     s.mqtt.client_id = std::string(text);
                     return ok();
                   }});
  table.push_back({"MQTT_KEEPALIVE", "mqtt-keepalive", "keepalive interval (s, m suffix allowed)", "30s", false, false,
                   false, [](settings& s, std::string_view text) -> result<void> {
                     auto interval = parse_duration(text, seconds(5), seconds(65535));
                     if (interval) s.mqtt.keepalive = std::chrono::duration_cast<seconds>(*interval);
                     return carry(interval);
                   }});
  table.push_back({"MQTT_TLS_CA_FILE", "mqtt-tls-ca-file", "CA certificates (PEM) that sign the broker's; enables TLS",
                   "", false, false, false, [](settings& s, std::string_view text) -> result<void> {
                     auto file = parse_readable_file(text);
                     if (file) s.mqtt.tls_ca_file = *file;
                     return carry(file);
                   }});
  table.push_back({"MQTT_TLS_CERT_FILE", "mqtt-tls-cert-file", "client certificate (PEM) for mutual TLS", "", false,
                   false, false, [](settings& s, std::string_view text) -> result<void> {
                     auto file = parse_readable_file(text);
                     if (file) s.mqtt.tls_cert_file = *file;
                     return carry(file);
                   }});
  table.push_back({"MQTT_TLS_KEY_FILE", "mqtt-tls-key-file", "private key (PEM) of the client certificate (mode 0600)",
                   "", false, false, false, [](settings& s, std::string_view text) -> result<void> {
                     auto file = parse_readable_file(text);
                     if (!file) return file.error();
                     // Refused as ssh refuses it, and as the identity key is (identity::load_private_key).
                     struct stat info {};
                     if (::stat(file->c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
                       return invalid("is accessible by group or others; fix with: chmod 600 " + file->string());
                     }
                     s.mqtt.tls_key_file = *file;
                     return ok();
                   }});
  table.push_back({"MQTT_USERNAME", "mqtt-username", "user name for the broker", "", false, false, false,
                   [](settings& s, std::string_view text) -> result<void> {
                     s.mqtt.username = std::string(text);
                     return ok();
                   }});
  table.push_back({"MQTT_PASSWORD", "mqtt-password", "password for the broker (never logged)", "", false, true, false,
                   [](settings& s, std::string_view text) -> result<void> {
                     s.mqtt.password = std::string(text);
                     return ok();
                   }});
  append(table, lift(discovery_options(), &settings::dane));
  return table;
}

result<void> check_consistency(const service_settings& settings) {
  const auto& mqtt = settings.mqtt;
  if (!mqtt.tls_cert_file.empty() && mqtt.tls_key_file.empty()) {
    return fail(errc::missing_setting, "MQTT_TLS_KEY_FILE (--mqtt-tls-key-file) is required with MQTT_TLS_CERT_FILE");
  }
  if (mqtt.tls_cert_file.empty() && !mqtt.tls_key_file.empty()) {
    return fail(errc::missing_setting, "MQTT_TLS_CERT_FILE (--mqtt-tls-cert-file) is required with MQTT_TLS_KEY_FILE");
  }
  if (!mqtt.tls_cert_file.empty() && mqtt.tls_ca_file.empty()) {
    return fail(
        errc::missing_setting,
        "MQTT_TLS_CA_FILE (--mqtt-tls-ca-file) is required with a client certificate: TLS needs the broker's CA");
  }
  if (!mqtt.password.empty() && mqtt.username.empty()) {
    return fail(errc::missing_setting, "MQTT_USERNAME (--mqtt-username) is required with MQTT_PASSWORD");
  }
  return ok();
}

std::string topic_for(const mqtt_settings& mqtt, std::string_view recipient) {
  return mqtt.topic_prefix + std::string(recipient);
}

result<void> apply_app_uid(const std::optional<uid_t>& uid) {
  if (!uid || ::geteuid() != 0) return ok();
  gid_t gid = static_cast<gid_t>(*uid);
  // The user's primary group when the account exists; else the same number,
  // as container images commonly create a user and group with one id.
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(*uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) gid = found->pw_gid;
  if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(*uid) != 0) {
    return fail(errc::invalid_setting,
                "APP_UID (--app-uid): cannot switch to user " + std::to_string(*uid) + ": " + std::strerror(errno));
  }
  return ok();
}

}  // namespace danemq::config
