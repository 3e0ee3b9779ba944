#include "danemq/config/connections.hpp"

#include <gtest/gtest.h>

namespace danemq::config {
namespace {

TEST(Connections, DeriveAStableClientIdFromTheIdentity) {
  service_settings settings;
  settings.identity_name = "bob.example";
  EXPECT_EQ(client_id_for(settings, "receiver"), "bob.example/receiver");
  settings.mqtt.client_id = "thing-42";
  EXPECT_EQ(client_id_for(settings, "receiver"), "thing-42");
}

TEST(Connections, CarryBrokerSettingsIntoClientOptions) {
  mqtt_settings mqtt;
  mqtt.host = "broker.example";
  mqtt.port = 8883;
  mqtt.protocol = mqtt_protocol::v5;
  mqtt.tls_ca_file = "/ca.pem";
  mqtt.tls_cert_file = "/c.pem";
  mqtt.tls_key_file = "/k.pem";
  mqtt.username = "u";
  mqtt.password = "p";
  const auto options = mqtt_client_options(mqtt, "id");
  EXPECT_EQ(options.host, "broker.example");
  EXPECT_EQ(options.port, 8883);
  EXPECT_EQ(options.protocol, mqtt::protocol_version::v5);
  ASSERT_TRUE(options.tls.has_value());
  EXPECT_EQ(options.tls->cert_file, "/c.pem");
  EXPECT_EQ(options.password, "p");
  EXPECT_FALSE(options.clean_session);
  mqtt.tls_ca_file.clear();
  EXPECT_FALSE(mqtt_client_options(mqtt, "id").tls.has_value());
}

TEST(Connections, NameTheDnsSettingsWhenDiscoveryCannotStart) {
  service_settings settings;
  settings.dane.resolv_conf = "/no/such/resolv.conf";
  auto made = make_discovery(settings);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().code, make_error_code(errc::invalid_setting));
  EXPECT_NE(made.error().detail.find("DNS_RESOLVER"), std::string::npos);
}

}  // namespace
}  // namespace danemq::config
