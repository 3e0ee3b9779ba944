#include "danemq/config/service_settings.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "danemq/config/cli_binding.hpp"
#include "danemq/config/connections.hpp"
#include "support/process.hpp"

namespace danemq::config {
namespace {

result<service_settings> parse(std::vector<std::string> args) {
  CLI::App app("service");
  option_binding<service_settings> binding(app, service_options());
  args.insert(args.begin(), "service");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  service_settings settings;
  if (auto applied = binding.apply(settings); !applied) return applied.error();
  if (auto consistent = check_consistency(settings); !consistent) return consistent.error();
  return settings;
}

TEST(DataPath, OutsideAContainerTheMissingDefaultIsRefusedAndNamed) {
  test::temp_dir root;
  service_settings settings;
  settings.data_path = root.path() / "data";  // stands for the default /data/
  auto refused = prepare_data_path(settings, /*inside_container=*/false, settings.data_path);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find("DATA_PATH (--data-path) is not set"), std::string::npos)
      << refused.error().detail;
  EXPECT_FALSE(std::filesystem::exists(settings.data_path)) << "nothing created";

  EXPECT_TRUE(prepare_data_path(settings, /*inside_container=*/true, settings.data_path)) << "a container's volume";
  EXPECT_TRUE(std::filesystem::is_directory(settings.data_path));
  EXPECT_TRUE(prepare_data_path(settings, false, settings.data_path)) << "the default exists";

  settings.data_path = root.path() / "given";  // given, not the default: created
  EXPECT_TRUE(prepare_data_path(settings, false, root.path() / "data"));
  EXPECT_TRUE(std::filesystem::is_directory(settings.data_path));
}

TEST(ServiceOptions, KeepTheOriginalDefaults) {
  auto s = parse({"--identity-name", "Bob.Example.", "--mqtt-host", "broker"});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->identity_name, "bob.example");
  EXPECT_EQ(s->crypto_path, "/identity/");
  EXPECT_EQ(s->data_path, "/data/");
  EXPECT_EQ(s->mqtt.port, 1883);
  EXPECT_EQ(s->mqtt.qos, 1);
  EXPECT_EQ(s->mqtt.protocol, mqtt_protocol::v311);
  EXPECT_EQ(s->mqtt.topic_prefix, "");
  EXPECT_EQ(topic_for(s->mqtt, "alice.example"), "alice.example");
  EXPECT_EQ(s->log_format, log::format::text);
  EXPECT_FALSE(s->app_uid.has_value());
}

TEST(ServiceOptions, RequireIdentityAndBroker) {
  auto s = parse({"--mqtt-host", "broker"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail, "IDENTITY_NAME (--identity-name) is required");
  auto t = parse({"--identity-name", "bob.example"});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().detail.rfind("MQTT_HOST (--mqtt-host) is required; there is no default", 0), 0u)
      << t.error().detail;
  EXPECT_NE(t.error().detail.find("MQTT_HOST=broker.hivemq.com"), std::string::npos) << t.error().detail;
  EXPECT_EQ(t.error().detail.find('\n'), std::string::npos) << "one line";
}

TEST(ServiceOptions, ReadABrokerListInOrderWithMqttPortForTheRest) {
  auto s = parse({"--identity-name", "bob.example", "--mqtt-host", "node1, node2:1884,[::1]:1885,fe80::1,[::2]",
                  "--mqtt-port", "1999"});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->mqtt.host, "node1");
  EXPECT_EQ(broker_list_text(s->mqtt), "node1:1999, node2:1884, [::1]:1885, [fe80::1]:1999, [::2]:1999");
  const auto options = mqtt_client_options(s->mqtt, "bob.example/receiver");
  EXPECT_EQ(options.host, "node1");
  EXPECT_EQ(options.port, 1999);
  ASSERT_EQ(options.more_brokers.size(), 4u);
  EXPECT_EQ(options.more_brokers[0].host, "node2");
  EXPECT_EQ(options.more_brokers[0].port, 1884);
  EXPECT_EQ(options.more_brokers[1].host, "::1");
  EXPECT_EQ(options.more_brokers[2].port, 1999) << "no port of its own: MQTT_PORT";

  auto first_with_port = parse({"--identity-name", "bob.example", "--mqtt-host", "node1:2000,node2"});
  ASSERT_TRUE(first_with_port);
  const auto second = mqtt_client_options(first_with_port->mqtt, "x");
  EXPECT_EQ(second.port, 2000);
  EXPECT_EQ(second.more_brokers.at(0).port, 1883);
}

