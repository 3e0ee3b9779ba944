#include "danemq/store/message_store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "danemq/store/migrations.hpp"
#include "support/process.hpp"
#include "support/release_databases.hpp"
#include "unit/store/records.hpp"

namespace danemq::store {
namespace {

using namespace std::chrono_literals;
using namespace test_records;

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

TEST_F(MessageStore, MovesAMessageToExactlyOneOfInboxOrQuarantine) {
  const auto ids = store_all(*store, {incoming("bob", "a"), incoming("bob", "b")});
  ASSERT_EQ(ids.size(), 2u);
  const auto good = ids[0];
  const auto bad = ids[1];
  ASSERT_TRUE(record_alone(*store, accept(accepted(good, "alice.example", "hi"))));
  ASSERT_TRUE(record_alone(*store, quarantine(bad)));

  auto again = record_alone(*store, quarantine(good));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(errc::not_found));
  auto twice = record_alone(*store, accept(accepted(bad, "alice.example", "hi")));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, make_error_code(errc::not_found));

  EXPECT_EQ(store->outcomes().list_inbox()->size(), 1u);
  EXPECT_EQ(store->outcomes().list_quarantine()->size(), 1u);
  EXPECT_EQ(*store->raw().pending_count(), 0u);
}

TEST_F(MessageStore, RecordsWhenAMessageWasQuarantined) {
  const auto ids = store_all(*store, {incoming("bob", "late", clock::now() - 1h)});
  ASSERT_EQ(ids.size(), 1u);
  const auto before = clock::now();
  ASSERT_TRUE(record_alone(*store, quarantine(ids[0])));
  auto quarantined = store->outcomes().list_quarantine();
  ASSERT_EQ(quarantined->size(), 1u);
  EXPECT_GE((*quarantined)[0].quarantined_at, std::chrono::floor<std::chrono::milliseconds>(before));
  EXPECT_LT((*quarantined)[0].received_at, before - 59min);
}

TEST_F(MessageStore, RefusesAReplayedPairAndLeavesTheMessagePending) {
  const auto ids = store_all(*store, {incoming("bob", "x"), incoming("bob", "y")});
  ASSERT_EQ(ids.size(), 2u);
  const std::vector<replay_entry> pair = {{"alice.example", "j1", clock::now() + 5min}};
  ASSERT_TRUE(record_alone(*store, accept(accepted(ids[0], "alice.example", "x"), pair)));
  EXPECT_TRUE(*store->replay().contains("alice.example", "j1", clock::now()));
  auto replayed = record_alone(*store, accept(accepted(ids[1], "alice.example", "y"), pair));
  ASSERT_FALSE(replayed);
  EXPECT_EQ(replayed.error().code, make_error_code(errc::conflict));
  EXPECT_EQ(*store->raw().pending_count(), 1u);
  EXPECT_EQ(store->outcomes().list_inbox()->size(), 1u);
}

TEST_F(MessageStore, RecordsABatchAndUndoesOnlyTheOutcomeThatFails) {
  std::vector<incoming_message> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(incoming("bob", "b" + std::to_string(i)));
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 4u);
  const auto expires = clock::now() + 5min;
  const std::vector<outcome_record> records = {
      accept(accepted(ids[0], "alice.example", "b0"), {{"alice.example", "same-jti", expires}}),
      accept(accepted(ids[1], "alice.example", "b1"), {{"alice.example", "same-jti", expires}}),  // a replay
      quarantine(ids[2]),
      defer(ids[3], 1, clock::now() + 1h, clock::now()),
  };
  auto outcomes = store->record(records);
  ASSERT_TRUE(outcomes) << outcomes.error().message();
  ASSERT_EQ(outcomes->size(), 4u);
  EXPECT_TRUE((*outcomes)[0]);
  ASSERT_FALSE((*outcomes)[1]);
  EXPECT_EQ((*outcomes)[1].error().code, make_error_code(errc::conflict));
  EXPECT_TRUE((*outcomes)[2]);
  EXPECT_EQ(*(*outcomes)[3], ids[3]);
  EXPECT_EQ(store->outcomes().list_inbox()->size(), 1u);
  EXPECT_EQ(store->outcomes().list_quarantine()->size(), 1u);
  EXPECT_EQ(*store->raw().pending_count(), 2u) << "the replayed one stays pending, the deferred one is parked";
  EXPECT_EQ(*store->replay().size(), 1u);
}

TEST_F(MessageStore, LeavesAMessagePendingWhenTheReplayMemoryIsFull) {
  const auto now = clock::now();
  const std::vector<replay_entry> live = {
      {"a", "1", now + 1h}, {"a", "2", now + 1h}, {"a", "3", now + 1h}, {"a", "4", now + 1h}};
  ASSERT_TRUE(store->replay().remember(live, now));
  const auto ids = store_all(*store, {incoming("bob", "one more")});
  auto full = record_alone(*store, accept(accepted(ids[0], "alice.example", "x"), {{"alice.example", "5", now + 1h}}));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, make_error_code(errc::full));
  EXPECT_EQ(*store->raw().pending_count(), 1u);
}

