#pragma once
// How the shared settings become the options of the two connections every
// messaging service makes: to the broker (mqtt::client_options) and to DNS
// (DANE discovery).

#include <memory>
#include <string>
#include <string_view>

#include "danemq/config/service_settings.hpp"
#include "danemq/core/result.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/dane/lookup_observer.hpp"
#include "danemq/mqtt/client.hpp"

namespace danemq::config {

/// The client id: MQTT_CLIENT_ID when set, else "<identity name>/<role>"
/// (stable across restarts, so the broker keeps a persistent session).
[[nodiscard]] std::string client_id_for(const service_settings& settings, std::string_view role);

/// Broker, protocol, TLS, credentials and keepalive from the settings; the
/// caller adds subscriptions and decides on the session.
[[nodiscard]] mqtt::client_options mqtt_client_options(const mqtt_settings& settings, std::string client_id);

/// With MQTT_AUTH=dane: user name IDENTITY_NAME, and a password source
/// that loads the identity key (file or PKCS#11 token, as the settings say)
/// and signs a fresh admission token for MQTT_AUTH_AUDIENCE (default: the
/// first broker's host) before every connect. The key is loaded at each
/// connect, so a rotated key is used from the next connection on. Nothing
/// otherwise.
void use_dane_admission(mqtt::client_options& options, const service_settings& settings);

/// DANE discovery as configured, its lookups told to `observer` (metrics;
/// null: nobody); failure invalid_setting naming the setting (an unreadable
/// trust anchor, no usable resolver in resolv.conf).
[[nodiscard]] result<std::shared_ptr<dane::identity_source>> make_discovery(
    const service_settings& settings, std::shared_ptr<dane::lookup_observer> observer = nullptr);

}  // namespace danemq::config
