// End to end through a broker that requires TLS with a client certificate
// (as AWS IoT Core does), under MQTT 3.1.1 and 5.

#include "support/e2e_support.hpp"

namespace danemq::e2e {
namespace {

class EndToEndTls : public ::testing::TestWithParam<bool> {};

TEST_P(EndToEndTls, DeliversThroughABrokerThatRequiresAClientCertificate) {
  world_options options;
  options.mqtt5 = GetParam();
  options.broker.tls = true;
  options.broker.require_client_certificate = true;
  world w(options);
  auto bob = w.start_receiver("bob");
  auto sent = w.sender("alice", {"send", "bob.danemq.test", "over mutual TLS"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(bob->wait_for_output("alice.danemq.test says: over mutual TLS\n", 20s)) << bob->errors();
  EXPECT_EQ(bob->stop(), 0);

  // Without the client certificate the broker refuses the connection: the
  // publish cannot be acknowledged.
  auto refused = w.sender("alice", {"--timeout", "1500ms", "send", "bob.danemq.test", "no certificate"},
                          {{"MQTT_TLS_CERT_FILE", ""}, {"MQTT_TLS_KEY_FILE", ""}});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  // A broker certificate from a CA we do not trust is refused, with TLS named.
  auto untrusted = w.sender("alice", {"--timeout", "1500ms", "send", "bob.danemq.test", "wrong CA"},
                            {{"MQTT_TLS_CA_FILE", w.broker().tls().stranger_ca_cert.string()}});
  EXPECT_EQ(untrusted.exit_code, 3);
  EXPECT_NE(untrusted.err.find("TLS"), std::string::npos) << untrusted.err;
}

INSTANTIATE_TEST_SUITE_P(Mqtt, EndToEndTls, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Mqtt5" : "Mqtt311"; });

}  // namespace
}  // namespace danemq::e2e
