#pragma once
// The settings of the broker plugin: Mosquitto's `plugin_opt_<key> <value>`
// lines, read once at broker start into one struct. A bad value stops the
// broker with a one-line error naming the option.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/identity/name_allow_list.hpp"

namespace danemq::mosquitto_auth {

struct plugin_settings {
  /// dns_resolver, dnssec_validation, dnssec_trust_anchor; cache_max_ttl is
  /// dane.cache.max_ttl: how long an admission lasts after the TLSA record goes.
  dane::discovery_config dane{};
  /// audience (required): the `aud` a token must carry, this broker's name.
  std::string audience;
  /// topic_prefix: as the devices' MQTT_TOPIC_PREFIX; a device N reads prefix + N.
  std::string topic_prefix;
  /// max_token_age: how old a token's `iat` may be; also how long its jti is remembered.
  std::chrono::seconds max_token_age{60};
  /// A token's `iat` may be this much ahead of the broker's clock.
  std::chrono::seconds allowed_skew{5};
  /// allowed_names: checked before any DNS query; empty admits every name DNS vouches for.
  identity::name_allow_list allowed_names{};
  /// allow_plaintext: tokens may arrive over listeners without TLS (loopback tests).
  bool allow_plaintext{false};
  /// lookup_wait: how long the basic-auth event waits for a name's first lookup.
  std::chrono::milliseconds lookup_wait{200};
  /// lookup_threads: plugin threads doing DNS lookups, so that one slow zone
  /// does not hold up the names of others.
  unsigned lookup_threads{4};
  /// sys_topics: clients may subscribe to $SYS/# (monitoring).
  bool sys_topics{false};
};

/// The settings from the plugin's options (key without `plugin_opt_`, value).
/// Failure errc::invalid_argument with one line: "plugin_opt_<key>: <reason>";
/// an unknown key is refused too (a misspelt option would silently do nothing).
[[nodiscard]] result<plugin_settings> parse_plugin_settings(
    const std::vector<std::pair<std::string, std::string>>& options);

/// "60", "60s", "200ms", "5m", "1h" as a duration. Failure invalid_argument.
[[nodiscard]] result<std::chrono::milliseconds> parse_plugin_duration(std::string_view text);

}  // namespace danemq::mosquitto_auth
