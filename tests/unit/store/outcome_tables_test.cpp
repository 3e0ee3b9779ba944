#include "danemq/store/outcome_tables.hpp"

#include <gtest/gtest.h>

#include "danemq/store/message_store.hpp"
#include "support/process.hpp"
#include "unit/store/records.hpp"

namespace danemq::store {
namespace {

using namespace std::chrono_literals;
using namespace test_records;

class OutcomeTables : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = message_store::open(dir.path() / "receiver.db");
    ASSERT_TRUE(opened) << opened.error().message();
    store.emplace(std::move(*opened));
  }
  outcome_tables& tables() { return store->outcomes(); }
  test::temp_dir dir;
  std::optional<message_store> store;
};

TEST_F(OutcomeTables, ListsAcceptedAndRefusedMessagesWithWhatTheyCarry) {
  const auto ids = store_all(*store, {incoming("bob", "a"), incoming("bob", "b")});
  ASSERT_EQ(ids.size(), 2u);
  ASSERT_TRUE(record_alone(*store, accept(accepted(ids[0], "alice.example", "hi"))));
  ASSERT_TRUE(record_alone(*store, quarantine(ids[1])));
  auto inbox = tables().list_inbox();
  ASSERT_TRUE(inbox);
  ASSERT_EQ(inbox->size(), 1u);
  EXPECT_EQ((*inbox)[0].raw_id, ids[0]);
  EXPECT_EQ((*inbox)[0].message, "hi");
  EXPECT_EQ((*inbox)[0].sender, "alice.example");
  EXPECT_EQ((*inbox)[0].recipient, "bob.example");
  EXPECT_EQ((*inbox)[0].issued_at, 1700000000);
  EXPECT_EQ((*inbox)[0].jti, "j-" + std::to_string(ids[0]));
  EXPECT_TRUE((*inbox)[0].dnssec_secure);
  EXPECT_FALSE((*inbox)[0].legacy);
  auto quarantined = tables().list_quarantine();
  ASSERT_TRUE(quarantined);
  ASSERT_EQ(quarantined->size(), 1u);
  EXPECT_EQ((*quarantined)[0].raw_id, ids[1]);
  EXPECT_EQ(std::string((*quarantined)[0].payload.begin(), (*quarantined)[0].payload.end()), "b");
  EXPECT_EQ((*quarantined)[0].topic, "bob");
  EXPECT_EQ((*quarantined)[0].reason.category, "jose");
  EXPECT_EQ((*quarantined)[0].reason.value, 7);
  EXPECT_EQ((*quarantined)[0].reason.text, bad_signature.text);
}

TEST_F(OutcomeTables, FiltersTheInboxBySenderAndTime) {
  std::vector<incoming_message> batch;
  const auto t0 = clock::now() - 1h;
  for (int i = 0; i < 4; ++i) batch.push_back(incoming("bob", "m" + std::to_string(i), t0 + std::chrono::minutes(i)));
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    auto entry = accepted(ids[i], i % 2 == 0 ? "alice.example" : "carol.example", "m" + std::to_string(i));
    entry.received_at = t0 + std::chrono::minutes(i);
    ASSERT_TRUE(record_alone(*store, accept(entry)));
  }
  EXPECT_EQ(tables().list_inbox(listing_filter{.from = "alice.example"})->size(), 2u);
  EXPECT_EQ(tables().list_inbox(listing_filter{.since = t0 + 2min})->size(), 2u);
  // A limit keeps the newest, listed oldest first.
  auto newest = tables().list_inbox(listing_filter{.limit = 3});
  ASSERT_TRUE(newest);
  ASSERT_EQ(newest->size(), 3u);
  EXPECT_EQ((*newest)[0].message, "m1");
  EXPECT_EQ((*newest)[2].message, "m3");
}

TEST_F(OutcomeTables, ListsTheInboxByArrivalTimeThenArrivalSequence) {
  // Recorded out of order, and the first stored stamped later (a clock set
  // back between two runs): arrival time decides, the raw id breaks ties.
  const auto t0 = clock::now() - 1h;
  const auto ids = store_all(
      *store, {incoming("bob", "late", t0 + 1min), incoming("bob", "first", t0), incoming("bob", "second", t0)});
  ASSERT_EQ(ids.size(), 3u);
  const std::vector<std::pair<std::size_t, clock::time_point>> order = {{2, t0}, {0, t0 + 1min}, {1, t0}};
  for (const auto& [index, at] : order) {
    auto entry = accepted(ids[index], "alice.example", "m" + std::to_string(index));
    entry.received_at = at;
    ASSERT_TRUE(record_alone(*store, accept(entry)));
  }
  auto inbox = tables().list_inbox();
  ASSERT_TRUE(inbox);
  ASSERT_EQ(inbox->size(), 3u);
  EXPECT_EQ((*inbox)[0].raw_id, ids[1]);
  EXPECT_EQ((*inbox)[1].raw_id, ids[2]);
  EXPECT_EQ((*inbox)[2].raw_id, ids[0]);
}