TEST(ServiceOptions, NameWhatIsWrongInABrokerList) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a,,b", "MQTT_HOST (--mqtt-host): 'a,,b' has an empty entry"},
      {"a,", "MQTT_HOST (--mqtt-host): 'a,' has an empty entry"},
      {"a:0", "MQTT_HOST (--mqtt-host): 'a:0' has no port number (1-65535) after ':'"},
      {"b,a:", "MQTT_HOST (--mqtt-host): 'b,a:' its entry 'a:' has no port number (1-65535) after ':'"},
      {"[::1", "MQTT_HOST (--mqtt-host): '[::1' lacks its ']'"},
      {"[::1]x", "MQTT_HOST (--mqtt-host): '[::1]x' has text after ']'"},
      {":1883", "MQTT_HOST (--mqtt-host): ':1883' names no host"},
      {"a b", "MQTT_HOST (--mqtt-host): 'a b' is not a host name or address"},
  };
  for (const auto& [value, message] : cases) {
    auto s = parse({"--identity-name", "bob.example", "--mqtt-host", value});
    ASSERT_FALSE(s) << value;
    EXPECT_EQ(s.error().detail, message) << value;
  }
}

TEST(ServiceOptions, NameAnInvalidIdentityName) {
  auto s = parse({"--identity-name", "bad..name", "--mqtt-host", "broker"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::invalid_setting));
  EXPECT_EQ(s.error().detail.rfind("IDENTITY_NAME (--identity-name): 'bad..name' is not a valid DNS name", 0), 0u)
      << s.error().detail;
}

TEST(ServiceOptions, ReadTheNewBrokerSettings) {
  auto s = parse({"--identity-name",
                  "bob.example",
                  "--mqtt-host",
                  "broker",
                  "--mqtt-protocol",
                  "5",
                  "--mqtt-qos",
                  "2",
                  "--mqtt-topic-prefix",
                  "danemq/",
                  "--mqtt-username",
                  "u",
                  "--mqtt-password",
                  "p",
                  "--log-format",
                  "json",
                  "--max-message-size",
                  "1M",
                  "--app-uid",
                  "1000",
                  "--mqtt-allow-plaintext-password",
                  "1"});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->mqtt.protocol, mqtt_protocol::v5);
  EXPECT_EQ(s->mqtt.qos, 2);
  EXPECT_EQ(topic_for(s->mqtt, "bob.example"), "danemq/bob.example");
  EXPECT_EQ(s->mqtt.password, "p");
  EXPECT_EQ(s->log_format, log::format::json);
  EXPECT_EQ(s->max_message_size, 1024u * 1024);
  EXPECT_EQ(s->app_uid, 1000u);
}

TEST(ServiceOptions, RefuseWildcardsInTheTopicPrefix) {
  auto s = parse({"--identity-name", "bob.example", "--mqtt-host", "b", "--mqtt-topic-prefix", "a/#"});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("MQTT_TOPIC_PREFIX"), std::string::npos);
}

TEST(ServiceOptions, RefuseAnUnknownProtocolAndQos) {
  EXPECT_FALSE(parse({"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-protocol", "3.1"}));
  EXPECT_FALSE(parse({"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-qos", "3"}));
  EXPECT_FALSE(parse({"--identity-name", "b.example", "--mqtt-host", "b", "--app-uid", "0"}));
}

TEST(ServiceConsistency, RequiresTheKeyAndCaWithAClientCertificate) {
  test::temp_dir dir;
  const auto cert = (dir.path() / "c.pem").string();
  std::ofstream(cert) << "x";
  std::filesystem::permissions(cert, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto s = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-tls-cert-file", cert});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail, "MQTT_TLS_KEY_FILE (--mqtt-tls-key-file) is required with MQTT_TLS_CERT_FILE");
  auto t = parse(
      {"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-tls-cert-file", cert, "--mqtt-tls-key-file", cert});
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().detail.find("MQTT_TLS_CA_FILE"), std::string::npos);
}

TEST(ServiceConsistency, RefusesATlsKeyFileGroupOrOthersCanReadAndSaysHowToFixIt) {
  test::temp_dir dir;
  const auto key = (dir.path() / "k.pem").string();
  std::ofstream(key) << "x";
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                        std::filesystem::perms::group_read);
  auto s = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-tls-key-file", key});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail, "MQTT_TLS_KEY_FILE (--mqtt-tls-key-file): '" + key +
                                  "' is accessible by group or others; fix with: chmod 600 " + key);
  std::filesystem::permissions(key, std::filesystem::perms::group_read, std::filesystem::perm_options::remove);
  auto t = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-tls-key-file", key});
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().detail.find("MQTT_TLS_CERT_FILE"), std::string::npos) << "past the key, at the next check";
}