TEST_F(MessageStore, OpensReadOnlyBesideAWriter) {
  const auto ids = store_all(*store, {incoming("bob", "shared")});
  ASSERT_TRUE(record_alone(*store, accept(accepted(ids[0], "alice.example", "shared"))));
  auto reader = message_store::open(dir.path() / "receiver.db", open_options{.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ(reader->outcomes().list_inbox()->size(), 1u);
  EXPECT_EQ(reader->path(), dir.path() / "receiver.db");
}

TEST(MessageStoreOpen, CreatesANewDatabaseAtTheLatestSchemaVersion) {
  test::temp_dir dir;
  { ASSERT_TRUE(message_store::open(dir.path() / "receiver.db")); }
  auto db = database::open(dir.path() / "receiver.db");
  ASSERT_TRUE(db);
  EXPECT_EQ(*schema_version(*db), message_store::schema_version);
}

TEST(MessageStoreOpen, RefusesASchemaFromTheFuture) {
  test::temp_dir dir;
  {
    auto db = database::open(dir.path() / "future.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  for (const bool read_only : {false, true}) {
    auto store = message_store::open(dir.path() / "future.db", open_options{.read_only = read_only});
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, make_error_code(errc::schema_mismatch));
    EXPECT_NE(store.error().detail.find("version 99"), std::string::npos) << store.error().detail;
  }
}

TEST(MessageStoreOpen, RefusesToListAFileThatIsNotAReceiverDatabase) {
  test::temp_dir dir;
  {
    auto db = database::open(dir.path() / "other.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER); PRAGMA user_version = 1"));
  }
  auto reader = message_store::open(dir.path() / "other.db", open_options{.read_only = true});
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code, make_error_code(errc::schema_mismatch));
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
    ASSERT_TRUE(store->raw().store_raw(batch));
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

// ---- databases written by the first release ----

class MessageStoreUpgrade : public ::testing::TestWithParam<int> {
 protected:
  /// A receiver.db as release 1 left it (user_version GetParam()): two
  /// messages pending, one parked after DNS timeouts until five minutes from
  /// now, one accepted with its replay pair, one quarantined, and the health row.
  void SetUp() override {
    auto db = test::create_release_1_database(path(), test::release_1_receiver_schema, GetParam());
    const auto t0 = std::chrono::floor<std::chrono::milliseconds>(clock::now() - 10min);
    const auto millis = [&](std::chrono::minutes after) { return std::to_string(to_millis(t0 + after)); };
    accepted_id = test::add_release_1_raw_message(db, "bob.example", "accepted", t0);
    quarantined_id = test::add_release_1_raw_message(db, "bob.example", "refused", t0 + 1min);
    pending_ids.push_back(test::add_release_1_raw_message(db, "bob.example", "pending 1", t0 + 2min));
    pending_ids.push_back(test::add_release_1_raw_message(db, "bob.example", "parked", t0 + 3min));
    pending_ids.push_back(test::add_release_1_raw_message(db, "bob.example", "pending 2", t0 + 4min));
    const auto statements =
        "UPDATE raw_messages SET state = 1, payload = NULL WHERE id = " + std::to_string(accepted_id) + ";" +
        "INSERT INTO inbox (raw_id, sender, recipient, received_at, processed_at, issued_at, jti, message, "
        "dnssec_secure, legacy) VALUES (" +
        std::to_string(accepted_id) + ", 'alice.example', 'bob.example', " + millis(0min) + ", " + millis(0min) +
        ", 1700000000, 'old-jti', 'accepted', 1, 0);" + "INSERT INTO replay VALUES ('alice.example', 'old-jti', " +
        millis(60min) + ");" + "INSERT INTO replay VALUES ('alice.example', 'expired-jti', " + millis(-5min) + ");" +
        "INSERT INTO quarantine (raw_id, topic, payload, received_at, quarantined_at, reason_category, "
        "reason_value, reason) SELECT id, topic, payload, received_at, received_at, 'jose', 7, 'bad' "
        "FROM raw_messages WHERE id = " +
        std::to_string(quarantined_id) + ";" +
        "UPDATE raw_messages SET state = 2, payload = NULL, last_error = 'jose:7 bad' WHERE id = " +
        std::to_string(quarantined_id) + ";" +
        "UPDATE raw_messages SET attempts = 2, next_attempt_at = " + millis(15min) +
        ", first_failure_at = " + millis(3min) +
        ", last_error = 'dane:5 timeout' WHERE id = " + std::to_string(pending_ids[1]) + ";" +
        "INSERT INTO health VALUES (1, 1, 1, " + millis(9min) + ", '');";
    ASSERT_TRUE(db.exec(statements));
  }
  std::filesystem::path path() const { return dir.path() / "receiver.db"; }

  test::temp_dir dir;
  std::int64_t accepted_id{0};
  std::int64_t quarantined_id{0};
  std::vector<std::int64_t> pending_ids;
};

TEST_P(MessageStoreUpgrade, UpgradesAndDeliversEveryPendingMessage) {
  auto store = message_store::open(path(), {}, message_store_limits{.max_replay_entries = 4});
  ASSERT_TRUE(store) << store.error().message();
  {
    auto db = database::open(path(), open_options{.read_only = true});
    ASSERT_TRUE(db);
    EXPECT_EQ(*schema_version(*db), message_store::schema_version);
  }
  // What was decided stays decided.
  const auto inbox = store->outcomes().list_inbox().value();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].message, "accepted");
  EXPECT_EQ(inbox[0].jti, "old-jti");
  EXPECT_EQ(store->outcomes().list_quarantine()->size(), 1u);
  EXPECT_EQ(*store->outcomes().quarantine_bytes(), 7u + 2 * (11 + 3) + quarantine_row_allowance)
      << "the quarantine of release 1 counted by the upgrade (payload, topic and reason twice, the allowance)";
  EXPECT_EQ(*store->raw().begin_processing(pending_ids[0]), 0) << "no processing mark from before the upgrade";
  EXPECT_TRUE(store->health().load()->has_value());
  EXPECT_TRUE(*store->replay().contains("alice.example", "old-jti", clock::now()));
  EXPECT_EQ(*store->replay().size(), 2u) << "the rows of release 1 counted by the upgrade";
  auto copy = store->raw().store_raw(std::vector{incoming("bob.example", "accepted")});
  ASSERT_TRUE(copy);
  EXPECT_TRUE((*copy)[0].duplicate) << "a redelivery of a message accepted before the upgrade";

  // The pending ones come out of the scheduler as they would have before:
  // the backlog in arrival order, the parked one when it is due.
  EXPECT_EQ(*store->raw().untried_count(), 2u);
  auto backlog = store->raw().pending_after(0, clock::now(), 100);
  ASSERT_TRUE(backlog);
  ASSERT_EQ(backlog->size(), 2u);
  EXPECT_EQ((*backlog)[0].raw_id, pending_ids[0]);
  EXPECT_EQ(std::string((*backlog)[0].payload.begin(), (*backlog)[0].payload.end()), "pending 1");
  EXPECT_EQ((*backlog)[1].raw_id, pending_ids[2]);
  auto due = store->raw().next_due(clock::now());
  ASSERT_TRUE(due && due->has_value());
  auto parked = store->raw().due_pending(**due, 100, std::vector{pending_ids[0], pending_ids[2]});
  ASSERT_TRUE(parked);
  ASSERT_EQ(parked->size(), 1u);
  EXPECT_EQ((*parked)[0].raw_id, pending_ids[1]);
  EXPECT_EQ((*parked)[0].attempts, 2);
  EXPECT_TRUE((*parked)[0].first_failure_at.has_value());

  // And every one of them reaches the inbox, with its replay pair counted
  // against the bound (2 of release 1 + 2 new = 4).
  std::vector<outcome_record> records;
  for (const auto& message : *backlog) {
    records.push_back(accept(accepted(message.raw_id, "alice.example", "delivered"),
                             {{"alice.example", "new-" + std::to_string(message.raw_id), clock::now() + 1h}}));
  }
  records.push_back(accept(accepted((*parked)[0].raw_id, "alice.example", "delivered")));
  auto recorded = store->record(records);
  ASSERT_TRUE(recorded) << recorded.error().message();
  for (const auto& one : *recorded) EXPECT_TRUE(one) << one.error().message();
  EXPECT_EQ(*store->raw().pending_count(), 0u);
  EXPECT_EQ(store->outcomes().list_inbox()->size(), 4u);
  EXPECT_EQ(*store->replay().size(), 4u);
}

TEST_P(MessageStoreUpgrade, ListsItWithoutUpgradingWhenOpenedReadOnly) {
  auto reader = message_store::open(path(), open_options{.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ(reader->outcomes().list_inbox()->size(), 1u);
  EXPECT_EQ(*reader->raw().pending_count(), 3u);
  auto db = database::open(path(), open_options{.read_only = true});
  ASSERT_TRUE(db);
  EXPECT_EQ(*schema_version(*db), GetParam()) << "upgraded by the daemon, never by a listing";
}

// 1: what release 1 wrote; 0: the same tables in a file that never got its version.
INSTANTIATE_TEST_SUITE_P(Release1, MessageStoreUpgrade, ::testing::Values(1, 0),
                         [](const auto& info) { return "UserVersion" + std::to_string(info.param); });

}  // namespace
}  // namespace danemq::store
