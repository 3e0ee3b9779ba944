#include "danemq/store/raw_queue.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "danemq/store/message_store.hpp"
#include "support/process.hpp"
#include "unit/store/records.hpp"

namespace danemq::store {
namespace {

using namespace std::chrono_literals;
using namespace test_records;

class RawQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = message_store::open(dir.path() / "receiver.db");
    ASSERT_TRUE(opened) << opened.error().message();
    store.emplace(std::move(*opened));
  }
  raw_queue& queue() { return store->raw(); }
  test::temp_dir dir;
  std::optional<message_store> store;
};

TEST_F(RawQueue, StoresRawMessagesAsPendingInArrivalOrder) {
  const std::vector<incoming_message> batch = {incoming("bob", "one"), incoming("bob", "two")};
  auto outcomes = queue().store_raw(batch);
  ASSERT_TRUE(outcomes) << outcomes.error().message();
  ASSERT_EQ(outcomes->size(), 2u);
  EXPECT_FALSE((*outcomes)[0].duplicate);
  EXPECT_LT((*outcomes)[0].raw_id, (*outcomes)[1].raw_id);
  auto due = queue().due_pending(clock::now(), 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ(std::string((*due)[0].payload.begin(), (*due)[0].payload.end()), "one");
  EXPECT_EQ((*due)[1].topic, "bob");
  EXPECT_EQ(*queue().pending_count(), 2u);
}

TEST_F(RawQueue, RecognisesAByteIdenticalCopyAndStoresItOnce) {
  const std::vector<incoming_message> first = {incoming("bob", "same")};
  auto one = queue().store_raw(first);
  ASSERT_TRUE(one);
  const std::vector<incoming_message> again = {incoming("bob", "same"), incoming("other", "same")};
  auto two = queue().store_raw(again);
  ASSERT_TRUE(two);
  EXPECT_TRUE((*two)[0].duplicate);
  EXPECT_EQ((*two)[0].raw_id, (*one)[0].raw_id);
  EXPECT_FALSE((*two)[1].duplicate) << "the same bytes on another topic are another message";
  EXPECT_EQ(*queue().pending_count(), 2u);
}

TEST_F(RawQueue, RecognisesACopyOfAMessageAlreadyAccepted) {
  const std::vector<incoming_message> batch = {incoming("bob", "hello")};
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_TRUE(record_alone(*store, accept(accepted(ids[0], "alice.example", "hello"))));
  auto copy = queue().store_raw(batch);
  ASSERT_TRUE(copy);
  EXPECT_TRUE((*copy)[0].duplicate);
  EXPECT_EQ(*queue().pending_count(), 0u);
}

TEST_F(RawQueue, ParksADeferredMessageUntilItIsDue) {
  const auto ids = store_all(*store, {incoming("bob", "later"), incoming("bob", "now")});
  ASSERT_EQ(ids.size(), 2u);
  const auto now = clock::now();
  ASSERT_TRUE(record_alone(*store, defer(ids[0], 1, now + 1h, now)));
  auto due = queue().due_pending(now, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].raw_id, ids[1]);
  auto later = queue().due_pending(now + 2h, 10);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 2u);
  EXPECT_EQ((*later)[0].attempts, 1);
  ASSERT_TRUE((*later)[0].first_failure_at.has_value());
  EXPECT_EQ(*queue().untried_count(), 1u);
  EXPECT_EQ(*queue().pending_count(), 2u);
  auto next = queue().next_due(now);
  ASSERT_TRUE(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_GT(**next, now + 59min);
  EXPECT_FALSE(queue().next_due(now + 2h)->has_value());
}

TEST_F(RawQueue, RestampsOnlyUntriedMessagesOnceTheClockCanBeTrusted) {
  // Stored by a clock two days ahead: not due by the right one, and judged too young.
  const auto ahead = clock::now() + 48h;
  std::vector<incoming_message> batch = {incoming("bob", "early"), incoming("bob", "parked")};
  for (auto& message : batch) message.received_at = ahead;
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 2u);
  const auto now = clock::now();
  ASSERT_TRUE(record_alone(*store, defer(ids[1], 1, now + 1h, now)));
  EXPECT_TRUE(queue().pending_after(0, now, 10)->empty());
  auto stamped = queue().restamp_untried(now);
  ASSERT_TRUE(stamped) << stamped.error().message();
  EXPECT_EQ(*stamped, 1u) << "a parked message keeps its retry time";
  auto due = queue().pending_after(0, now, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].raw_id, ids[0]);
  EXPECT_EQ(to_millis((*due)[0].received_at), to_millis(now));
}

