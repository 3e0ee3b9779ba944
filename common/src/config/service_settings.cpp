#include "danemq/config/service_settings.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "danemq/identity/dns_name.hpp"

namespace danemq::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

/// The broker's rows, lifted into service_settings by service_options().
option_table<mqtt_settings> mqtt_options() {
  using S = mqtt_settings;
  return {
      {.env = "MQTT_HOST",
       .flag = "--mqtt-host",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.empty()) return invalid("is empty");
                   s.host = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.host; }},
       .help = "broker host name or address (not needed by the receiver's `inbox`, `quarantine`, `health`)",
       .required = true,
       .when_missing = "there is no default: the original used the public, plaintext broker.hivemq.com, where "
                       "anyone can read and write every device's topic (set MQTT_HOST=broker.hivemq.com to use "
                       "it knowingly)",
       .original = true},
      {.env = "MQTT_PORT",
       .flag = "--mqtt-port",
       .value = port_number<S>(&S::port),
       .help = "broker port (8883 is usual with TLS)",
       .original = true},
      {.env = "MQTT_PROTOCOL",
       .flag = "--mqtt-protocol",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text == "3.1.1" || text == "311" || text == "4") {
                     s.protocol = mqtt_protocol::v311;
                   } else if (text == "5" || text == "5.0") {
                     s.protocol = mqtt_protocol::v5;
                   } else {
                     return invalid("is not an MQTT version (3.1.1 or 5)");
                   }
                   return ok();
                 },
                 .show = [](const S& s) { return std::string(s.protocol == mqtt_protocol::v5 ? "5" : "3.1.1"); }},
       .help = "MQTT version: `3.1.1` or `5`"},
      {.env = "MQTT_QOS",
       .flag = "--mqtt-qos",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto qos = parse_unsigned(text, 0, 2);
                   if (!qos) return invalid("is not a QoS (0, 1 or 2)");
                   s.qos = static_cast<int>(*qos);
                   return ok();
                 },
                 .show = [](const S& s) { return std::to_string(s.qos); }},
       .help = "quality of service of publish and subscribe: 0, 1 or 2 (only 1 loses nothing in a crash)"},
      {.env = "MQTT_TOPIC_PREFIX",
       .flag = "--mqtt-topic-prefix",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.find_first_of("+#") != std::string_view::npos) {
                     return invalid("must not contain the MQTT wildcards + or #");
                   }
                   s.topic_prefix = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.topic_prefix; }},
       .help = "prefix of every topic (the topic is prefix + recipient name); empty, as in the original",
       .unset = "empty"},
      {.env = "MQTT_CLIENT_ID",
       .flag = "--mqtt-client-id",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.size() > 128) return invalid("is longer than 128 bytes");
                   s.client_id = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.client_id; }},
       .help = "MQTT client id of the daemon and of `run` (`send` always uses its own)",
       .unset = "`<IDENTITY_NAME>/receiver`, `/sender`"},
      {.env = "MQTT_KEEPALIVE",
       .flag = "--mqtt-keepalive",
       .value = duration_in<S>(&S::keepalive, seconds(5), seconds(65535)),
       .help = "keepalive interval"},
      {.env = "MQTT_TLS_CA_FILE",
       .flag = "--mqtt-tls-ca-file",
       .value = readable_file<S>(&S::tls_ca_file),
       .help = "CA certificates (PEM) that sign the broker's; setting it enables TLS"},
      {.env = "MQTT_TLS_CERT_FILE",
       .flag = "--mqtt-tls-cert-file",
       .value = readable_file<S>(&S::tls_cert_file),
       .help = "client certificate (PEM) for mutual TLS; needs the key and the CA file"},
      {.env = "MQTT_TLS_KEY_FILE",
       .flag = "--mqtt-tls-key-file",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto file = parse_readable_file(text);
                   if (!file) return file.error();
                   // Refused as ssh refuses it, and as the identity key is (identity::load_private_key).
                   struct stat info {};
                   if (::stat(file->c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
                     return invalid("is accessible by group or others; fix with: chmod 600 " + file->string());
                   }
                   s.tls_key_file = *file;
                   return ok();
                 },
                 .show = [](const S& s) { return s.tls_key_file.string(); }},
       .help = "its private key (PEM); refused if group or others can access it"},
      {.env = "MQTT_USERNAME",
       .flag = "--mqtt-username",
       .value = any_text<S>(&S::username),
       .help = "user name for the broker"},
      {.env = "MQTT_PASSWORD",
       .flag = "--mqtt-password",
       .value = any_text<S>(&S::password),
       .help = "password for the broker (secret, never logged; needs `MQTT_USERNAME`; refused over plaintext to a "
               "broker off this machine unless `MQTT_ALLOW_PLAINTEXT_PASSWORD` is set)",
       .secret = true},
      {.env = "MQTT_ALLOW_PLAINTEXT_PASSWORD",
       .flag = "--mqtt-allow-plaintext-password",
       .value = boolean<S>(&S::allow_plaintext_password),
       .help = "send `MQTT_PASSWORD` without TLS to a broker that is not on loopback (anyone on the path reads it)"},
  };
}

}  // namespace

