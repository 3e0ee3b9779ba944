#include "danemq/config/service_settings.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstdlib>
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
                   auto brokers = parse_broker_list(text);
                   if (!brokers) return invalid(brokers.error().detail);
                   s.brokers = std::move(*brokers);
                   s.host = s.brokers.front().host;
                   return ok();
                 },
                 .show = [](const S& s) { return s.brokers.size() > 1 ? broker_list_text(s) : s.host; },
                 .type_name = "HOST[:PORT],..."},
       .help = "broker host name or address, or a comma-separated list of `host[:port]` (the nodes of a cluster, "
               "tried in order at each connect); not needed by the receiver's `inbox`, `quarantine`, `health`",
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
                 .show = [](const S& s) { return std::string(s.protocol == mqtt_protocol::v5 ? "5" : "3.1.1"); },
                 .type_name = "VERSION"},
       .help = "MQTT version: `3.1.1` or `5`"},
      {.env = "MQTT_QOS",
       .flag = "--mqtt-qos",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto qos = parse_unsigned(text, 0, 2);
                   if (!qos) return invalid("is not a QoS (0, 1 or 2)");
                   s.qos = static_cast<int>(*qos);
                   return ok();
                 },
                 .show = [](const S& s) { return std::to_string(s.qos); },
                 .type_name = "QOS"},
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
                 .show = [](const S& s) { return s.topic_prefix; },
                 .type_name = "PREFIX"},
       .help = "prefix of every topic (the topic is prefix + recipient name); empty, as in the original",
       .unset = "empty"},
      {.env = "MQTT_CLIENT_ID",
       .flag = "--mqtt-client-id",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.size() > 128) return invalid("is longer than 128 bytes");
                   s.client_id = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.client_id; },
                 .type_name = "ID"},
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
                 .show = [](const S& s) { return s.tls_key_file.string(); },
                 .type_name = "FILE"},
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
      {.env = "MQTT_AUTH",
       .flag = "--mqtt-auth",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text == "password") {
                     s.dane_admission = false;
                   } else if (text == "dane") {
                     s.dane_admission = true;
                   } else {
                     return invalid("is not password or dane");
                   }
                   return ok();
                 },
                 .show = [](const S& s) { return std::string(s.dane_admission ? "dane" : "password"); },
                 .type_name = "METHOD"},
       .help = "how the broker admits us: `password` (`MQTT_USERNAME`, `MQTT_PASSWORD`, or none) or `dane` (user "
               "`IDENTITY_NAME`, password a fresh token signed by the identity key at every connect, for a broker "
               "with the danemq plugin)"},
      {.env = "MQTT_AUTH_AUDIENCE",
       .flag = "--mqtt-auth-audience",
       .value = any_text<S>(&S::auth_audience),
       .help = "with `MQTT_AUTH=dane`: the broker's name in the token (its `plugin_opt_audience`)",
       .unset = "the first host of `MQTT_HOST`"},
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
                 .show = [](const S& s) { return s.resolver; },
                 .type_name = "IP[:PORT]"},
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
           .show = [](const S& s) { return std::string(s.dnssec == dane::dnssec_mode::local ? "local" : "resolver"); },
           .type_name = "MODE"},
       .help = "`local` (validate here, from `DNSSEC_TRUST_ANCHOR`) or `resolver` (trust the AD bit of a validating "
               "resolver: only on loopback and not Docker's 127.0.0.11, unless `DNSSEC_TRUST_RESOLVER`)"},
      {.env = "DNSSEC_TRUST_ANCHOR",
       .flag = "--dnssec-trust-anchor",
       .value = readable_file<S>(&S::trust_anchor),
       .help = "DS/DNSKEY records of the trust anchor (`local` mode)"},
      {.env = "DNSSEC_TRUST_RESOLVER",
       .flag = "--dnssec-trust-resolver",
       .value = boolean<S>(&S::trust_resolver),
       .help = "the path to the resolver is trusted: allows `resolver` mode with a resolver not on loopback or "
               "Docker's embedded one"},
      {.env = "DNS_TIMEOUT_MS",
       .flag = "--dns-timeout-ms",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto ms = parse_unsigned(text, min_timeout_ms, max_timeout_ms);
                   if (ms) s.timeout = milliseconds(*ms);
                   return carry(ms);
                 },
                 .show = [](const S& s) { return std::to_string(s.timeout.count()); },
                 .range = std::to_string(min_timeout_ms) + ".." + std::to_string(max_timeout_ms),
                 .type_name = "MILLISECONDS"},
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
                 .show = [](const S& s) { return s.https.trusted_cas.string(); },
                 .type_name = "FILE"},
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

