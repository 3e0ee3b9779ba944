// Key hygiene: a private key file that its group or others can read is
// refused by every service, as ssh refuses one, with a message saying how to
// fix it (chmod 600 <file>); the identity key (CRYPTO_PATH) and the MQTT TLS
// client key (MQTT_TLS_KEY_FILE) alike. Nothing here needs a server: each
// service refuses before it would talk to DNS or the broker.

#include <sys/stat.h>

#include "fault_support.hpp"

namespace danemq::e2e {
namespace {

class FaultKeys : public ::testing::TestWithParam<mode_t> {
 protected:
  FaultKeys() {
    for (const auto* who : {"alice", "bob"}) {
      (void)test::make_identity(dir_.path() / "identity", full_name(who), identity::key_type::ec_p256);
    }
  }

  [[nodiscard]] std::map<std::string, std::string> env(const std::string& who,
                                                       const std::map<std::string, std::string>& extra = {}) const {
    std::map<std::string, std::string> out = {
        {"IDENTITY_NAME", full_name(who)},
        {"CRYPTO_PATH", (dir_.path() / "identity").string()},
        {"DATA_PATH", (dir_.path() / "data" / who).string()},
        {"MQTT_HOST", "localhost"},
        {"MQTT_PORT", std::to_string(port_)},  // nothing listens: nothing may get that far
        {"DNS_RESOLVER", "127.0.0.1:" + std::to_string(port_)},
        {"DNSSEC_VALIDATION", "resolver"},
        {"PKIX_CD", "0"},
        {"IDENTITY_RETRY_DELAY", "100ms"},
        {"HEALTH_INTERVAL", "200ms"},
    };
    for (const auto& [key, value] : extra) out[key] = value;
    return out;
  }
  [[nodiscard]] std::filesystem::path key_of(const std::string& who) const {
    return dir_.path() / "identity" / (full_name(who) + ".key.pem");
  }
  [[nodiscard]] test::command_result run(const std::string& program, const std::vector<std::string>& args,
                                         const std::map<std::string, std::string>& env) const {
    std::vector<std::string> argv{(test::binary_dir() / program).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, env, {}, 10s);
  }
  static std::string fix_for(const std::filesystem::path& key) { return "chmod 600 " + key.string(); }

  test::temp_dir dir_{"danemq-keys"};
  unsigned short port_{test::free_port()};
};

TEST_P(FaultKeys, SenderRefusesAnIdentityKeyOthersCanReadAndSaysHowToFixIt) {
  const auto key = key_of("alice");
  std::filesystem::permissions(key, static_cast<std::filesystem::perms>(GetParam()));
  const auto sent = run("danemq-sender", {"send", "bob.danemq.test", "hello"}, env("alice"));
  EXPECT_EQ(sent.exit_code, 1) << sent.err;
  EXPECT_NE(sent.err.find(fix_for(key)), std::string::npos) << sent.err;
  EXPECT_NE(sent.err.find("group or others"), std::string::npos) << sent.err;
}

TEST_P(FaultKeys, MaintenanceRefusesAnIdentityKeyOthersCanReadAndSaysHowToFixIt) {
  const auto key = key_of("alice");
  std::filesystem::permissions(key, static_cast<std::filesystem::perms>(GetParam()));
  for (const auto& command : {std::vector<std::string>{"generate_tlsa"}, std::vector<std::string>{"create_id_csr"},
                              std::vector<std::string>{"check"}}) {
    const auto done = run("danemq-maintenance", command, env("alice"));
    EXPECT_NE(done.exit_code, 0) << command[0] << ": " << done.out;
    EXPECT_NE(done.err.find(fix_for(key)), std::string::npos) << command[0] << ": " << done.err;
  }
}

TEST_P(FaultKeys, ReceiverRefusesAnIdentityKeyOthersCanReadUntilItIsFixed) {
  const auto key = key_of("bob");
  std::filesystem::permissions(key, static_cast<std::filesystem::perms>(GetParam()));
  test::child_process bob({(test::binary_dir() / "danemq-receiver").string()}, env("bob"));
  // It keeps checking (the key may be fixed without a restart) and never reads with it.
  ASSERT_TRUE(wait_for_log(bob, fix_for(key), 10s, 2)) << bob.errors();
  EXPECT_EQ(bob.errors().find("Reading "), std::string::npos) << bob.errors();
  const auto health = run("danemq-receiver", {"health"}, env("bob"));
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_NE(health.out.find(fix_for(key)), std::string::npos) << health.out;
  EXPECT_EQ(bob.stop(), 0);
}

TEST_P(FaultKeys, EveryServiceRefusesAnMqttTlsKeyOthersCanReadAtStart) {
  const auto tls_dir = dir_.path() / "tls";
  const auto files = test::make_broker_tls_files((std::filesystem::create_directories(tls_dir), tls_dir));
  std::filesystem::permissions(files.client_key, static_cast<std::filesystem::perms>(GetParam()));
  const std::map<std::string, std::string> tls = {{"MQTT_TLS_CA_FILE", files.ca_cert.string()},
                                                  {"MQTT_TLS_CERT_FILE", files.client_cert.string()},
                                                  {"MQTT_TLS_KEY_FILE", files.client_key.string()}};
  const auto expect_refused = [&](const test::command_result& done, const std::string& what) {
    EXPECT_EQ(done.exit_code, 1) << what << ": " << done.err;
    EXPECT_NE(done.err.find("MQTT_TLS_KEY_FILE"), std::string::npos) << what << ": " << done.err;
    EXPECT_NE(done.err.find(fix_for(files.client_key)), std::string::npos) << what << ": " << done.err;
  };
  expect_refused(run("danemq-sender", {"send", "bob.danemq.test", "hello"}, env("alice", tls)), "sender send");
  expect_refused(run("danemq-sender", {"run"}, env("alice", tls)), "sender run");
  expect_refused(run("danemq-receiver", {}, env("bob", tls)), "receiver");
}

INSTANTIATE_TEST_SUITE_P(Modes, FaultKeys, ::testing::Values(0640, 0604, 0644), [](const auto& info) {
  return "Mode0" + std::to_string(info.param / 64) + std::to_string(info.param / 8 % 8) +
         std::to_string(info.param % 8);
});

}  // namespace
}  // namespace danemq::e2e
