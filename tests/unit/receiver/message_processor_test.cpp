#include "message_processor.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <span>

#include "support/process.hpp"
#include "support/release_databases.hpp"
#include "support/test_peers.hpp"

namespace danemq::receiver {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::system_clock;

class MessageProcessor : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_dir = new test::temp_dir("danemq-keys");
    alice = new identity::local_identity(test::make_identity(keys_dir->path(), "alice.example"));
    bob = new identity::local_identity(test::make_identity(keys_dir->path(), "bob.example"));
    carol = new identity::local_identity(test::make_identity(keys_dir->path(), "carol.example"));
  }
  static void TearDownTestSuite() {
    delete alice;
    delete bob;
    delete carol;
    delete keys_dir;
  }

  void SetUp() override {
    auto opened = store::message_store::open(dir.path() / "receiver.db");
    ASSERT_TRUE(opened);
    store.emplace(std::move(*opened));
    peers.publish(*alice);
    peers.publish(*bob);
    peers.publish(*carol);
    options.retry_limit = 2s;
    options.retry = backoff_policy{100ms, 1s, 2.0, 0.0};
    processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  }

  std::string seal(const identity::local_identity& from, const std::string& to, const std::string& text,
                   jose::seal_options sealing = {}) {
    auto wire = jose::seal(jose::message_to_send{to, text}, from, peers, sealing);
    EXPECT_TRUE(wire) << wire.error().message();
    return wire ? *wire : std::string();
  }

  /// Stores the wire text as if it arrived on `topic` at `at`; returns it pending.
  store::pending_message arrive(const std::string& wire, clock::time_point at = clock::now(),
                                std::string topic = "bob.example") {
    const std::vector<store::incoming_message> one = {
        store::incoming_message{std::move(topic), std::vector<std::uint8_t>(wire.begin(), wire.end()), at}};
    auto stored = store->raw().store_raw(one);
    EXPECT_TRUE(stored);
    auto due = store->raw().due_pending(std::max(at, clock::now()) + 1h, 1000);
    for (auto& message : *due) {
      if (message.raw_id == (*stored)[0].raw_id) return message;
    }
    ADD_FAILURE() << "stored message not pending";
    return {};
  }

  std::vector<store::quarantine_entry> quarantined() { return store->outcomes().list_quarantine().value(); }

  static inline test::temp_dir* keys_dir = nullptr;
  static inline identity::local_identity* alice = nullptr;
  static inline identity::local_identity* bob = nullptr;
  static inline identity::local_identity* carol = nullptr;
  test::temp_dir dir;
  std::optional<store::message_store> store;
  test::fake_peers peers;
  processor_options options;
  std::unique_ptr<message_processor> processor;
};

TEST_F(MessageProcessor, AcceptsAGoodMessageIntoTheInboxWithItsClaims) {
  auto outcome = processor->process(arrive(seal(*alice, "bob.example", "hello bob")));
  ASSERT_EQ(outcome.what, fate::accepted) << (outcome.reason ? outcome.reason->message() : "");
  const auto inbox = store->outcomes().list_inbox().value();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].sender, "alice.example");
  EXPECT_EQ(inbox[0].recipient, "bob.example");
  EXPECT_EQ(inbox[0].message, "hello bob");
  EXPECT_TRUE(inbox[0].jti.has_value());
  EXPECT_TRUE(inbox[0].issued_at.has_value());
  EXPECT_TRUE(inbox[0].dnssec_secure);
  EXPECT_FALSE(inbox[0].legacy);
  EXPECT_EQ(*store->raw().pending_count(), 0u);
  EXPECT_TRUE(*store->replay().contains("alice.example", *inbox[0].jti, clock::now()));
}

