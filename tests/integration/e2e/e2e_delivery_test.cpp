// End to end: danemq-sender and danemq-receiver processes, a real Mosquitto
// and real DNSSEC-signed DNS. Delivery, offline delivery, refusals into the
// quarantine, the sender's exit codes and the outbox.

#include <signal.h>

#include "danemq/jose/jwe.hpp"
#include "danemq/jose/jws.hpp"
#include "support/e2e_support.hpp"

namespace danemq::e2e {
namespace {

class EndToEnd : public ::testing::TestWithParam<bool> {
 protected:
  world_options options() const {
    world_options out;
    out.mqtt5 = GetParam();
    return out;
  }
};

TEST_P(EndToEnd, AliceToBobIsDeliveredAndPrinted) {
  world w(options());
  auto bob = w.start_receiver("bob");
  auto sent = w.sender("alice", {"bob.danemq.test", "Hello, Bob!"}, {}, "send_message");
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(bob->wait_for_output("alice.danemq.test says: Hello, Bob!\n", 20s)) << bob->errors();
  ASSERT_TRUE(bob->errors().find("Reading " + (w.crypto_path() / "bob.danemq.test.key.pem").string()) !=
              std::string::npos);
  EXPECT_EQ(bob->stop(), 0) << "SIGTERM: a clean exit";

  const auto inbox = w.inbox("bob");
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].sender, "alice.danemq.test");
  EXPECT_TRUE(inbox[0].dnssec_secure);
  EXPECT_FALSE(inbox[0].legacy);
  auto listed = w.receiver_command("bob", {"inbox", "--json"});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find("\"message\":\"Hello, Bob!\""), std::string::npos) << listed.out;
}

TEST_P(EndToEnd, BobOfflineGetsEveryMessageOnceWhenHeReturns) {
  world w(options());
  {
    auto bob = w.start_receiver("bob");  // makes the persistent session
    ASSERT_EQ(bob->stop(), 0);
  }
  std::vector<std::string> sent;
  std::vector<std::string> wires;
  for (int i = 0; i < 100; ++i) {
    sent.push_back("while you were away #" + std::to_string(i));
    wires.push_back(w.seal("alice", "bob", sent.back()));
  }
  w.publish("bob", wires);
  auto bob = w.start_receiver("bob");
  ASSERT_TRUE(w.wait_for_stored("bob", 100)) << bob->errors();
  std::this_thread::sleep_for(300ms);  // anything more would be a duplicate
  EXPECT_EQ(texts_of(w.inbox("bob")), sent) << "all 100, once, in order";
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_EQ(bob->stop(), 0);
  EXPECT_EQ(said_lines(bob->output()).size(), 100u);
}

INSTANTIATE_TEST_SUITE_P(Mqtt, EndToEnd, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Mqtt5" : "Mqtt311"; });

TEST(EndToEndRefusals, BadMessagesGoToQuarantineWithTheirReasonAndGoodOnesGetThrough) {
  world w;
  auto bob = w.start_receiver("bob");

  const auto good1 = w.seal("alice", "bob", "good one");
  auto tampered = w.seal("alice", "bob", "tampered");
  const auto at = tampered.find("\"ciphertext\":\"") + 20;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  const auto wrong_recipient = w.seal("alice", "carol", "for carol");
  const auto oversized = std::string(5000, 'x');  // over MAX_MESSAGE_SIZE (4096)
  const auto unknown_sender = w.seal("mallory", "bob", "I am not in DNS");
  // A replay that is not byte-identical: the same signed note (same jti)
  // encrypted to bob again.
  const auto& alice = w.id("alice");
  jose::jws_header_fields fields;
  fields.x5u = "dns:alice.danemq.test?type=TLSA";
  fields.aud = "dns:bob.danemq.test?type=TLSA";
  fields.iat =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  fields.jti = "replayed-jti-1";
  const auto signed_note = jose::sign_jws("say it twice", *alice.key, fields, jose::serialization::flattened_json);
  ASSERT_TRUE(signed_note);
  const auto& bob_key = *w.id("bob").certificate;
  const crypto::unique_evp_pkey bob_public(X509_get_pubkey(const_cast<X509*>(&bob_key)));
  const auto first = jose::encrypt_jwe(*signed_note, *bob_public, "dns:bob.danemq.test?type=TLSA",
                                       jose::serialization::flattened_json);
  const auto replay = jose::encrypt_jwe(*signed_note, *bob_public, "dns:bob.danemq.test?type=TLSA",
                                        jose::serialization::flattened_json);
  ASSERT_TRUE(first && replay);
  ASSERT_NE(*first, *replay);
  const auto good2 = w.seal("alice", "bob", "good two");

  w.publish("bob", {good1, tampered, *first, wrong_recipient, oversized, *replay, unknown_sender, good2, good1});
  ASSERT_TRUE(w.wait_for_stored("bob", 8)) << bob->errors();
  std::this_thread::sleep_for(300ms);

  EXPECT_EQ(texts_of(w.inbox("bob")), (std::vector<std::string>{"good one", "say it twice", "good two"}))
      << "good messages around the bad ones are delivered; the identical copy of good1 once";
  std::map<int, std::string> reasons;
  std::map<int, std::string> reason_texts;
  for (const auto& row : w.quarantine("bob")) {
    EXPECT_EQ(row.reason.category, "jose");
    reasons[row.reason.value] = std::string(row.payload.begin(), row.payload.end());
    reason_texts[row.reason.value] = row.reason.text;
  }
  ASSERT_EQ(reasons.size(), 5u);
  EXPECT_EQ(reasons[static_cast<int>(jose::errc::decryption_failed)], tampered);
  EXPECT_EQ(reasons[static_cast<int>(jose::errc::not_for_us)], wrong_recipient);
  // Refused as it arrived: only its size, digest and topic are kept.
  EXPECT_EQ(reasons[static_cast<int>(jose::errc::too_large)], "");
  EXPECT_NE(reason_texts[static_cast<int>(jose::errc::too_large)].find("message of " +
                                                                       std::to_string(oversized.size()) + " bytes"),
            std::string::npos)
      << reason_texts[static_cast<int>(jose::errc::too_large)];
  // The two copies are processed in parallel: whichever is accepted first,
  // the other is the replay.
  const auto& replayed = reasons[static_cast<int>(jose::errc::replay)];
  EXPECT_TRUE(replayed == *replay || replayed == *first) << replayed;
  EXPECT_EQ(reasons[static_cast<int>(jose::errc::unknown_in_dns)], unknown_sender);

  auto listed = w.receiver_command("bob", {"quarantine"});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find("replay"), std::string::npos) << listed.out;
  const auto said = said_lines(bob->output());
  EXPECT_EQ(said.size(), 3u) << "a refused message is never printed";
  EXPECT_NE(bob->errors().find("quarantined"), std::string::npos) << "but it is logged";
}