TEST_F(RawQueue, LoadsNewArrivalsAfterAnId) {
  std::vector<incoming_message> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(incoming("bob", "n" + std::to_string(i)));
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 4u);
  const auto now = clock::now();
  ASSERT_TRUE(record_alone(*store, defer(ids[2], 1, now + 1h, now)));
  auto after = queue().pending_after(ids[0], now, 10);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u) << "the parked one is left to the retries";
  EXPECT_EQ((*after)[0].raw_id, ids[1]);
  EXPECT_EQ((*after)[1].raw_id, ids[3]);
  auto retries = queue().due_pending(now + 2h, 10, {}, ids[3] - 1);
  ASSERT_TRUE(retries);
  ASSERT_EQ(retries->size(), 3u);
  EXPECT_EQ((*retries)[2].raw_id, ids[2]);
}

TEST_F(RawQueue, SkipsExcludedIdsWithoutShorteningTheBatch) {
  std::vector<incoming_message> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(incoming("bob", "m" + std::to_string(i)));
  const auto ids = store_all(*store, batch);
  ASSERT_EQ(ids.size(), 5u);
  const std::vector<std::int64_t> in_flight = {ids[0], ids[1]};
  auto due = queue().due_pending(clock::now(), 3, in_flight);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].raw_id, ids[2]);
}

// The calls message_store::record makes inside its transaction.
TEST(RawQueueInTransaction, TakesOutOrParksOnlyAPendingMessageAndKeepsItsDigest) {
  test::temp_dir dir;
  const auto path = dir.path() / "receiver.db";
  { ASSERT_TRUE(message_store::open(path)); }  // creates the schema
  auto opened = database::open(path);
  ASSERT_TRUE(opened);
  shared_database shared(std::move(*opened));
  raw_queue queue(shared);
  const std::vector<incoming_message> batch = {incoming("bob", "once"), incoming("bob", "twice")};
  auto stored = queue.store_raw(batch);
  ASSERT_TRUE(stored);
  const auto first = (*stored)[0].raw_id;
  const auto second = (*stored)[1].raw_id;
  {
    auto db = shared.lock();
    auto tx = transaction::begin(*db, durability::normal);
    ASSERT_TRUE(tx);
    auto pending = queue.pending(db, first);
    ASSERT_TRUE(pending) << pending.error().message();
    EXPECT_EQ(std::string(pending->payload.begin(), pending->payload.end()), "once");
    ASSERT_TRUE(queue.finish(db, first, raw_fate::quarantined, std::string("jose:7 bad")));
    EXPECT_EQ(queue.pending(db, first).error().code, make_error_code(errc::not_found));
    EXPECT_EQ(queue.finish(db, first, raw_fate::accepted, std::nullopt).error().code, make_error_code(errc::not_found));
    EXPECT_EQ(queue.park(db, first, 1, clock::now(), clock::now(), "x").error().code, make_error_code(errc::not_found));
    ASSERT_TRUE(queue.park(db, second, 1, clock::now() + 1h, clock::now(), "dane:5 timeout"));
    ASSERT_TRUE(tx->commit());
  }
  EXPECT_EQ(*queue.pending_count(), 1u);
  EXPECT_EQ(*queue.untried_count(), 0u);
  auto again = queue.store_raw(std::span(batch).first(1));
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)[0].duplicate) << "the digest outlives the payload";
}

TEST_F(RawQueue, KeepsPendingMessagesAcrossAReopen) {
  ASSERT_EQ(store_all(*store, {incoming("bob", "persist")}).size(), 1u);
  store.reset();
  auto reopened = message_store::open(dir.path() / "receiver.db");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(*reopened->raw().pending_count(), 1u);
}