TEST_F(MessageProcessor, QuarantinesAMessageWhoseProcessingBeganTooOftenWithoutAnOutcome) {
  const auto message = arrive(seal(*alice, "bob.example", "crashes the receiver"));
  // Three earlier starts that never reached an outcome: the receiver died each time.
  for (int i = 0; i < options.crash_limit; ++i) ASSERT_TRUE(store->raw().begin_processing(message.raw_id));
  auto outcome = processor->process(message);
  ASSERT_EQ(outcome.what, fate::quarantined);
  EXPECT_EQ(outcome.reason->code, make_error_code(jose::errc::processing_failed_repeatedly));
  const auto rows = quarantined();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].reason.value, 20);
  EXPECT_FALSE(rows[0].payload.empty()) << "kept for a look at what crashed it";
  EXPECT_EQ(processor->process(arrive(seal(*alice, "bob.example", "the next one"))).what, fate::accepted);
}

TEST_F(MessageProcessor, ProcessesAMessageAgainAfterFewerUnfinishedTriesThanTheLimit) {
  const auto message = arrive(seal(*alice, "bob.example", "interrupted twice"));
  for (int i = 0; i < options.crash_limit - 1; ++i) ASSERT_TRUE(store->raw().begin_processing(message.raw_id));
  EXPECT_EQ(processor->process(message).what, fate::accepted);
}

TEST_F(MessageProcessor, DoesNotCountATryAbandonedBecauseTheReceiverStops) {
  const auto message = arrive(seal(*alice, "bob.example", "stopping"));
  const std::atomic<bool> cancelled{true};
  for (int i = 0; i < options.crash_limit + 1; ++i) {
    EXPECT_EQ(processor->process(message, &cancelled).what, fate::unchanged);
  }
  EXPECT_EQ(processor->process(message).what, fate::accepted);
}

TEST_F(MessageProcessor, QuarantinesATamperedMessageWithItsBytes) {
  auto wire = seal(*alice, "bob.example", "hello");
  const auto at = wire.find("\"ciphertext\":\"") + 20;
  wire[at] = wire[at] == 'A' ? 'B' : 'A';
  auto outcome = processor->process(arrive(wire));
  EXPECT_EQ(outcome.what, fate::quarantined);
  const auto rows = quarantined();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].reason.category, "jose");
  EXPECT_EQ(rows[0].reason.value, static_cast<int>(jose::errc::decryption_failed)) << rows[0].reason.text;
  EXPECT_EQ(std::string(rows[0].payload.begin(), rows[0].payload.end()), wire);
  EXPECT_TRUE(store->outcomes().list_inbox()->empty());
}

TEST_F(MessageProcessor, QuarantinesAReplayOfAnAcceptedMessage) {
  const auto wire = seal(*alice, "bob.example", "once");
  ASSERT_EQ(processor->process(arrive(wire)).what, fate::accepted);
  // The identical bytes on the same topic are one stored message; a replay
  // that reaches the processor comes as another raw message.
  auto outcome = processor->process(arrive(wire, clock::now(), "bob.example/replayed"));
  EXPECT_EQ(outcome.what, fate::quarantined);
  ASSERT_EQ(quarantined().size(), 1u);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::replay));
}

TEST_F(MessageProcessor, QuarantinesAMessageForSomeoneElse) {
  auto outcome = processor->process(arrive(seal(*alice, "carol.example", "not yours")));
  EXPECT_EQ(outcome.what, fate::quarantined);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::not_for_us));
}

TEST_F(MessageProcessor, QuarantinesAnOversizedMessageBeforeParsing) {
  const std::string huge(8000, '{');
  auto outcome = processor->process(arrive(huge));
  EXPECT_EQ(outcome.what, fate::quarantined);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::too_large));
  EXPECT_EQ(quarantined()[0].payload.size(), huge.size());
}

TEST_F(MessageProcessor, QuarantinesAnUnknownSender) {
  test::temp_dir other;
  const auto mallory = test::make_identity(other.path(), "mallory.example");
  auto wire = seal(mallory, "bob.example", "hi");  // sealing needs only bob's key
  auto outcome = processor->process(arrive(wire));
  EXPECT_EQ(outcome.what, fate::quarantined);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::unknown_in_dns));
}