option_table<pkcs11::token_settings> token_key_options() {
  using S = pkcs11::token_settings;
  return {
      {.env = "IDENTITY_KEY_URI",
       .flag = "--identity-key-uri",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.empty()) return ok();
                   auto parsed = pkcs11::parse_uri(text);
                   if (!parsed) return invalid(parsed.error().detail);
                   s.key_uri = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.key_uri; }},
       .help = "the identity key in a PKCS#11 token instead of `<name>.key.pem` (RFC 7512: "
               "`pkcs11:token=danemq;object=<name>`; no PIN in it)",
       .unset = "the key file"},
      {.env = "PKCS11_MODULE",
       .flag = "--pkcs11-module",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.empty()) return invalid("is empty");
                   s.module = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.module.string(); }},
       .help = "the PKCS#11 module (a path, or a library name on the library path) that holds the token"},
      {.env = "PKCS11_PIN_FILE",
       .flag = "--pkcs11-pin-file",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   s.pin_file = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.pin_file.string(); }},
       .help = "a file (mode 0600) whose first line is the token's user PIN; the PIN itself is never a setting",
       .unset = "no PIN (a token with a PIN pad)"},
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
                 .show = [](const S& s) { return s.identity_name; },
                 .type_name = "NAME"},
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
       .help = "directory of the SQLite database (`receiver.db`, `sender.db`); outside a container the path "
               "given by no setting must exist"},
      {.env = "APP_UID",
       .flag = "--app-uid",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   auto uid = parse_unsigned(text, 1, 4'294'967'294U);
                   if (!uid) return invalid("is not a user id (1..4294967294; root is refused)");
                   s.app_uid = static_cast<uid_t>(*uid);
                   return ok();
                 },
                 .show = [](const S& s) { return s.app_uid ? std::to_string(*s.app_uid) : std::string(); },
                 .range = "1..4294967294, root refused",
                 .type_name = "UID"},
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
                 .show = [](const S& s) { return std::string(s.log_format == log::format::json ? "json" : "text"); },
                 .type_name = "FORMAT"},
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
                     },
                 .type_name = "LEVEL"},
       .help = "`trace`, `debug`, `info`, `warning`, `error`, `critical` or `off`"},
  };
  append(table, lift(mqtt_options(), &S::mqtt));
  append(table, lift(token_key_options(), &S::identity_key));
  append(table, lift(discovery_options(), &S::dane));
  return table;
}

bool in_container() {
  std::error_code ec;
  return std::filesystem::exists("/.dockerenv", ec) || std::filesystem::exists("/run/.containerenv", ec) ||
         std::getenv("container") != nullptr;
}

result<void> prepare_data_path(const service_settings& settings, bool inside_container,
                               const std::filesystem::path& default_path) {
  const auto& path = settings.data_path;
  std::error_code ec;
  if (!inside_container && path == default_path && !std::filesystem::exists(path, ec)) {
    return invalid("DATA_PATH (--data-path) is not set, and its default " + path.string() +
                   " (a container's volume) does not exist: set DATA_PATH to the directory for the database");
  }
  std::filesystem::create_directories(path, ec);
  if (ec) return invalid("DATA_PATH " + path.string() + ": " + ec.message());
  return ok();
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
  if (mqtt.dane_admission && (!mqtt.username.empty() || !mqtt.password.empty())) {
    return fail(errc::invalid_setting,
                "MQTT_USERNAME and MQTT_PASSWORD must not be set with MQTT_AUTH=dane (the user name is "
                "IDENTITY_NAME, the password a token)");
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

result<std::vector<mqtt::broker_address>> parse_broker_list(std::string_view text) {
  // The option's own message quotes the whole value: name the entry only in a list.
  const auto bad = [text](std::string_view entry, const std::string& why) {
    if (entry.size() == text.size()) return fail(errc::invalid_setting, why);
    return fail(errc::invalid_setting, "its entry '" + std::string(entry) + "' " + why);
  };
  std::vector<mqtt::broker_address> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    auto entry = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) return fail(errc::invalid_setting, text.empty() ? "is empty" : "has an empty entry");
    std::string_view host = entry;
    std::optional<std::string_view> port;
    if (entry.front() == '[') {
      const auto close = entry.find(']');
      if (close == std::string_view::npos) return bad(entry, "lacks its ']'");
      host = entry.substr(1, close - 1);
      const auto rest = entry.substr(close + 1);
      if (!rest.empty() && rest.front() != ':') return bad(entry, "has text after ']'");
      if (!rest.empty()) port = rest.substr(1);
    } else if (const auto colon = entry.find(':'); colon != std::string_view::npos && entry.rfind(':') == colon) {
      host = entry.substr(0, colon);
      port = entry.substr(colon + 1);
    }  // more than one ':' and no brackets: an IPv6 address, no port
    if (host.empty()) return bad(entry, "names no host");
    if (host.find_first_of(" \t/") != std::string_view::npos) return bad(entry, "is not a host name or address");
    mqtt::broker_address broker{std::string(host), 0};
    if (port) {
      auto number = parse_unsigned(*port, 1, 65535);
      if (!number) return bad(entry, "has no port number (1-65535) after ':'");
      broker.port = static_cast<std::uint16_t>(*number);
    }
    out.push_back(std::move(broker));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string broker_list_text(const mqtt_settings& mqtt) {
  std::string out;
  const auto one = [&](const std::string& host, std::uint16_t port) {
    if (!out.empty()) out += ", ";
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    out += ":" + std::to_string(port != 0 ? port : mqtt.port);
  };
  if (mqtt.brokers.empty()) {
    one(mqtt.host, mqtt.port);
  } else {
    for (const auto& broker : mqtt.brokers) one(broker.host, broker.port);
  }
  return out;
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
  if (!mqtt.tls_ca_file.empty()) return std::nullopt;
  bool off_machine = mqtt.brokers.empty() && !is_loopback_host(mqtt.host);
  for (const auto& broker : mqtt.brokers) off_machine = off_machine || !is_loopback_host(broker.host);
  if (!off_machine) return std::nullopt;
  return "broker " + broker_list_text(mqtt) +
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
