#include "danemq/store/replay_table.hpp"

#include <gtest/gtest.h>

#include "danemq/store/message_store.hpp"
#include "support/process.hpp"
#include "unit/store/records.hpp"

namespace danemq::store {
namespace {

using namespace std::chrono_literals;
using namespace test_records;

class ReplayTable : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = message_store::open(path(), {}, message_store_limits{.max_replay_entries = 4});
    ASSERT_TRUE(opened) << opened.error().message();
    store.emplace(std::move(*opened));
  }
  std::filesystem::path path() const { return dir.path() / "receiver.db"; }
  replay_table& table() { return store->replay(); }
  /// The rows as another connection counts them.
  std::size_t counted_rows() const {
    auto db = database::open(path(), open_options{.read_only = true});
    auto count = db->prepare("SELECT count(*) FROM replay");
    EXPECT_TRUE(count && *count->step());
    return static_cast<std::size_t>(count->column_int64(0));
  }
  test::temp_dir dir;
  std::optional<message_store> store;
};

TEST_F(ReplayTable, ForgetsExpiredEntriesAndStaysBounded) {
  const auto now = clock::now();
  const std::vector<replay_entry> old = {{"a", "1", now - 1s}, {"a", "2", now - 1s}, {"a", "3", now + 1h}};
  ASSERT_TRUE(table().remember(old, now - 1h));
  EXPECT_TRUE(*table().contains("a", "1", now)) << "kept means still a replay";
  EXPECT_TRUE(*table().contains("a", "3", now));
  EXPECT_FALSE(*table().contains("b", "3", now)) << "jti of different senders do not collide";
  // Limit 4: three more fit only once the expired ones are purged (the
  // skew allowance, 60 s, after their expiry).
  const std::vector<replay_entry> more = {{"b", "1", now + 1h}, {"b", "2", now + 1h}, {"b", "3", now + 1h}};
  EXPECT_EQ(table().remember(more, now + 59s).error().code, make_error_code(errc::full));
  ASSERT_TRUE(table().remember(more, now + 61s));
  EXPECT_EQ(*table().size(), 4u);
  const std::vector<replay_entry> one_too_many = {{"c", "1", now + 1h}};
  auto full = table().remember(one_too_many, now);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, make_error_code(errc::full));
  // A purged pair may be remembered again.
  EXPECT_EQ(*table().purge(now + 2h), 4u);
  EXPECT_EQ(*table().size(), 0u);
  const std::vector<replay_entry> reuse = {{"a", "1", now + 3h}};
  EXPECT_TRUE(table().remember(reuse, now + 2h));
}

TEST_F(ReplayTable, RefusesALivePairAndRemembersNothingOfThatCall) {
  const auto now = clock::now();
  const std::vector<replay_entry> first = {{"a", "1", now + 1h}};
  ASSERT_TRUE(table().remember(first, now));
  const std::vector<replay_entry> again = {{"a", "2", now + 1h}, {"a", "1", now + 1h}};
  auto replayed = table().remember(again, now);
  ASSERT_FALSE(replayed);
  EXPECT_EQ(replayed.error().code, make_error_code(errc::conflict));
  EXPECT_FALSE(*table().contains("a", "2", now));
  EXPECT_EQ(*table().size(), 1u);
}

// It used to be overwritten once expired: a copy in the last second of the
// window, judged at its arrival, took the original's place.
TEST_F(ReplayTable, NeverOverwritesAPairExpiredOrNot) {
  const auto now = clock::now();
  const std::vector<replay_entry> old = {{"a", "1", now - 1s}};
  ASSERT_TRUE(table().remember(old, now - 1h));
  const std::vector<replay_entry> renewed = {{"a", "1", now + 1h}};
  auto again = table().remember(renewed, now);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(errc::conflict));
  EXPECT_TRUE(*table().contains("a", "1", now));
  EXPECT_EQ(*table().size(), 1u);
  EXPECT_EQ(counted_rows(), 1u);
}