TEST_F(MessageProcessor, MarksTheSenderOfAnAcceptedMessageAsProven) {
  ASSERT_EQ(processor->process(arrive(seal(*alice, "bob.example", "hello"))).what, fate::accepted);
  EXPECT_EQ(peers.proven(), std::vector<std::string>{"alice.example"});
  test::temp_dir other;
  const auto mallory = test::make_identity(other.path(), "mallory.example");
  EXPECT_EQ(processor->process(arrive(seal(mallory, "bob.example", "hi"))).what, fate::quarantined);
  EXPECT_EQ(peers.proven().size(), 1u);
}

TEST_F(MessageProcessor, RetriesANameThatNeverResolvedForTheShorterLimitOnly) {
  options.retry_limit = 1h;
  options.unknown_sender_retry_limit = 300ms;
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  const auto wire = seal(*alice, "bob.example", "from a name nobody has seen");
  peers.fail_with("alice.example", dane::errc::timeout);
  peers.never_resolved("alice.example");
  auto first = processor->process(arrive(wire));
  ASSERT_EQ(first.what, fate::deferred);
  EXPECT_LE(*first.next_attempt, clock::now() + 300ms) << "never parked beyond the shorter limit";
  std::this_thread::sleep_for(300ms);
  auto last = processor->process(store->raw().due_pending(clock::now() + 1h, 10).value().front());
  EXPECT_EQ(last.what, fate::quarantined);
  ASSERT_EQ(quarantined().size(), 1u);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::lookup_temporarily_failed));
}

TEST_F(MessageProcessor, KeepsRetryingAKnownSenderForTheWholeLimit) {
  options.retry_limit = 1h;
  options.unknown_sender_retry_limit = 1ms;
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  peers.fail_with("alice.example", dane::errc::servfail);
  auto first = processor->process(arrive(seal(*alice, "bob.example", "during an outage")));
  ASSERT_EQ(first.what, fate::deferred);
  std::this_thread::sleep_for(5ms);
  auto again = processor->process(store->raw().due_pending(clock::now() + 1h, 10).value().front());
  EXPECT_EQ(again.what, fate::deferred);
  EXPECT_TRUE(quarantined().empty());
}

TEST_F(MessageProcessor, RetriesATemporaryLookupFailureThenQuarantines) {
  const auto wire = seal(*alice, "bob.example", "dns is down");
  peers.fail_with("alice.example", dane::errc::timeout);
  auto first = processor->process(arrive(wire));
  ASSERT_EQ(first.what, fate::deferred);
  ASSERT_TRUE(first.next_attempt.has_value());
  EXPECT_GT(*first.next_attempt, clock::now());
  EXPECT_EQ(*store->raw().pending_count(), 1u);
  EXPECT_TRUE(store->raw().due_pending(clock::now(), 10)->empty()) << "parked until its retry time";

  auto again = store->raw().due_pending(clock::now() + 1h, 10).value().front();
  EXPECT_EQ(again.attempts, 1);
  std::this_thread::sleep_for(options.retry_limit);
  auto last = processor->process(again);
  EXPECT_EQ(last.what, fate::quarantined);
  ASSERT_EQ(quarantined().size(), 1u);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::lookup_temporarily_failed));
  EXPECT_NE(quarantined()[0].reason.text.find("still failing after 2 attempts"), std::string::npos)
      << quarantined()[0].reason.text;
}

TEST_F(MessageProcessor, AcceptsARetriedMessageOnceDnsIsBack) {
  const auto wire = seal(*alice, "bob.example", "patience");
  peers.fail_with("alice.example", dane::errc::servfail);
  ASSERT_EQ(processor->process(arrive(wire)).what, fate::deferred);
  peers.publish(*alice);
  auto again = store->raw().due_pending(clock::now() + 1h, 10).value().front();
  EXPECT_EQ(processor->process(again).what, fate::accepted);
  EXPECT_EQ(store->outcomes().list_inbox()->size(), 1u);
}