TEST(ServiceConsistency, RefusesAMissingTlsFileAtStart) {
  auto s = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-tls-ca-file", "/no/ca.pem"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail, "MQTT_TLS_CA_FILE (--mqtt-tls-ca-file): '/no/ca.pem' is not an existing file");
}

TEST(ServiceConsistency, RefusesAPasswordInPlaintextOffThisMachineUnlessAllowed) {
  auto s = parse({"--identity-name", "b.example", "--mqtt-host", "mqtt.example.net", "--mqtt-username", "u",
                  "--mqtt-password", "hunter2"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::invalid_setting));
  EXPECT_NE(s.error().detail.find("plaintext"), std::string::npos) << s.error().detail;
  EXPECT_NE(s.error().detail.find("MQTT_ALLOW_PLAINTEXT_PASSWORD=1"), std::string::npos) << s.error().detail;
  EXPECT_EQ(s.error().message().find("hunter2"), std::string::npos);
  EXPECT_TRUE(parse({"--identity-name", "b.example", "--mqtt-host", "mqtt.example.net", "--mqtt-username", "u",
                     "--mqtt-password", "hunter2", "--mqtt-allow-plaintext-password", "1"}));
  for (const char* loopback : {"127.0.0.1", "127.1.2.3", "::1", "localhost"}) {
    EXPECT_TRUE(parse({"--identity-name", "b.example", "--mqtt-host", loopback, "--mqtt-username", "u",
                       "--mqtt-password", "hunter2"}))
        << loopback;
  }
}

TEST(ServiceConsistency, WarnsOfAPlaintextBrokerOffThisMachineOnly) {
  mqtt_settings mqtt;
  mqtt.host = "broker.hivemq.com";
  auto warning = plaintext_broker_warning(mqtt);
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("broker.hivemq.com:1883 without TLS"), std::string::npos) << *warning;
  EXPECT_NE(warning->find("MQTT_TLS_CA_FILE"), std::string::npos) << *warning;
  mqtt.host = "127.0.0.1";
  EXPECT_FALSE(plaintext_broker_warning(mqtt));
  mqtt.host = "::1";
  EXPECT_FALSE(plaintext_broker_warning(mqtt));
  mqtt.host = "10.0.0.5";
  EXPECT_TRUE(plaintext_broker_warning(mqtt));
  mqtt.tls_ca_file = "/identity/ca.pem";
  EXPECT_FALSE(plaintext_broker_warning(mqtt));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("localhost.example.net"));
}

TEST(ServiceConsistency, NeverPrintsThePassword) {
  auto s = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--mqtt-password", "hunter2"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace danemq::config

namespace danemq::config {
namespace {

TEST(ServiceOptions, ReadTheDaneSettings) {
  auto s = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--dns-resolver", "127.0.0.1:5353",
                  "--dnssec-validation", "local", "--dns-timeout-ms", "300", "--dane-negative-cache-ttl", "0"});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->dane.resolver, "127.0.0.1:5353");
  EXPECT_EQ(s->dane.dnssec, dane::dnssec_mode::local);
  EXPECT_EQ(s->dane.timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(s->dane.cache.max_negative_ttl, std::chrono::seconds(0));
  EXPECT_EQ(s->max_message_size, 4096u) << "the original's MAX_MESSAGE_SIZE";
}

TEST(ServiceOptions, ValidateDnssecLocallyUnlessTheResolverIsTrusted) {
  auto defaults = parse({"--identity-name", "b.example", "--mqtt-host", "b"});
  ASSERT_TRUE(defaults) << defaults.error().message();
  EXPECT_EQ(defaults->dane.dnssec, dane::dnssec_mode::local);
  EXPECT_FALSE(defaults->dane.trust_resolver);
  auto trusted = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--dnssec-validation", "resolver",
                        "--dnssec-trust-resolver", "1"});
  ASSERT_TRUE(trusted) << trusted.error().message();
  EXPECT_EQ(trusted->dane.dnssec, dane::dnssec_mode::resolver);
  EXPECT_TRUE(trusted->dane.trust_resolver);
}

TEST(ServiceOptions, RefuseAResolverThatIsAHostName) {
  auto s = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--dns-resolver", "dns.example"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail.rfind("DNS_RESOLVER (--dns-resolver): 'dns.example'", 0), 0u) << s.error().detail;
  auto t = parse({"--identity-name", "b.example", "--mqtt-host", "b", "--dnssec-validation", "maybe"});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().detail, "DNSSEC_VALIDATION (--dnssec-validation): 'maybe' is not resolver or local");
}

}  // namespace
}  // namespace danemq::config
