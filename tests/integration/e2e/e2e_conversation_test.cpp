// Conversations end to end: signed delivery receipts between two devices
// (each a danemq-receiver and a `danemq-sender run` sharing the device's
// DATA_PATH), the sent log and `send --wait`, with a real Mosquitto and real
// DNSSEC-signed DNS.

#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "danemq/crypto/openssl.hpp"
#include "danemq/jose/jwe.hpp"
#include "danemq/jose/jws.hpp"
#include "support/e2e_support.hpp"

namespace danemq::e2e {
namespace {

/// A device: its receiver and its outbox runner (which delivers its receipts).
struct device {
  std::unique_ptr<test::child_process> receiver;
  std::unique_ptr<test::child_process> runner;
};

device start_device(world& w, const std::string& who, const std::map<std::string, std::string>& extra = {}) {
  device d;
  d.receiver = w.start_receiver(who, extra);
  d.runner = std::make_unique<test::child_process>(
      std::vector<std::string>{(test::binary_dir() / "danemq-sender").string(), "run"},
      w.env(who, {{"OUTBOX_POLL_INTERVAL", "100ms"}}));
  return d;
}

std::vector<store::sent_entry> sent_log(world& w, const std::string& who) {
  const auto path = w.data_path(who) / "sender.db";
  if (!std::filesystem::exists(path)) return {};
  auto db = store::outbox::open(path, store::open_options{.read_only = true});
  return db ? db->list_sent().value() : std::vector<store::sent_entry>{};
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

std::size_t delivered_count(world& w, const std::string& who) {
  std::size_t n = 0;
  for (const auto& row : sent_log(w, who)) n += row.delivered_at ? 1 : 0;
  return n;
}

/// A receipt signed by `signer` for `receipted`, encrypted to `to`, twice
/// (two different encryptions of one signed note: a replay, not a copy).
std::pair<std::string, std::string> receipt_twice(world& w, const std::string& signer, const std::string& to,
                                                  const store::sent_entry& receipted) {
  jose::jws_header_fields fields;
  fields.x5u = "dns:" + full_name(signer) + "?type=TLSA";
  fields.aud = "dns:" + full_name(to) + "?type=TLSA";
  fields.iat =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  fields.jti = "receipt-" + signer + "-" + *receipted.jti;
  fields.receipt = jose::receipt_claim{receipted.note_digest, *receipted.jti};
  const auto note = jose::sign_jws("", *w.id(signer).key, fields, jose::serialization::flattened_json);
  EXPECT_TRUE(note) << note.error().message();
  const crypto::unique_evp_pkey key(X509_get_pubkey(const_cast<X509*>(w.id(to).certificate.get())));
  const auto uri = "dns:" + full_name(to) + "?type=TLSA";
  auto first = jose::encrypt_jwe(*note, *key, uri, jose::serialization::flattened_json);
  auto second = jose::encrypt_jwe(*note, *key, uri, jose::serialization::flattened_json);
  EXPECT_TRUE(first && second);
  return {*first, *second};
}

TEST(EndToEndReceipts, TwentyMessagesAreConfirmedAndReceiptsNeverLoopOrShow) {
  world w;
  auto alice = start_device(w, "alice");
  auto bob = start_device(w, "bob");
  for (int i = 0; i < 20; ++i) {
    auto sent = w.sender("alice", {"send", "bob.danemq.test", "note #" + std::to_string(i)});
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
  }
  ASSERT_TRUE(wait_until([&] { return delivered_count(w, "alice") == 20; }, 60s))
      << delivered_count(w, "alice") << " delivered\nalice:\n"
      << alice.receiver->errors() << "\nbob's runner:\n"
      << bob.runner->errors();

  auto listed = w.sender("alice", {"sent", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::size_t lines = 0;
  std::istringstream in(listed.out);
  for (std::string line; std::getline(in, line); ++lines) {
    const auto row = nlohmann::json::parse(line);
    EXPECT_EQ(row.at("state"), "delivered") << line;
    EXPECT_EQ(row.at("recipient"), "bob.danemq.test");
    EXPECT_FALSE(row.at("delivered_at").is_null());
    EXPECT_FALSE(row.at("published_at").is_null());
    EXPECT_TRUE(row.at("jti").is_string());
    for (const auto* field : {"id", "queued_at"}) EXPECT_TRUE(row.contains(field)) << field;
  }
  EXPECT_EQ(lines, 20u);
  auto text = w.sender("alice", {"sent", "--to", "bob.danemq.test", "--limit", "1"});
  EXPECT_NE(text.out.find(" delivered "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(": note #19"), std::string::npos) << text.out;

  std::this_thread::sleep_for(1s);  // time for a (wrong) receipt of a receipt
  EXPECT_EQ(w.inbox("bob").size(), 20u);
  EXPECT_TRUE(w.inbox("alice").empty()) << "a receipt is never shown as a message";
  EXPECT_TRUE(w.quarantine("alice").empty()) << w.quarantine("alice").front().reason.line();
  EXPECT_TRUE(w.quarantine("bob").empty()) << "no receipt for a receipt reached bob";
  EXPECT_EQ(alice.receiver->output(), "") << "nothing printed for receipts";
  EXPECT_TRUE(sent_log(w, "bob").empty()) << "receipts are not in the sent log";
}

TEST(EndToEndReceipts, AnOfflineReceiverConfirmsWhenItReturns) {
  world w;
  auto alice = start_device(w, "alice");
  {
    auto bob = w.start_receiver("bob");  // makes the persistent session
    ASSERT_EQ(bob->stop(), 0);
  }
  auto sent = w.sender("alice", {"send", "bob.danemq.test", "while you were away"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(sent_log(w, "alice").at(0).state(), "published");
  auto bob = start_device(w, "bob");
  EXPECT_TRUE(wait_until([&] { return delivered_count(w, "alice") == 1; }, 30s)) << bob.runner->errors();
}

TEST(EndToEndReceipts, SendWaitExitsZeroWhenConfirmedAndFourWhenTheReceiverIsDown) {
  world w;
  auto alice = start_device(w, "alice");
  {
    auto bob = start_device(w, "bob");
    auto waited = w.sender("alice", {"--wait", "send", "bob.danemq.test", "are you there?"});
    EXPECT_EQ(waited.exit_code, 0) << waited.err;
    EXPECT_NE(waited.out.find("delivered to bob.danemq.test"), std::string::npos) << waited.out;
  }
  auto unconfirmed = w.sender("alice", {"--wait", "--wait-timeout", "2s", "send", "bob.danemq.test", "hello?"});
  EXPECT_EQ(unconfirmed.exit_code, 4) << unconfirmed.err;
  EXPECT_NE(unconfirmed.err.find("not confirmed"), std::string::npos) << unconfirmed.err;
  auto no_receipts = w.sender("alice", {"--wait", "send", "bob.danemq.test", "x"}, {{"RECEIPTS", "0"}});
  EXPECT_EQ(no_receipts.exit_code, 1) << no_receipts.err;
}

TEST(EndToEndReceipts, ForgedAndReplayedReceiptsAreQuarantinedAndChangeNothing) {
  world w;
  auto alice = w.start_receiver("alice");  // no runner for bob: his genuine receipt never goes out
  auto bob = w.start_receiver("bob");
  auto sent = w.sender("alice", {"send", "bob.danemq.test", "confirm me"}, {{"LOG_LEVEL", "error"}});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(w.wait_for_stored("bob", 1));
  const auto receipted = sent_log(w, "alice").at(0);
  ASSERT_TRUE(receipted.jti);

  // carol never got the message: her (validly signed) receipt is forged.
  const auto [forged, forged_again] = receipt_twice(w, "carol", "alice", receipted);
  w.publish("alice", {forged});
  ASSERT_TRUE(w.wait_for_stored("alice", 1)) << alice->errors();
  ASSERT_EQ(w.quarantine("alice").size(), 1u);
  EXPECT_EQ(w.quarantine("alice")[0].reason.value, static_cast<int>(jose::errc::unexpected_receipt));
  EXPECT_EQ(sent_log(w, "alice").at(0).state(), "published");

  // bob's receipt, then the same signed receipt encrypted again: a replay.
  const auto [genuine, replayed] = receipt_twice(w, "bob", "alice", receipted);
  w.publish("alice", {genuine});
  ASSERT_TRUE(wait_until([&] { return delivered_count(w, "alice") == 1; }, 20s)) << alice->errors();
  const auto delivered_at = *sent_log(w, "alice").at(0).delivered_at;
  w.publish("alice", {replayed});
  ASSERT_TRUE(w.wait_for_stored("alice", 2)) << alice->errors();
  const auto quarantined = w.quarantine("alice");
  ASSERT_EQ(quarantined.size(), 2u);
  EXPECT_EQ(quarantined[1].reason.value, static_cast<int>(jose::errc::replay));
  EXPECT_EQ(*sent_log(w, "alice").at(0).delivered_at, delivered_at) << "the first receipt's time stays";
  EXPECT_TRUE(w.inbox("alice").empty());
}

TEST(EndToEndReceipts, TheOriginalsFormatAsksForNoReceiptAndGetsNone) {
  world w;
  auto alice = start_device(w, "alice");
  auto bob = start_device(w, "bob", {{"ACCEPT_LEGACY", "1"}});
  auto sent = w.sender("alice", {"--format", "compat", "send", "bob.danemq.test", "old style"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_TRUE(w.wait_for_stored("bob", 1)) << bob.receiver->errors();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(sent_log(w, "alice").at(0).state(), "published");
  EXPECT_FALSE(sent_log(w, "alice").at(0).receipt_requested);
  EXPECT_TRUE(w.quarantine("alice").empty());
  EXPECT_TRUE(w.inbox("alice").empty());
}

}  // namespace
}  // namespace danemq::e2e