// It used to be purged by the wall clock alone: a copy that arrived in time
// but was still pending found no entry.
TEST_F(ReplayTable, KeepsEntriesAMessageStillPendingCouldCollideWith) {
  const auto now = clock::now();
  const auto ids = store_all(*store, {incoming("bob", "waiting", now - 2h)});
  ASSERT_EQ(ids.size(), 1u);
  const std::vector<replay_entry> entries = {{"a", "before", now - 2h - 2min}, {"a", "after", now - 2h + 1s}};
  ASSERT_TRUE(table().remember(entries, now - 3h));
  EXPECT_EQ(*table().purge(now), 1u) << "only the one expired before the pending arrival, less 60 s";
  EXPECT_TRUE(*table().contains("a", "after", now));
  const std::vector<outcome_record> done = {quarantine(ids[0])};
  ASSERT_TRUE(store->record(done));
  EXPECT_EQ(*table().purge(now), 1u);
  EXPECT_EQ(*table().size(), 0u);
}

TEST_F(ReplayTable, RefusesASenderOverItsShareWhileOthersStillFit) {
  auto opened = message_store::open(dir.path() / "quota.db", {},
                                    message_store_limits{.max_replay_entries = 10, .replay_entries_per_sender = 2});
  ASSERT_TRUE(opened);
  auto& quota = opened->replay();
  const auto now = clock::now();
  const std::vector<replay_entry> two = {{"loud", "1", now + 1h}, {"loud", "2", now + 1h}};
  ASSERT_TRUE(quota.remember(two, now));
  const std::vector<replay_entry> third = {{"loud", "3", now + 1h}};
  auto over = quota.remember(third, now);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, make_error_code(errc::over_quota)) << over.error().message();
  const std::vector<replay_entry> other = {{"quiet", "1", now + 1h}};
  EXPECT_TRUE(quota.remember(other, now));
  // The share frees up as the sender's entries are purged.
  EXPECT_TRUE(quota.remember(third, now + 2h));
}

// The size used to be kept in the program and was recounted whenever an undone
// outcome made it unsure; now it is kept by the database in the same transaction.
TEST_F(ReplayTable, KeepsItsSizeExactWhenOutcomesAreUndone) {
  std::vector<incoming_message> batch;
  for (int i = 0; i < 3; ++i) batch.push_back(incoming("bob", "r" + std::to_string(i)));
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 3u);
  const auto expires = clock::now() + 5min;
  const std::vector<outcome_record> records = {
      accept(accepted(ids[0], "alice.example", "r0"), {{"alice.example", "x", expires}}),
      // Its first pair is new, its second taken by the record before: undone as a whole.
      accept(accepted(ids[1], "alice.example", "r1"),
             {{"alice.example", "y", expires}, {"alice.example", "x", expires}}),
      accept(accepted(ids[2], "alice.example", "r2"), {{"alice.example", "z", expires}}),
  };
  auto recorded = store->record(records);
  ASSERT_TRUE(recorded);
  EXPECT_TRUE((*recorded)[0]);
  EXPECT_FALSE((*recorded)[1]);
  EXPECT_TRUE((*recorded)[2]);
  EXPECT_FALSE(*table().contains("alice.example", "y", clock::now()));
  EXPECT_EQ(*table().size(), 2u);
  EXPECT_EQ(counted_rows(), 2u);
  // Room for two more of the four: the bound holds exactly.
  const std::vector<replay_entry> two = {{"b", "1", expires}, {"b", "2", expires}};
  ASSERT_TRUE(table().remember(two, clock::now()));
  const std::vector<replay_entry> one_more = {{"b", "3", expires}};
  EXPECT_EQ(table().remember(one_more, clock::now()).error().code, make_error_code(errc::full));
}

}  // namespace
}  // namespace danemq::store
