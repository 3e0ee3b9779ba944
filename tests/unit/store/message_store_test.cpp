#include "danemq/store/message_store.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "support/process.hpp"

namespace danemq::store {
namespace {

using namespace std::chrono_literals;

incoming_message incoming(std::string topic, std::string payload, clock::time_point at = clock::now()) {
  return incoming_message{std::move(topic), bytes(payload.begin(), payload.end()), at};
}

inbox_entry accepted(std::int64_t raw_id, std::string sender, std::string text) {
  inbox_entry entry;
  entry.raw_id = raw_id;
  entry.sender = std::move(sender);
  entry.recipient = "bob.example";
  entry.received_at = clock::now();
  entry.issued_at = 1700000000;
  entry.jti = "j-" + std::to_string(raw_id);
  entry.message = std::move(text);
  entry.dnssec_secure = true;
  return entry;
}

const refusal bad_signature{"jose", 7, "signature verification failed: x"};

class MessageStore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = message_store::open(dir.path() / "receiver.db", {}, message_store_limits{.max_replay_entries = 4});
    ASSERT_TRUE(opened) << opened.error().message();
    store.emplace(std::move(*opened));
  }
  test::temp_dir dir;
  std::optional<message_store> store;
};

TEST_F(MessageStore, StoresRawMessagesAsPendingInArrivalOrder) {
  const std::vector<incoming_message> batch = {incoming("bob", "one"), incoming("bob", "two")};
  auto outcomes = store->store_raw(batch);
  ASSERT_TRUE(outcomes) << outcomes.error().message();
  ASSERT_EQ(outcomes->size(), 2u);
  EXPECT_FALSE((*outcomes)[0].duplicate);
  EXPECT_LT((*outcomes)[0].raw_id, (*outcomes)[1].raw_id);
  auto due = store->due_pending(clock::now(), 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ(std::string((*due)[0].payload.begin(), (*due)[0].payload.end()), "one");
  EXPECT_EQ((*due)[1].topic, "bob");
  EXPECT_EQ(*store->pending_count(), 2u);
}

TEST_F(MessageStore, RecognisesAByteIdenticalCopyAndStoresItOnce) {
  const std::vector<incoming_message> first = {incoming("bob", "same")};
  auto one = store->store_raw(first);
  ASSERT_TRUE(one);
  const std::vector<incoming_message> again = {incoming("bob", "same"), incoming("other", "same")};
  auto two = store->store_raw(again);
  ASSERT_TRUE(two);
  EXPECT_TRUE((*two)[0].duplicate);
  EXPECT_EQ((*two)[0].raw_id, (*one)[0].raw_id);
  EXPECT_FALSE((*two)[1].duplicate) << "the same bytes on another topic are another message";
  EXPECT_EQ(*store->pending_count(), 2u);
}

TEST_F(MessageStore, RecognisesACopyOfAMessageAlreadyAccepted) {
  const std::vector<incoming_message> batch = {incoming("bob", "hello")};
  auto outcome = store->store_raw(batch);
  ASSERT_TRUE(outcome);
  ASSERT_TRUE(store->accept(accepted((*outcome)[0].raw_id, "alice.example", "hello"), {}));
  auto copy = store->store_raw(batch);
  ASSERT_TRUE(copy);
  EXPECT_TRUE((*copy)[0].duplicate);
  EXPECT_EQ(store->list_inbox()->size(), 1u);
  EXPECT_EQ(*store->pending_count(), 0u);
}

TEST_F(MessageStore, MovesAMessageToExactlyOneOfInboxOrQuarantine) {
  const std::vector<incoming_message> batch = {incoming("bob", "a"), incoming("bob", "b")};
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(ids);
  const auto good = (*ids)[0].raw_id;
  const auto bad = (*ids)[1].raw_id;
  ASSERT_TRUE(store->accept(accepted(good, "alice.example", "hi"), {}));
  ASSERT_TRUE(store->quarantine(bad, bad_signature, clock::now()));

  auto again = store->quarantine(good, bad_signature, clock::now());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(errc::not_found));
  auto twice = store->accept(accepted(bad, "alice.example", "hi"), {});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, make_error_code(errc::not_found));

  auto inbox = store->list_inbox();
  ASSERT_TRUE(inbox);
  ASSERT_EQ(inbox->size(), 1u);
  EXPECT_EQ((*inbox)[0].message, "hi");
  EXPECT_EQ((*inbox)[0].sender, "alice.example");
  EXPECT_EQ((*inbox)[0].issued_at, 1700000000);
  EXPECT_TRUE((*inbox)[0].dnssec_secure);
  auto quarantined = store->list_quarantine();
  ASSERT_TRUE(quarantined);
  ASSERT_EQ(quarantined->size(), 1u);
  EXPECT_EQ(std::string((*quarantined)[0].payload.begin(), (*quarantined)[0].payload.end()), "b");
  EXPECT_EQ((*quarantined)[0].topic, "bob");
  EXPECT_EQ((*quarantined)[0].reason.category, "jose");
  EXPECT_EQ((*quarantined)[0].reason.value, 7);
  EXPECT_EQ((*quarantined)[0].reason.text, bad_signature.text);
  EXPECT_EQ(*store->pending_count(), 0u);
}