TEST(EndToEndSender, ExitsTwoForAnUnusableRecipientAndThreeForAnUnreachableBroker) {
  world w;
  auto unknown = w.sender("alice", {"send", "mallory.danemq.test", "hi"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  auto insecure = w.sender("alice", {"send", "dave.unsigned.test", "hi"});
  EXPECT_EQ(insecure.exit_code, 2) << insecure.err;
  EXPECT_NE(insecure.err.find("DNSSEC"), std::string::npos) << insecure.err;
  w.broker().stop();
  auto unreachable = w.sender("alice", {"--timeout", "1s", "send", "bob.danemq.test", "hi"});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.err;
  auto usage = w.sender("alice", {"send", "bob.danemq.test"});
  EXPECT_EQ(usage.exit_code, 1);
  auto missing = w.sender("alice", {"send", "bob.danemq.test", "hi"}, {{"MQTT_HOST", ""}});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("danemq-sender: MQTT_HOST (--mqtt-host) is required; there is no default", 0), 0u)
      << missing.err;
  EXPECT_NE(missing.err.find("broker.hivemq.com"), std::string::npos) << missing.err;
}

TEST(EndToEndSender, QueuedMessagesAreDeliveredInOrderByRun) {
  world w;
  {
    auto bob = w.start_receiver("bob");
    ASSERT_EQ(bob->stop(), 0);
  }
  w.broker().stop();
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back("queued #" + std::to_string(i));
    auto queued = w.sender("alice", {"--queue", "--timeout", "300ms", "send", "bob.danemq.test", sent.back()});
    ASSERT_EQ(queued.exit_code, 0) << queued.err;
    EXPECT_NE(queued.out.find("queued for bob.danemq.test"), std::string::npos) << queued.out;
  }
  w.broker().start();
  auto bob = w.start_receiver("bob");
  test::child_process run({(test::binary_dir() / "danemq-sender").string(), "run"},
                          w.env("alice", {{"OUTBOX_POLL_INTERVAL", "100ms"}}));
  ASSERT_TRUE(w.wait_for_stored("bob", 5)) << run.errors();
  EXPECT_EQ(texts_of(w.inbox("bob")), sent);
  EXPECT_EQ(run.stop(), 0);
  EXPECT_EQ(bob->stop(), 0);
}

// Reproduced: messages delivered in order by `run` were printed and recorded
// in the order the receiver's workers finished them.
TEST(EndToEndSender, TwoHundredMessagesFromOneSenderArePrintedAndListedInTheOrderSent) {
  world w;
  auto bob = w.start_receiver("bob", {{"RECEIVER_WORKERS", "8"}});
  const auto sent = w.queue_in_outbox("alice", "bob", "in order", 200);
  test::child_process run({(test::binary_dir() / "danemq-sender").string(), "run"},
                          w.env("alice", {{"OUTBOX_POLL_INTERVAL", "100ms"}}));
  ASSERT_TRUE(w.wait_for_stored("bob", sent.size())) << run.errors() << bob->errors();
  EXPECT_EQ(run.stop(), 0);
  EXPECT_EQ(bob->stop(), 0);
  EXPECT_EQ(texts_of(w.inbox("bob")), sent) << "listed in the order sent";
  std::vector<std::string> expected_lines;
  for (const auto& text : sent) expected_lines.push_back("alice.danemq.test says: " + text);
  EXPECT_EQ(said_lines(bob->output()), expected_lines) << "printed in the order sent";
  auto listed = w.receiver_command("bob", {"inbox", "--json"});
  EXPECT_NE(listed.out.find("\"iat\":"), std::string::npos) << "the listing carries iat";
}

}  // namespace
}  // namespace danemq::e2e
