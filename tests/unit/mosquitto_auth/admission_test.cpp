#include "admission.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "danemq/jose/mqtt_token.hpp"
#include "support/process.hpp"
#include "support/test_peers.hpp"

namespace danemq::mosquitto_auth {
namespace {

using namespace std::chrono_literals;

class Admission : public ::testing::Test {
 protected:
  Admission() {
    peers->publish(alice);
    peers->publish(bob);
  }

  [[nodiscard]] plugin_settings settings() const {
    plugin_settings s;
    s.audience = "broker.example.net";
    s.lookup_wait = 200ms;
    s.lookup_threads = 2;
    return s;
  }
  std::string token(const identity::local_identity& signer, const std::string& name,
                    std::chrono::system_clock::time_point at = std::chrono::system_clock::now(),
                    const std::string& audience = "broker.example.net") {
    return jose::make_mqtt_token(name, audience, signer.private_key(), at).value();
  }
  auth_outcome connect(admission& broker, const void* connection, const std::string& user, const std::string& password,
                       const std::string& client_id) {
    return broker.authenticate(connection, user.c_str(), password.c_str(), client_id, std::chrono::system_clock::now());
  }

  test::temp_dir dir;
  identity::local_identity alice = test::make_identity(dir.path(), "alice.example.net", identity::key_type::ec_p256);
  identity::local_identity bob = test::make_identity(dir.path(), "bob.example.net", identity::key_type::ec_p256);
  identity::local_identity mallory =
      test::make_identity(dir.path(), "mallory.example.net", identity::key_type::ec_p256);
  std::shared_ptr<test::fake_peers> peers = std::make_shared<test::fake_peers>();
  int connection_a{0};
  int connection_b{0};
};

TEST_F(Admission, AdmitsATokenTheNamesTlsaKeyVerifies) {
  admission broker(settings(), peers);
  auto admitted = connect(broker, &connection_a, "alice.example.net", token(alice, "alice.example.net"),
                          "alice.example.net/receiver");
  EXPECT_TRUE(admitted.admitted) << admitted.reason;
  EXPECT_EQ(broker.connected_clients(), 1U);
  auto bare_id =
      connect(broker, &connection_b, "alice.example.net", token(alice, "alice.example.net"), "alice.example.net");
  EXPECT_TRUE(bare_id.admitted) << bare_id.reason;
}

TEST_F(Admission, RefusesEachReasonWithItsReason) {
  admission broker(settings(), peers);
  const auto now = std::chrono::system_clock::now();
  const std::string alice_name = "alice.example.net";
  const std::string id = "alice.example.net/receiver";
  const std::string good = token(alice, alice_name);
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> cases = {
      {"", good, id, "anonymous"},
      {alice_name, "", id, "no token"},
      {alice_name, "secret", id, "token: "},
      {alice_name, token(mallory, alice_name), id, "no key of the TLSA records verifies"},
      {alice_name, token(alice, alice_name, now, "other.example.net"), id, "audience"},
      {alice_name, token(alice, alice_name, now - 120s), id, "ago"},
      {alice_name, token(alice, alice_name, now + 120s), id, "future"},
      {alice_name, good, "bob.example.net/receiver", "client id"},
      {alice_name, good, "alice.example.networks", "client id"},
      {"Alice.example.net", good, id, "canonical"},
      {"not a name", good, id, "not a DNS name"},
      {"bob.example.net", good, "bob.example.net/receiver", "issuer is not the user name"},
  };
  for (const auto& [user, password, client_id, reason] : cases) {
    const auto outcome = broker.authenticate(&connection_a, user.empty() ? nullptr : user.c_str(), password.c_str(),
                                             client_id, std::chrono::system_clock::now());
    EXPECT_FALSE(outcome.admitted) << user << " " << client_id;
    EXPECT_NE(outcome.reason.find(reason), std::string::npos) << outcome.reason << " (expected " << reason << ")";
  }
  EXPECT_TRUE(connect(broker, &connection_a, alice_name, good, id).admitted);
  const auto replayed = connect(broker, &connection_b, alice_name, good, id);
  EXPECT_FALSE(replayed.admitted);
  EXPECT_NE(replayed.reason.find("replayed"), std::string::npos) << replayed.reason;
}

TEST_F(Admission, RefusesNamesOffTheAllowListWithoutALookup) {
  auto s = settings();
  s.allowed_names = identity::name_allow_list::parse("bob.example.net").value();
  admission broker(s, peers);
  const auto refused = connect(broker, &connection_a, "alice.example.net", token(alice, "alice.example.net"),
                               "alice.example.net/sender");
  EXPECT_FALSE(refused.admitted);
  EXPECT_NE(refused.reason.find("allowed_names"), std::string::npos) << refused.reason;
  EXPECT_EQ(peers->lookups(), 0);
  EXPECT_TRUE(
      connect(broker, &connection_b, "bob.example.net", token(bob, "bob.example.net"), "bob.example.net/x").admitted);
  EXPECT_EQ(peers->lookups(), 1);
}

TEST_F(Admission, RefusesInsecureAndUnknownNames) {
  admission broker(settings(), peers);
  peers->publish(alice, false);
  auto insecure =
      connect(broker, &connection_a, "alice.example.net", token(alice, "alice.example.net"), "alice.example.net");
  EXPECT_FALSE(insecure.admitted);
  EXPECT_NE(insecure.reason.find("DNSSEC"), std::string::npos) << insecure.reason;
  peers->fail_with("bob.example.net", dane::errc::bogus);
  auto bogus = connect(broker, &connection_a, "bob.example.net", token(bob, "bob.example.net"), "bob.example.net");
  EXPECT_FALSE(bogus.admitted);
  EXPECT_NE(bogus.reason.find("DANE lookup"), std::string::npos) << bogus.reason;
}

TEST_F(Admission, ASlowLookupIsAwaitedOnlyForLookupWaitAndFoundByTheRetry) {
  admission broker(settings(), peers);
  peers->hold("alice.example.net");
  const auto started = std::chrono::steady_clock::now();
  auto cold =
      connect(broker, &connection_a, "alice.example.net", token(alice, "alice.example.net"), "alice.example.net");
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(cold.admitted);
  EXPECT_NE(cold.reason.find("did not finish within 200 ms"), std::string::npos) << cold.reason;
  EXPECT_LT(waited, 2s);
  // Another name is not held up by the slow one.
  EXPECT_TRUE(
      connect(broker, &connection_b, "bob.example.net", token(bob, "bob.example.net"), "bob.example.net").admitted);
  peers->release_all();
  auto retried =
      connect(broker, &connection_a, "alice.example.net", token(alice, "alice.example.net"), "alice.example.net");
  EXPECT_TRUE(retried.admitted) << retried.reason;
}

TEST_F(Admission, AConnectedClientIsDisconnectedOnceARecheckFindsItsKeyGone) {
  admission broker(settings(), peers);
  ASSERT_TRUE(connect(broker, &connection_a, "alice.example.net", token(alice, "alice.example.net"),
                      "alice.example.net/receiver")
                  .admitted);
  ASSERT_TRUE(
      connect(broker, &connection_b, "bob.example.net", token(bob, "bob.example.net"), "bob.example.net/r").admitted);
  peers->fail_with("alice.example.net", dane::errc::nxdomain);
  std::vector<std::pair<std::string, std::string>> dropped;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  // The fake's identities expire at once: the first tick starts the re-checks, a later one reads them.
  while (dropped.empty() && std::chrono::steady_clock::now() < deadline) {
    dropped = broker.due_disconnections(admission::clock::now());
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(dropped.size(), 1U);
  EXPECT_EQ(dropped.front().first, "alice.example.net/receiver");
  EXPECT_NE(dropped.front().second.find("DANE lookup"), std::string::npos) << dropped.front().second;
  EXPECT_EQ(broker.connected_clients(), 1U);
  broker.disconnected(&connection_b);
  EXPECT_EQ(broker.connected_clients(), 0U);
}

TEST_F(Admission, ATemporaryRecheckFailureKeepsTheClient) {
  admission broker(settings(), peers);
  ASSERT_TRUE(connect(broker, &connection_a, "alice.example.net", token(alice, "alice.example.net"),
                      "alice.example.net/receiver")
                  .admitted);
  peers->fail_with("alice.example.net", dane::errc::timeout);
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(broker.due_disconnections(admission::clock::now()).empty());
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(broker.connected_clients(), 1U);
}

TEST_F(Admission, AclLetsAClientReadOnlyItsTopicAndWriteOnlyToNames) {
  auto s = settings();
  s.topic_prefix = "danemq/";
  admission broker(s, peers);
  const char* alice_name = "alice.example.net";
  EXPECT_TRUE(broker.allows(alice_name, "danemq/alice.example.net", access::subscribe));
  EXPECT_TRUE(broker.allows(alice_name, "danemq/alice.example.net", access::read));
  EXPECT_FALSE(broker.allows(alice_name, "danemq/bob.example.net", access::subscribe));
  EXPECT_FALSE(broker.allows(alice_name, "danemq/bob.example.net", access::read));
  EXPECT_FALSE(broker.allows(alice_name, "#", access::subscribe));
  EXPECT_FALSE(broker.allows(alice_name, "danemq/+", access::subscribe));
  EXPECT_FALSE(broker.allows(alice_name, "$SYS/broker/uptime", access::subscribe));
  EXPECT_FALSE(broker.allows(alice_name, "alice.example.net", access::subscribe));
  EXPECT_TRUE(broker.allows(alice_name, "danemq/bob.example.net", access::write));
  EXPECT_TRUE(broker.allows(alice_name, "danemq/alice.example.net", access::write));
  EXPECT_FALSE(broker.allows(alice_name, "danemq/not a name", access::write));
  EXPECT_FALSE(broker.allows(alice_name, "danemq/Bob.example.net", access::write));
  EXPECT_FALSE(broker.allows(alice_name, "bob.example.net", access::write));
  EXPECT_FALSE(broker.allows(alice_name, "$SYS/x", access::write));
  EXPECT_FALSE(broker.allows(nullptr, "danemq/alice.example.net", access::read));
  EXPECT_TRUE(broker.allows(alice_name, "anything", access::unsubscribe));
  s.sys_topics = true;
  admission monitored(s, peers);
  EXPECT_TRUE(monitored.allows(alice_name, "$SYS/broker/uptime", access::subscribe));
}

}  // namespace
}  // namespace danemq::mosquitto_auth