TEST_F(MessageProcessor, JudgesFreshnessAtArrivalNotAtProcessing) {
  options.open.max_age = 5min;
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  jose::seal_options sealing;
  sealing.now = clock::now() - 20min;
  const auto wire = seal(*alice, "bob.example", "delayed by a long DNS outage", sealing);
  // Arrived one minute after it was signed, processed now: still fresh.
  auto outcome = processor->process(arrive(wire, *sealing.now + 1min));
  EXPECT_EQ(outcome.what, fate::accepted) << (outcome.reason ? outcome.reason->message() : "");
  // The same signed time arriving now is too old.
  auto late = processor->process(arrive(seal(*alice, "bob.example", "late", sealing)));
  EXPECT_EQ(late.what, fate::quarantined);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::too_old));
}

/// The same JWE in other bytes: compact instead of flattened JSON, members
/// in another order, whitespace around and inside.
std::vector<std::string> reserialized(const std::string& flattened) {
  const auto jwe = nlohmann::ordered_json::parse(flattened);
  const auto member = [&](const char* name) { return jwe.value(name, std::string()); };
  nlohmann::ordered_json reversed;
  std::vector<std::string> names;
  for (const auto& [name, value] : jwe.items()) names.push_back(name);
  for (auto name = names.rbegin(); name != names.rend(); ++name) reversed[*name] = jwe[*name];
  return {member("protected") + "." + member("encrypted_key") + "." + member("iv") + "." + member("ciphertext") + "." +
              member("tag"),
          reversed.dump(), jwe.dump(2), " " + flattened, flattened + "\n"};
}

TEST_F(MessageProcessor, RefusesReserializedCopiesAsReplayDaysLaterAndAfterARestart) {
  jose::seal_options sealing;
  sealing.now = clock::now() - std::chrono::days(3);
  const auto wire = seal(*alice, "bob.example", "one note, many spellings", sealing);
  ASSERT_EQ(processor->process(arrive(wire, *sealing.now + 1s)).what, fate::accepted);
  const auto copies = reserialized(wire);
  for (std::size_t i = 0; i < copies.size(); ++i) {
    if (i == 2) {  // a restart: the memory is read back from the disk
      processor.reset();
      store.reset();
      auto reopened = store::message_store::open(dir.path() / "receiver.db");
      ASSERT_TRUE(reopened);
      store.emplace(std::move(*reopened));
      processor = std::make_unique<message_processor>(*bob, peers, *store, options);
    }
    auto outcome = processor->process(arrive(copies[i], clock::now() - 1s));
    ASSERT_EQ(outcome.what, fate::quarantined) << "copy " << i << ": " << copies[i];
    EXPECT_EQ(outcome.reason->code, make_error_code(jose::errc::replay)) << outcome.reason->message();
  }
  // After the horizon (7 days and the skew allowance) a copy is too old.
  auto late = processor->process(arrive(copies[0], *sealing.now + std::chrono::days(7) + 1s, "bob.example/late"));
  ASSERT_EQ(late.what, fate::quarantined);
  EXPECT_EQ(late.reason->code, make_error_code(jose::errc::too_old)) << late.reason->message();
  EXPECT_EQ(store->outcomes().list_inbox()->size(), 1u);
}

// Reproduced: a copy received inside the window but processed after the
// original's entry was purged (it waited behind a DNS deferral) was accepted.
TEST_F(MessageProcessor, RefusesACopyThatArrivedInTimeButWaitedLongerThanTheHorizon) {
  options.open.max_age = 1h;
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  jose::seal_options sealing;
  sealing.now = clock::now() - 1h;
  const auto wire = seal(*alice, "bob.example", "deferred copy", sealing);
  ASSERT_EQ(processor->process(arrive(wire, *sealing.now + 1s)).what, fate::accepted);
  // The copy arrived a second before the horizon; DNS fails, it is parked.
  peers.fail_with("alice.example", dane::errc::timeout);
  const auto copy_arrival = *sealing.now + 1h - 1s;
  ASSERT_EQ(processor->process(arrive(" " + wire, copy_arrival)).what, fate::deferred);
  // Hours later the daemon purges the memory; DNS is back.
  ASSERT_TRUE(store->replay().purge(clock::now() + 5h));
  EXPECT_EQ(*store->replay().size(), 1u) << "the entry matters while the copy is pending";
  peers.publish(*alice);
  auto again = store->raw().due_pending(clock::now() + 1h, 10).value().front();
  auto outcome = processor->process(again);
  ASSERT_EQ(outcome.what, fate::quarantined);
  EXPECT_EQ(outcome.reason->code, make_error_code(jose::errc::replay)) << outcome.reason->message();
  EXPECT_EQ(store->outcomes().list_inbox()->size(), 1u);
  // Nothing pending any more: now the entry may go.
  EXPECT_EQ(*store->replay().purge(clock::now() + 5h), 1u);
}