option_table<dane::discovery_config> discovery_options() {
  using S = dane::discovery_config;
  constexpr std::uint64_t min_timeout_ms = 10;
  constexpr std::uint64_t max_timeout_ms = 60'000;
  return {
      {.env = "DNS_RESOLVER",
       .flag = "--dns-resolver",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.empty()) return ok();
                   auto server = dane::parse_server_address(text);
                   if (!server) {
                     return invalid(server.error().detail.empty() ? "is not an ip[:port]" : server.error().detail);
                   }
                   s.resolver = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.resolver; }},
       .help = "resolver `ip[:port]` for DANE lookups",
       .unset = "resolv.conf's first"},
      {.env = "DNSSEC_VALIDATION",
       .flag = "--dnssec-validation",
       .value = {
           .apply = [](S& s, std::string_view text) -> result<void> {
             auto mode = dane::parse_dnssec_mode(text);
             if (!mode) return invalid("is not resolver or local");
             s.dnssec = *mode;
             return ok();
           },
           .show = [](const S& s) { return std::string(s.dnssec == dane::dnssec_mode::local ? "local" : "resolver"); }},
       .help = "`resolver` (trust the AD bit of a validating resolver) or `local` (validate here)"},
      {.env = "DNSSEC_TRUST_ANCHOR",
       .flag = "--dnssec-trust-anchor",
       .value = readable_file<S>(&S::trust_anchor),
       .help = "DS/DNSKEY records of the trust anchor (`local` mode)"},
      {.env = "DNS_TIMEOUT_MS",
       .flag = "--dns-timeout-ms",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto ms = parse_unsigned(text, min_timeout_ms, max_timeout_ms);
                   if (ms) s.timeout = milliseconds(*ms);
                   return carry(ms);
                 },
                 .show = [](const S& s) { return std::to_string(s.timeout.count()); },
                 .range = std::to_string(min_timeout_ms) + ".." + std::to_string(max_timeout_ms)},
       .help = "DNS timeout per attempt, in milliseconds"},
      {.env = "DNS_RETRIES",
       .flag = "--dns-retries",
       .value = count_in<S>(&S::retries, 0, 10),
       .help = "DNS attempts after the first"},
      {.env = "DANE_CACHE_MAX_TTL",
       .flag = "--dane-cache-max-ttl",
       .value = duration_in<S>(
           [](auto& s) -> auto& { return s.cache.max_ttl; }, milliseconds(0), hours(24)),
       .help = "longest time a DANE answer is cached"},
      {.env = "DANE_NEGATIVE_CACHE_TTL",
       .flag = "--dane-negative-cache-ttl",
       .value = duration_in<S>(
           [](auto& s) -> auto& { return s.cache.max_negative_ttl; }, milliseconds(0), hours(1)),
       .help = "longest time an NXDOMAIN/NODATA answer is cached"},
      {.env = "DANE_FAILURE_CACHE_TTL",
       .flag = "--dane-failure-cache-ttl",
       .value = duration_in<S>(
           [](auto& s) -> auto& { return s.cache.failure_ttl; }, milliseconds(0), minutes(10)),
       .help = "how long a DNS timeout, SERVFAIL or failed PKIX-CD fetch is cached per name, and a zone whose lookups "
               "keep failing fails fast"},
      {.env = "PKIX_CD",
       .flag = "--pkix-cd",
       .value = boolean<S>(&S::pkix_cd),
       .help = "accept PKIX-CD (usage 4) TLSA records, fetching CAs over HTTPS"},
      {.env = "PKIX_CD_CA_BUNDLE",
       .flag = "--pkix-cd-ca-bundle",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.empty()) return ok();
                   auto file = parse_readable_file(text);
                   if (file) s.https.trusted_cas = *file;
                   return carry(file);
                 },
                 .show = [](const S& s) { return s.https.trusted_cas.string(); }},
       .help = "PEM CAs trusted for the PKIX-CD authority's HTTPS",
       .unset = "the system's"},
      {.env = "PKIX_CD_HTTPS_PORT",
       .flag = "--pkix-cd-https-port",
       .value = port_number<S>([](auto& s) -> auto& { return s.https.port; }),
       .help = "port of the PKIX-CD authority's HTTPS server"},
      {.env = "PKIX_CD_ALLOW_PRIVATE",
       .flag = "--pkix-cd-allow-private",
       .value = boolean<S>([](auto& s) -> auto& { return s.https.allow_private_addresses; }),
       .help = "let a PKIX-CD authority resolve to loopback, private or link-local addresses (off: a peer's name "
               "must not aim a fetch into the device's own network)"},
  };
}