TEST_F(OutcomeTables, FiltersTheQuarantineByTimeAndIgnoresTheSender) {
  std::vector<incoming_message> batch;
  const auto t0 = clock::now() - 1h;
  for (int i = 0; i < 3; ++i) batch.push_back(incoming("bob", "q" + std::to_string(i), t0 + std::chrono::minutes(i)));
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 3u);
  for (const auto id : ids) ASSERT_TRUE(record_alone(*store, quarantine(id)));
  EXPECT_EQ(tables().list_quarantine(listing_filter{.since = t0 + 1min})->size(), 2u);
  EXPECT_EQ(tables().list_quarantine(listing_filter{.from = "nobody.example"})->size(), 3u);
  auto newest = tables().list_quarantine(listing_filter{.limit = 2});
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].raw_id, ids[1]) << "the newest two, in arrival order";
  EXPECT_EQ((*newest)[1].raw_id, ids[2]);
}

/// Stores and quarantines `count` messages of `size` bytes received `age` ago; their raw ids.
std::vector<std::int64_t> quarantine_many(message_store& store, int count, std::size_t size,
                                          std::chrono::milliseconds age = 0ms, const std::string& tag = "") {
  std::vector<incoming_message> batch;
  for (int i = 0; i < count; ++i) {
    auto one = incoming("bob", tag + std::to_string(i) + std::string(size, 'x'), clock::now() - age);
    batch.push_back(std::move(one));
  }
  const auto ids = store_all(store, batch);
  for (const auto id : ids) EXPECT_TRUE(record_alone(store, quarantine(id)));
  return ids;
}

TEST_F(OutcomeTables, CountsTheQuarantinesBytesAsRowsComeAndGo) {
  EXPECT_EQ(*tables().quarantine_bytes(), 0u);
  quarantine_many(*store, 3, 1000);
  const auto counted = *tables().quarantine_bytes();
  EXPECT_GE(counted, 3u * (1001 + quarantine_row_allowance));
  EXPECT_LE(counted, 3u * (1001 + quarantine_row_allowance + 200));
  auto removed = tables().trim_quarantine({0ms, counted - 1}, clock::now());
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_EQ(*tables().quarantine_bytes(), counted / 3 * 2);
}

TEST_F(OutcomeTables, KeepsTheQuarantineAtItsByteLimitRemovingTheOldestFirst) {
  const quarantine_limits limits{0ms, 64 * 1024};
  std::vector<std::int64_t> all;
  for (int round = 0; round < 20; ++round) {
    const auto ids = quarantine_many(*store, 5, 2000, 0ms, "r" + std::to_string(round) + "-");
    all.insert(all.end(), ids.begin(), ids.end());
    ASSERT_TRUE(tables().trim_quarantine(limits, clock::now()));
    EXPECT_LE(*tables().quarantine_bytes(), limits.max_bytes);
  }
  auto left = tables().list_quarantine();
  ASSERT_TRUE(left);
  ASSERT_FALSE(left->empty());
  EXPECT_EQ(left->back().raw_id, all.back()) << "the newest stay";
  EXPECT_GT(left->front().raw_id, all.front()) << "the oldest went";
  EXPECT_GT(*tables().quarantine_bytes(), limits.max_bytes - 2 * 2500) << "removed no more than needed";
  // Their digests went with them: the same bytes are a new message now.
  auto again = store->raw().store_raw(std::vector<incoming_message>{incoming("bob", "r0-0" + std::string(2000, 'x'))});
  ASSERT_TRUE(again);
  EXPECT_FALSE((*again)[0].duplicate);
}

TEST_F(OutcomeTables, RemovesQuarantinedMessagesOlderThanTheAgeLimitButNeverTheNewestRawRow) {
  const auto old_ids = quarantine_many(*store, 2, 10, 48h, "old");
  const auto new_ids = quarantine_many(*store, 1, 10, 0ms, "new");
  auto removed = tables().trim_quarantine({24h, 0}, clock::now());
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), 2u);
  EXPECT_TRUE((*removed)[0].too_old);
  EXPECT_EQ((*removed)[0].raw_id, old_ids[0]);
  EXPECT_EQ(tables().list_quarantine()->size(), 1u);
  // Even the newest, too old, goes from the quarantine, but its raw row stays
  // so that the next raw id is still higher than every id handed out before.
  auto all = tables().trim_quarantine({1ms}, clock::now() + 1h);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
  const auto next = store_all(*store, {incoming("bob", "after")});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_GT(next[0], new_ids[0]);
}

TEST(OutcomeTablesReading, ListsNothingFromADatabaseTheDaemonNeverWrote) {
  test::temp_dir dir;
  { ASSERT_TRUE(database::open(dir.path() / "empty.db")); }
  auto reader = message_store::open(dir.path() / "empty.db", open_options{.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_TRUE(reader->outcomes().list_inbox()->empty());
  EXPECT_TRUE(reader->outcomes().list_quarantine()->empty());
}

TEST(Refusal, KeepsTheTypedErrorAndReadsAsOneLine) {
  const auto reason = refusal::of(fail(errc::corrupt, "page 3"));
  EXPECT_EQ(reason.category, "store");
  EXPECT_EQ(reason.value, static_cast<int>(errc::corrupt));
  EXPECT_EQ(reason.line(), "store:" + std::to_string(static_cast<int>(errc::corrupt)) + " " + reason.text);
}

}  // namespace
}  // namespace danemq::store