TEST_F(MessageStore, ParksADeferredMessageUntilItIsDue) {
  const std::vector<incoming_message> batch = {incoming("bob", "later"), incoming("bob", "now")};
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(ids);
  const auto now = clock::now();
  ASSERT_TRUE(store->defer((*ids)[0].raw_id, 1, now + 1h, now, refusal{"dane", 5, "timeout"}));
  auto due = store->due_pending(now, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].raw_id, (*ids)[1].raw_id);
  auto later = store->due_pending(now + 2h, 10);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 2u);
  EXPECT_EQ((*later)[0].attempts, 1);
  ASSERT_TRUE((*later)[0].first_failure_at.has_value());
  EXPECT_EQ(*store->untried_count(), 1u);
  EXPECT_EQ(*store->pending_count(), 2u);
  auto next = store->next_due(now);
  ASSERT_TRUE(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_GT(**next, now + 59min);
  EXPECT_FALSE(store->next_due(now + 2h)->has_value());
}

TEST_F(MessageStore, LoadsNewArrivalsAfterAnId) {
  std::vector<incoming_message> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(incoming("bob", "n" + std::to_string(i)));
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(ids);
  const auto now = clock::now();
  ASSERT_TRUE(store->defer((*ids)[2].raw_id, 1, now + 1h, now, refusal{"dane", 5, "timeout"}));
  auto after = store->pending_after((*ids)[0].raw_id, now, 10);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u) << "the parked one is left to the retries";
  EXPECT_EQ((*after)[0].raw_id, (*ids)[1].raw_id);
  EXPECT_EQ((*after)[1].raw_id, (*ids)[3].raw_id);
  auto retries = store->due_pending(now + 2h, 10, {}, (*ids)[3].raw_id - 1);
  ASSERT_TRUE(retries);
  ASSERT_EQ(retries->size(), 3u);
  EXPECT_EQ((*retries)[2].raw_id, (*ids)[2].raw_id);
}

TEST_F(MessageStore, SkipsExcludedIdsWithoutShorteningTheBatch) {
  std::vector<incoming_message> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(incoming("bob", "m" + std::to_string(i)));
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(ids);
  const std::vector<std::int64_t> in_flight = {(*ids)[0].raw_id, (*ids)[1].raw_id};
  auto due = store->due_pending(clock::now(), 3, in_flight);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].raw_id, (*ids)[2].raw_id);
}

TEST_F(MessageStore, RefusesAReplayedPairAndLeavesTheMessagePending) {
  const std::vector<incoming_message> batch = {incoming("bob", "x"), incoming("bob", "y")};
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(ids);
  const std::vector<replay_entry> pair = {{"alice.example", "j1", clock::now() + 5min}};
  ASSERT_TRUE(store->accept(accepted((*ids)[0].raw_id, "alice.example", "x"), pair));
  EXPECT_TRUE(*store->replay_contains("alice.example", "j1", clock::now()));
  auto replayed = store->accept(accepted((*ids)[1].raw_id, "alice.example", "y"), pair);
  ASSERT_FALSE(replayed);
  EXPECT_EQ(replayed.error().code, make_error_code(errc::conflict));
  EXPECT_EQ(*store->pending_count(), 1u);
  EXPECT_EQ(store->list_inbox()->size(), 1u);
}