option_table<service_settings> service_options(bool identity_required) {
  using S = service_settings;
  option_table<S> table{
      {.env = "IDENTITY_NAME",
       .flag = "--identity-name",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto name = identity::canonical_dns_name(text);
                   if (!name) return invalid("is not a valid DNS name (" + name.error().detail + ")");
                   s.identity_name = *name;
                   return ok();
                 },
                 .show = [](const S& s) { return s.identity_name; }},
       .help = "DNS name of this device's identity (not needed by the receiver's `inbox`, `quarantine`, `health`)",
       .required = identity_required,
       .original = true},
      {.env = "CRYPTO_PATH",
       .flag = "--crypto-path",
       .value = directory<S>(&S::crypto_path),
       .help = "directory of `<name>.key.pem`, `<name>.crt.pem`, `<name>.csr.pem`",
       .original = true},
      {.env = "DATA_PATH",
       .flag = "--data-path",
       .value = directory<S>(&S::data_path),
       .help = "directory of the SQLite database (`receiver.db`, `sender.db`)"},
      {.env = "APP_UID",
       .flag = "--app-uid",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto uid = parse_unsigned(text, 1, 4'294'967'294U);
                   if (!uid) return invalid("is not a user id (1..4294967294; root is refused)");
                   s.app_uid = static_cast<uid_t>(*uid);
                   return ok();
                 },
                 .show = [](const S& s) { return s.app_uid ? std::to_string(*s.app_uid) : std::string(); },
                 .range = "1..4294967294, root refused"},
       .help = "the user to run as when started as root",
       .original = true},
      {.env = "MAX_MESSAGE_SIZE",
       .flag = "--max-message-size",
       .value = size_in<S>(&S::max_message_size, 256, 64ULL * 1024 * 1024),
       .help = "largest encrypted message sent or accepted, in bytes, with an optional `K` or `M` suffix",
       .original = true},
      {.env = "LOG_FORMAT",
       .flag = "--log-format",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto format = log::parse_format(text);
                   if (!format) return invalid("is not text or json");
                   s.log_format = *format;
                   return ok();
                 },
                 .show = [](const S& s) { return std::string(s.log_format == log::format::json ? "json" : "text"); }},
       .help = "`text` or `json` (one object per line)"},
      {.env = "LOG_LEVEL",
       .flag = "--log-level",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto level = log::parse_level(text);
                   if (!level) return invalid("is not a log level (trace, debug, info, warning, error, critical, off)");
                   s.log_level = *level;
                   return ok();
                 },
                 .show =
                     [](const S& s) {
                       const auto name = spdlog::level::to_string_view(s.log_level);
                       return std::string(name.data(), name.size());
                     }},
       .help = "`trace`, `debug`, `info`, `warning`, `error`, `critical` or `off`"},
  };
  append(table, lift(mqtt_options(), &S::mqtt));
  append(table, lift(discovery_options(), &S::dane));
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
  if (!mqtt.password.empty() && mqtt.tls_ca_file.empty() && !is_loopback_host(mqtt.host) &&
      !mqtt.allow_plaintext_password) {
    return fail(errc::invalid_setting,
                "MQTT_PASSWORD (--mqtt-password) would cross the network in plaintext to " + mqtt.host +
                    ": enable TLS with MQTT_TLS_CA_FILE, or set MQTT_ALLOW_PLAINTEXT_PASSWORD=1 if the path is "
                    "trusted");
  }
  return ok();
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "localhost.") return true;
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  return false;
}

std::optional<std::string> plaintext_broker_warning(const mqtt_settings& mqtt) {
  if (!mqtt.tls_ca_file.empty() || is_loopback_host(mqtt.host)) return std::nullopt;
  return "broker " + mqtt.host + ":" + std::to_string(mqtt.port) +
         " without TLS: anyone on the path sees who talks to whom and when, and can drop or replay messages "
         "(their contents stay end-to-end encrypted); set MQTT_TLS_CA_FILE to use TLS";
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
