#include "danemq/config/connections.hpp"

#include "danemq/dane/discovery.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/jose/mqtt_token.hpp"

namespace danemq::config {

std::string client_id_for(const service_settings& settings, std::string_view role) {
  if (!settings.mqtt.client_id.empty()) return settings.mqtt.client_id;
  return settings.identity_name + "/" + std::string(role);
}

mqtt::client_options mqtt_client_options(const mqtt_settings& settings, std::string client_id) {
  mqtt::client_options options;
  options.host = settings.host;
  options.port = settings.port;
  if (!settings.brokers.empty()) {
    options.host = settings.brokers.front().host;
    if (settings.brokers.front().port != 0) options.port = settings.brokers.front().port;
    for (std::size_t i = 1; i < settings.brokers.size(); ++i) {
      auto broker = settings.brokers[i];
      if (broker.port == 0) broker.port = settings.port;
      options.more_brokers.push_back(std::move(broker));
    }
  }
  options.protocol = settings.protocol;
  options.client_id = std::move(client_id);
  options.keepalive = settings.keepalive;
  options.username = settings.username;
  options.password = settings.password;
  if (!settings.tls_ca_file.empty()) {
    options.tls = mqtt::tls_options{settings.tls_ca_file.string(), settings.tls_cert_file.string(),
                                    settings.tls_key_file.string()};
  }
  return options;
}

void use_dane_admission(mqtt::client_options& options, const service_settings& settings) {
  if (!settings.mqtt.dane_admission) return;
  options.username = settings.identity_name;
  options.password.clear();
  const std::string audience = settings.mqtt.auth_audience.empty() ? options.host : settings.mqtt.auth_audience;
  options.fresh_password = [name = settings.identity_name, audience,
                            key_file = identity::identity_paths::of(settings.crypto_path, settings.identity_name).key,
                            token = settings.identity_key]() -> result<std::string> {
    auto key = identity::load_identity_key(key_file, token);
    if (!key) return key.error();
    const crypto::private_key signer =
        key->outside ? crypto::private_key(*key->key, *key->outside) : crypto::private_key(*key->key);
    return jose::make_mqtt_token(name, audience, signer, std::chrono::system_clock::now());
  };
}

result<std::shared_ptr<dane::identity_source>> make_discovery(const service_settings& settings,
                                                              std::shared_ptr<dane::lookup_observer> observer) {
  auto made = dane::discovery::create(settings.dane);
  if (!made) {
    return fail(errc::invalid_setting,
                "DNS settings (DNS_RESOLVER, DNSSEC_VALIDATION, DNSSEC_TRUST_ANCHOR, DNSSEC_TRUST_RESOLVER): " +
                    made.error().message());
  }
  if (observer) (*made)->observe(std::move(observer));
  return std::shared_ptr<dane::identity_source>(std::move(*made));
}

}  // namespace danemq::config
