// Fault injection, broker: Mosquitto killed with SIGKILL and restarted again
// and again while `danemq-sender run` streams its outbox to the receiver;
// and a TLS broker presenting a certificate the services must not accept
// (issued for another name, or by a CA they do not trust): refused with a
// clear error, nothing received through it, recovery once it is right.

#include <set>

#include "danemq/store/outbox.hpp"
#include "fault_support.hpp"

namespace danemq::e2e {
namespace {

TEST(FaultBroker, KilledAndRestartedThreeTimesDuringAStreamLosesAndDuplicatesNothing) {
  world w(quick_world());
  auto bob = w.start_receiver("bob");
  const auto sent = w.queue_in_outbox("alice", "bob", "through a broker that keeps dying", 600);
  test::child_process alice({(test::binary_dir() / "danemq-sender").string(), "run"},
                            w.env("alice", {{"OUTBOX_POLL_INTERVAL", "50ms"}}));
  std::vector<std::size_t> at_kill;
  std::size_t connects = 1;
  for (const std::size_t threshold : {100U, 250U, 400U}) {
    ASSERT_TRUE(w.wait_for_stored("bob", threshold, 60s)) << alice.errors();
    w.broker().kill();
    at_kill.push_back(w.inbox("bob").size());
    std::this_thread::sleep_for(200ms);
    w.broker().start();
    // The next kill only once the receiver is back: each restart is then one
    // the receiver saw and recovered from, however fast the stream runs.
    ++connects;
    ASSERT_TRUE(wait_for_log(*bob, "MQTT connected", 60s, connects)) << "no reconnect after restart " << connects - 1;
  }
  ASSERT_TRUE(w.wait_for_stored("bob", sent.size(), 90s)) << "stored " << w.inbox("bob").size() << "\n--- sender\n"
                                                          << alice.errors() << "\n--- broker\n"
                                                          << w.broker().log();
  std::this_thread::sleep_for(500ms);
  expect_exactly_once(sent, texts_of(w.inbox("bob")));
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_LT(at_kill.back(), sent.size()) << "the last kill should land in the middle of the stream";
  EXPECT_EQ(alice.stop(), 0);
  EXPECT_EQ(bob->stop(), 0);
  auto outbox = store::outbox::open(w.data_path("alice") / "sender.db");
  EXPECT_EQ(outbox->size().value(), 0u) << "every entry acknowledged and removed";
}

/// The broker's certificate replaced by `name`'s, signed by the rig's CA (or
/// self-signed when `self_signed`); the broker restarted with it.
void present_certificate(world& w, const std::string& name, bool self_signed) {
  const auto& tls = w.broker().tls();
  const auto dir = w.broker().dir();
  const auto key = (dir / "wrong.key").string();
  const auto ext = dir / "wrong.ext";
  std::ofstream(ext) << "[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=CA:false\n"
                     << "subjectAltName=DNS:" << name << "\nextendedKeyUsage=serverAuth\n";
  const auto run = [](const std::vector<std::string>& argv) {
    auto done = test::run_command(argv);
    ASSERT_EQ(done.exit_code, 0) << done.err;
  };
  run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key});
  if (self_signed) {
    run({"openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=" + name, "-days", "2", "-out",
         (dir / "wrong.crt").string(), "-extensions", "v3", "-config", ext.string()});
  } else {
    run({"openssl", "req", "-new", "-key", key, "-subj", "/CN=" + name, "-out", (dir / "wrong.csr").string()});
    run({"openssl", "x509", "-req", "-in", (dir / "wrong.csr").string(), "-CA", tls.ca_cert.string(), "-CAkey",
         (dir / "ca.key").string(), "-CAcreateserial", "-days", "2", "-out", (dir / "wrong.crt").string(), "-extfile",
         ext.string(), "-extensions", "v3"});
  }
  std::filesystem::copy_file(dir / "wrong.crt", tls.server_cert, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(key, tls.server_key, std::filesystem::copy_options::overwrite_existing);
  w.broker().kill();
  w.broker().start();
}

class FaultBrokerCertificate : public ::testing::TestWithParam<bool> {};

TEST_P(FaultBrokerCertificate, IsRefusedWithAClearErrorAndNothingIsExchangedUntilItIsRight) {
  const bool self_signed = GetParam();
  world_options options = quick_world();
  options.broker.tls = true;
  world w(options);
  const auto right_cert = w.broker().dir() / "right.crt";
  const auto right_key = w.broker().dir() / "right.key";
  std::filesystem::copy_file(w.broker().tls().server_cert, right_cert);
  std::filesystem::copy_file(w.broker().tls().server_key, right_key);
  present_certificate(w, self_signed ? "localhost" : "broker.elsewhere.example", self_signed);

  test::child_process bob({(test::binary_dir() / "danemq-receiver").string()}, w.env("bob"));
  ASSERT_TRUE(wait_for_log(bob, "TLS handshake failed", 20s)) << bob.errors();
  const auto log = bob.errors();
  EXPECT_NE(log.find("certificate verify failed"), std::string::npos) << log;
  EXPECT_EQ(log.find("MQTT connected"), std::string::npos) << log;
  EXPECT_NE(log.find("retrying in"), std::string::npos) << "keeps trying with back-off:\n" << log;
  // The health record (saved every HEALTH_INTERVAL) names the reason.
  auto health = w.receiver_command("bob", {"health"});
  for (int i = 0; i < 50 && health.out.find("TLS") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    health = w.receiver_command("bob", {"health"});
  }
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_NE(health.out.find("TLS handshake failed"), std::string::npos) << health.out;

  auto sent = w.sender("alice", {"--timeout", "2s", "send", "bob.danemq.test", "to an impostor"});
  EXPECT_EQ(sent.exit_code, 3) << sent.err;
  EXPECT_NE(sent.err.find("certificate verify failed"), std::string::npos) << sent.err;

  // The right certificate back: the receiver connects on its own and gets mail.
  std::filesystem::copy_file(right_cert, w.broker().tls().server_cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(right_key, w.broker().tls().server_key, std::filesystem::copy_options::overwrite_existing);
  w.broker().kill();
  w.broker().start();
  // The receiver's next attempt may be a whole back-off away: the delay is
  // capped at 30 s plus 20 % jitter, and a loaded machine reaches the cap
  // before the right certificate is back.
  ASSERT_TRUE(wait_for_log(bob, "MQTT connected", 60s)) << bob.errors();
  sent = w.sender("alice", {"send", "bob.danemq.test", "to the real broker"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(bob.wait_for_output("alice.danemq.test says: to the real broker\n", 20s)) << bob.errors();
  EXPECT_EQ(texts_of(w.inbox("bob")), std::vector<std::string>{"to the real broker"});
  EXPECT_EQ(bob.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Broker, FaultBrokerCertificate, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "SelfSigned" : "IssuedForAnotherName"; });

}  // namespace
}  // namespace danemq::e2e