TEST_F(MessageProcessor, QuarantinesASenderOverItsShareAsOverQuotaWhileOthersGetThrough) {
  auto opened = store::message_store::open(
      dir.path() / "quota.db", {},
      store::message_store_limits{.max_replay_entries = 100, .replay_entries_per_sender = 2});
  ASSERT_TRUE(opened);
  store.emplace(std::move(*opened));
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(processor->process(arrive(seal(*alice, "bob.example", "within share " + std::to_string(i)))).what,
              fate::accepted);
  }
  auto over = processor->process(arrive(seal(*alice, "bob.example", "one too many")));
  ASSERT_EQ(over.what, fate::quarantined);
  EXPECT_EQ(over.reason->code, make_error_code(jose::errc::sender_over_quota)) << over.reason->message();
  ASSERT_EQ(quarantined().size(), 1u);
  EXPECT_EQ(quarantined()[0].reason.value, 21);
  EXPECT_EQ(quarantined()[0].reason.text.rfind("sender over quota", 0), 0u) << quarantined()[0].reason.text;
  EXPECT_EQ(processor->process(arrive(seal(*carol, "bob.example", "someone else"))).what, fate::accepted);
}

TEST_F(MessageProcessor, FailsClosedWhenTheWholeReplayMemoryIsFull) {
  auto opened = store::message_store::open(
      dir.path() / "full.db", {}, store::message_store_limits{.max_replay_entries = 1, .replay_entries_per_sender = 1});
  ASSERT_TRUE(opened);
  store.emplace(std::move(*opened));
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  ASSERT_EQ(processor->process(arrive(seal(*alice, "bob.example", "fills it"))).what, fate::accepted);
  auto blocked = processor->process(arrive(seal(*carol, "bob.example", "no room")));
  EXPECT_EQ(blocked.what, fate::unchanged) << "neither accepted without a replay check nor dropped";
  ASSERT_TRUE(blocked.reason);
  EXPECT_EQ(blocked.reason->code, make_error_code(store::errc::full));
  EXPECT_EQ(*store->raw().pending_count(), 1u);
  EXPECT_TRUE(quarantined().empty());
}

TEST_F(MessageProcessor, AcceptsTheOriginalFormatOnlyWhenAllowed) {
  jose::seal_options compat;
  compat.format = jose::message_format::compat;
  auto refused = processor->process(arrive(seal(*alice, "bob.example", "old style", compat)));
  EXPECT_EQ(refused.what, fate::quarantined);
  EXPECT_EQ(quarantined()[0].reason.value, static_cast<int>(jose::errc::legacy_refused));

  options.open.accept_legacy = true;
  message_processor lenient(*bob, peers, *store, options);
  auto accepted = lenient.process(arrive(seal(*alice, "bob.example", "old style again", compat)));
  ASSERT_EQ(accepted.what, fate::accepted);
  EXPECT_TRUE(accepted.accepted->legacy);
  EXPECT_FALSE(accepted.accepted->jti.has_value());
}