TEST_F(MessageStore, RecordsABatchAndUndoesOnlyTheOutcomeThatFails) {
  std::vector<incoming_message> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(incoming("bob", "b" + std::to_string(i)));
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(ids);
  const auto expires = clock::now() + 5min;
  std::vector<outcome_record> records(4);
  for (int i = 0; i < 2; ++i) {
    records[i].what = outcome_record::kind::accept;
    records[i].raw_id = (*ids)[i].raw_id;
    records[i].entry = accepted((*ids)[i].raw_id, "alice.example", "b" + std::to_string(i));
    records[i].replay = {{"alice.example", "same-jti", expires}};  // the second is a replay of the first
  }
  records[2].what = outcome_record::kind::quarantine;
  records[2].raw_id = (*ids)[2].raw_id;
  records[2].reason = bad_signature;
  records[3].what = outcome_record::kind::defer;
  records[3].raw_id = (*ids)[3].raw_id;
  records[3].attempts = 1;
  records[3].next_attempt_at = clock::now() + 1h;
  records[3].first_failure_at = clock::now();
  records[3].reason = refusal{"dane", 5, "timeout"};
  auto outcomes = store->record(records);
  ASSERT_TRUE(outcomes) << outcomes.error().message();
  ASSERT_EQ(outcomes->size(), 4u);
  EXPECT_TRUE((*outcomes)[0]);
  ASSERT_FALSE((*outcomes)[1]);
  EXPECT_EQ((*outcomes)[1].error().code, make_error_code(errc::conflict));
  EXPECT_TRUE((*outcomes)[2]);
  EXPECT_TRUE((*outcomes)[3]);
  EXPECT_EQ(store->list_inbox()->size(), 1u);
  EXPECT_EQ(store->list_quarantine()->size(), 1u);
  EXPECT_EQ(*store->pending_count(), 2u) << "the replayed one stays pending, the deferred one is parked";
  EXPECT_EQ(*store->replay_size(), 1u);
}

TEST_F(MessageStore, ForgetsExpiredReplayEntriesAndStaysBounded) {
  const auto now = clock::now();
  const std::vector<replay_entry> old = {{"a", "1", now - 1s}, {"a", "2", now - 1s}, {"a", "3", now + 1h}};
  ASSERT_TRUE(store->replay_remember(old, now - 1h));
  EXPECT_FALSE(*store->replay_contains("a", "1", now));
  EXPECT_TRUE(*store->replay_contains("a", "3", now));
  // Limit 4: two more fit only once the expired ones are purged.
  const std::vector<replay_entry> more = {{"b", "1", now + 1h}, {"b", "2", now + 1h}, {"b", "3", now + 1h}};
  ASSERT_TRUE(store->replay_remember(more, now));
  EXPECT_EQ(*store->replay_size(), 4u);
  const std::vector<replay_entry> one_too_many = {{"c", "1", now + 1h}};
  auto full = store->replay_remember(one_too_many, now);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, make_error_code(errc::full));
  // An expired pair may be remembered again.
  EXPECT_EQ(*store->purge_replay(now + 2h), 4u);
  const std::vector<replay_entry> reuse = {{"a", "1", now + 3h}};
  EXPECT_TRUE(store->replay_remember(reuse, now + 2h));
}

TEST_F(MessageStore, FiltersTheInboxBySenderAndTime) {
  std::vector<incoming_message> batch;
  const auto t0 = clock::now() - 1h;
  for (int i = 0; i < 4; ++i) batch.push_back(incoming("bob", "m" + std::to_string(i), t0 + std::chrono::minutes(i)));
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(ids);
  for (int i = 0; i < 4; ++i) {
    auto entry = accepted((*ids)[i].raw_id, i % 2 == 0 ? "alice.example" : "carol.example", "m" + std::to_string(i));
    entry.received_at = t0 + std::chrono::minutes(i);
    ASSERT_TRUE(store->accept(entry, {}));
  }
  EXPECT_EQ(store->list_inbox(listing_filter{.from = "alice.example"})->size(), 2u);
  EXPECT_EQ(store->list_inbox(listing_filter{.since = t0 + 2min})->size(), 2u);
  EXPECT_EQ(store->list_inbox(listing_filter{.limit = 3})->size(), 3u);
}

