#include "danemq/config/service_settings.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "danemq/config/cli_binding.hpp"
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