// A device upgraded with messages pending: the receiver.db of the first
// release, opened by this build, and its backlog processed into the inbox.
TEST_F(MessageProcessor, ProcessesWhatTheFirstReleaseLeftPendingAfterTheUpgrade) {
  const auto path = dir.path() / "release-1.db";
  const std::vector<std::string> texts = {"left pending 1", "left pending 2", "left pending 3"};
  {
    auto db = test::create_release_1_database(path, test::release_1_receiver_schema);
    for (const auto& text : texts) {
      const auto wire = seal(*alice, "bob.example", text);
      test::add_release_1_raw_message(db, "bob.example", wire, clock::now());
    }
  }
  auto upgraded = store::message_store::open(path);
  ASSERT_TRUE(upgraded) << upgraded.error().message();
  message_processor processing(*bob, peers, *upgraded, options);
  auto backlog = upgraded->raw().pending_after(0, clock::now(), 100);
  ASSERT_TRUE(backlog);
  ASSERT_EQ(backlog->size(), texts.size());
  std::vector<decision> decisions;
  for (const auto& message : *backlog) decisions.push_back(processing.decide(message));
  for (const auto& outcome : processing.record(std::move(decisions))) {
    EXPECT_EQ(outcome.what, fate::accepted) << (outcome.reason ? outcome.reason->message() : "");
  }
  const auto inbox = upgraded->outcomes().list_inbox().value();
  ASSERT_EQ(inbox.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(inbox[i].message, texts[i]);
  EXPECT_EQ(*upgraded->raw().pending_count(), 0u);
  EXPECT_EQ(*upgraded->replay().size(), texts.size());
}

/// The sender's database as the receiver sees it, in memory; `working`
/// false makes every write fail (a crash, a full disk).
class fake_book final : public receipt_book {
 public:
  result<bool> expected(const std::string& signer, const jose::receipt_claim& claim) override {
    return sent.contains({signer, claim.jti});
  }
  result<void> delivered(const std::string& signer, const jose::receipt_claim& claim,
                         std::chrono::system_clock::time_point) override {
    if (!working) return fail(store::errc::statement_failed, "sender.db unwritable");
    delivered_to.push_back(signer + " " + claim.jti);
    return ok();
  }
  result<void> queue(std::span<const store::outbox_entry> receipts) override {
    if (!working) return fail(store::errc::statement_failed, "sender.db unwritable");
    for (const auto& one : receipts) queued.push_back(one.recipient);
    return ok();
  }
  bool working{true};
  std::set<std::pair<std::string, std::string>> sent;
  std::vector<std::string> queued;
  std::vector<std::string> delivered_to;
};

TEST_F(MessageProcessor, AReceiptAndADeliveryMarkLeftByACrashAreHandedOverAtTheNextStart) {
  auto book = std::make_shared<fake_book>();
  book->working = false;  // the receiver dies between the inbox's commit and the sender's database
  options.answer_receipts = true;
  options.receipts = book;
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  jose::seal_options asking;
  asking.request_receipt = true;
  ASSERT_EQ(processor->process(arrive(seal(*alice, "bob.example", "please confirm", asking))).what, fate::accepted);
  // A receipt for what bob sent carol.
  auto to_carol = jose::seal_note(jose::message_to_send{"carol.example", "hi carol"}, *bob, peers, asking);
  ASSERT_TRUE(to_carol);
  book->sent.insert({"carol.example", to_carol->jti.value()});
  jose::seal_options receipt;
  receipt.receipt = jose::receipt_claim{to_carol->note_digest, to_carol->jti.value()};
  ASSERT_EQ(processor->process(arrive(seal(*carol, "bob.example", "", receipt))).what, fate::receipt);
  EXPECT_TRUE(book->queued.empty());
  EXPECT_TRUE(book->delivered_to.empty());
  EXPECT_EQ(store->hand_offs(10)->size(), 2u) << "kept in the receiver's database";

  // The next start, with the sender's database writable again.
  book->working = true;
  processor = std::make_unique<message_processor>(*bob, peers, *store, options);
  processor->hand_over();
  EXPECT_EQ(book->queued, std::vector<std::string>{"alice.example"});
  EXPECT_EQ(book->delivered_to, std::vector<std::string>{"carol.example " + to_carol->jti.value()});
  EXPECT_TRUE(store->hand_offs(10)->empty()) << "forgotten once done";
  processor->hand_over();
  EXPECT_EQ(book->queued.size(), 1u) << "handed over once";
}

}  // namespace
}  // namespace danemq::receiver
