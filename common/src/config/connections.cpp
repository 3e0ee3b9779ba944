#include "danemq/config/connections.hpp"

#include "danemq/dane/discovery.hpp"

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