TEST_F(RawQueue, KeepsAMessageRefusedOnArrivalAsItsDigestAndTopicInTheQuarantineOnly) {
  const bytes digest(32, 0xab);
  incoming_message refused{"bob", {}, clock::now(), refused_on_arrival{digest, {"jose", 4, "message too large: x"}}};
  const std::vector<incoming_message> batch = {incoming("bob", "fine"), refused};
  auto outcomes = queue().store_raw(batch);
  ASSERT_TRUE(outcomes) << outcomes.error().message();
  EXPECT_FALSE((*outcomes)[0].quarantined);
  EXPECT_TRUE((*outcomes)[1].quarantined);
  EXPECT_EQ(*queue().pending_count(), 1u) << "never processed";
  auto listed = store->outcomes().list_quarantine();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].raw_id, (*outcomes)[1].raw_id);
  EXPECT_TRUE((*listed)[0].payload.empty());
  EXPECT_EQ((*listed)[0].reason.value, 4);

  auto again = queue().store_raw(std::vector<incoming_message>{refused});
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)[0].duplicate) << "a redelivery is known by its digest";
  EXPECT_EQ(store->outcomes().list_quarantine()->size(), 1u);
}

TEST_F(RawQueue, CountsProcessingBegunWithoutAnOutcomeUntilOneIsRecorded) {
  const auto ids = store_all(*store, {incoming("bob", "one")});
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(*queue().begin_processing(ids[0]), 0);
  EXPECT_EQ(*queue().begin_processing(ids[0]), 1);
  ASSERT_TRUE(queue().abandon_processing(ids[0]));
  EXPECT_EQ(*queue().begin_processing(ids[0]), 1) << "an abandoned try does not count";
  ASSERT_TRUE(record_alone(*store, defer(ids[0], 1, clock::now() - 1s, clock::now())));
  EXPECT_EQ(*queue().begin_processing(ids[0]), 0) << "a deferral is an outcome";
  ASSERT_TRUE(record_alone(*store, quarantine(ids[0])));
  auto gone = queue().begin_processing(ids[0]);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, make_error_code(errc::not_found));
}

TEST_F(RawQueue, MarksAndUnmarksTheProcessingOfALoadInOneGoAndReportsTheMarksItLoads) {
  const auto ids = store_all(*store, {incoming("bob", "one"), incoming("bob", "two"), incoming("bob", "three")});
  ASSERT_EQ(ids.size(), 3u);
  const auto unfinished = [&] {
    std::vector<int> marks;
    auto loaded = queue().pending_after(0, clock::now(), 10);
    EXPECT_TRUE(loaded);
    if (loaded) {
      for (const auto& one : *loaded) marks.push_back(one.unfinished);
    }
    return marks;
  };
  EXPECT_EQ(unfinished(), (std::vector<int>{0, 0, 0}));
  ASSERT_TRUE(queue().begin_processing_all(std::vector<std::int64_t>{ids[0], ids[2]}));
  EXPECT_EQ(unfinished(), (std::vector<int>{1, 0, 1}));
  ASSERT_TRUE(queue().begin_processing_all(std::vector<std::int64_t>{ids[2]}));
  EXPECT_EQ(unfinished(), (std::vector<int>{1, 0, 2}));
  ASSERT_TRUE(queue().abandon_processing_all(std::vector<std::int64_t>{ids[0], ids[1], ids[2]}));
  EXPECT_EQ(unfinished(), (std::vector<int>{0, 0, 1})) << "never below 0";

  ASSERT_TRUE(record_alone(*store, quarantine(ids[2])));
  ASSERT_TRUE(queue().begin_processing_all(std::vector<std::int64_t>{ids[1], ids[2]}))
      << "a message no longer pending is skipped";
  EXPECT_EQ(unfinished(), (std::vector<int>{0, 1}));
  EXPECT_EQ(*queue().begin_processing(ids[1]), 1);
}

TEST_F(RawQueue, KeepsTheProcessingMarkAcrossAReopen) {
  const auto ids = store_all(*store, {incoming("bob", "crashes us")});
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_EQ(*queue().begin_processing(ids[0]), 0);
  store.reset();
  auto reopened = message_store::open(dir.path() / "receiver.db");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(*reopened->raw().begin_processing(ids[0]), 1);
}

TEST(RawQueueConcurrency, StoresFromManyThreadsWithoutLoss) {
  test::temp_dir dir;
  auto store = message_store::open(dir.path() / "receiver.db");
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::vector<incoming_message> one = {incoming("bob", std::to_string(t) + "/" + std::to_string(i))};
        ASSERT_TRUE(store->raw().store_raw(one));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(*store->raw().pending_count(), 100u);
}

}  // namespace
}  // namespace danemq::store