TEST_F(MessageStore, KeepsEverythingAcrossAReopen) {
  const std::vector<incoming_message> batch = {incoming("bob", "persist")};
  ASSERT_TRUE(store->store_raw(batch));
  ASSERT_TRUE(store->save_health(service_health{true, false, clock::now(), "identity not in DNS"}));
  store.reset();
  auto reopened = message_store::open(dir.path() / "receiver.db");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(*reopened->pending_count(), 1u);
  auto health = reopened->load_health();
  ASSERT_TRUE(health && health->has_value());
  EXPECT_TRUE((*health)->connected);
  EXPECT_FALSE((*health)->identity_in_sync);
  EXPECT_EQ((*health)->detail, "identity not in DNS");
}

TEST_F(MessageStore, OpensReadOnlyBesideAWriter) {
  const std::vector<incoming_message> batch = {incoming("bob", "shared")};
  auto ids = store->store_raw(batch);
  ASSERT_TRUE(store->accept(accepted((*ids)[0].raw_id, "alice.example", "shared"), {}));
  auto reader = message_store::open(dir.path() / "receiver.db", open_options{.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ(reader->list_inbox()->size(), 1u);
}

TEST(MessageStoreOpen, ListsNothingFromAnEmptyReadOnlyDatabase) {
  test::temp_dir dir;
  { ASSERT_TRUE(database::open(dir.path() / "empty.db")); }
  auto reader = message_store::open(dir.path() / "empty.db", open_options{.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_TRUE(reader->list_inbox()->empty());
  EXPECT_FALSE(reader->load_health()->has_value());
}

TEST(MessageStoreOpen, RefusesASchemaFromTheFuture) {
  test::temp_dir dir;
  {
    auto db = database::open(dir.path() / "future.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  auto store = message_store::open(dir.path() / "future.db");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, make_error_code(errc::schema_mismatch));
}

// Found by tests/integration/fault_storage_test: a database whose pages were
// damaged (the header intact) opened, and the receiver only failed on the
// first query that touched them — or never, for pages of the inbox.
TEST(MessageStoreOpen, RefusesADatabaseWithDamagedPagesAtOpen) {
  test::temp_dir dir;
  const auto path = dir.path() / "receiver.db";
  {
    auto store = message_store::open(path);
    ASSERT_TRUE(store) << store.error().message();
    std::vector<incoming_message> batch;
    for (int i = 0; i < 200; ++i) batch.push_back(incoming("bob", std::string(1000, 'a') + std::to_string(i)));
    ASSERT_TRUE(store->store_raw(batch));
  }
  {
    // A checkpoint moves the WAL into the file; then the last pages are damaged.
    auto db = database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 16u * 4096);
  {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(size - 8 * 4096));
    for (int i = 0; i < 8 * 4096; ++i) file.put(static_cast<char>((i * 7919) & 0xff));
  }
  auto store = message_store::open(path);
  ASSERT_FALSE(store) << "a damaged database opened for writing";
  EXPECT_EQ(store.error().code, make_error_code(errc::corrupt)) << store.error().message();
  EXPECT_NE(store.error().detail.find(path.string()), std::string::npos) << store.error().detail;
  // Listing what is still readable stays possible.
  EXPECT_TRUE(message_store::open(path, open_options{.read_only = true}));
}

TEST(MessageStoreConcurrency, StoresFromManyThreadsWithoutLoss) {
  test::temp_dir dir;
  auto store = message_store::open(dir.path() / "receiver.db");
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::vector<incoming_message> one = {incoming("bob", std::to_string(t) + "/" + std::to_string(i))};
        ASSERT_TRUE(store->store_raw(one));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(*store->pending_count(), 100u);
}

}  // namespace
}  // namespace danemq::store
