#include "danemq/store/outbox.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "danemq/store/migrations.hpp"
#include "support/process.hpp"
#include "support/release_databases.hpp"

namespace danemq::store {
namespace {

outbox_entry entry(std::string recipient, std::string payload) {
  return outbox_entry{0,
                      recipient,
                      recipient,
                      std::vector<std::uint8_t>(payload.begin(), payload.end()),
                      std::chrono::system_clock::now(),
                      0};
}

TEST(Outbox, KeepsEntriesInOrderAcrossAReopen) {
  test::temp_dir dir;
  {
    auto box = outbox::open(dir.path() / "sender.db");
    ASSERT_TRUE(box) << box.error().message();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(box->enqueue(entry("bob.example", "m" + std::to_string(i))));
  }
  auto box = outbox::open(dir.path() / "sender.db");
  ASSERT_TRUE(box);
  auto all = box->oldest();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(std::string((*all)[i].payload.begin(), (*all)[i].payload.end()), "m" + std::to_string(i));
  }
  EXPECT_LT((*all)[0].id, (*all)[1].id);
}

TEST(Outbox, EnqueuesABatchInOrderInOneGo) {
  test::temp_dir dir;
  auto box = outbox::open(dir.path() / "sender.db");
  ASSERT_TRUE(box) << box.error().message();
  ASSERT_TRUE(box->enqueue(entry("carol.example", "before")));
  const std::vector<outbox_entry> batch = {entry("bob.example", "r0"), entry("dave.example", "r1"),
                                           entry("bob.example", "r2")};
  ASSERT_TRUE(box->enqueue(batch));
  ASSERT_TRUE(box->enqueue(std::span<const outbox_entry>{}));
  auto all = box->oldest();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].recipient, "carol.example");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*all)[i + 1].recipient, batch[i].recipient);
    EXPECT_EQ(std::string((*all)[i + 1].payload.begin(), (*all)[i + 1].payload.end()), "r" + std::to_string(i));
  }
}

TEST(Outbox, KeepsTheLastErrorAndARetryRequestForAnotherConnection) {
  test::temp_dir dir;
  auto runner = outbox::open(dir.path() / "sender.db");
  ASSERT_TRUE(runner);
  auto id = runner->enqueue(entry("bob.example", "m"));
  ASSERT_TRUE(id);
  ASSERT_TRUE(runner->note_attempt(*id, "refused"));
  EXPECT_EQ(runner->oldest().value().at(0).last_error, "refused");
  EXPECT_FALSE(runner->take_retry_request().value());
  {
    auto command = outbox::open(dir.path() / "sender.db");
    ASSERT_TRUE(command);
    ASSERT_TRUE(command->request_retry());
    ASSERT_TRUE(command->request_retry()) << "asked twice before it was taken: one request";
  }
  EXPECT_TRUE(runner->take_retry_request().value());
  EXPECT_FALSE(runner->take_retry_request().value()) << "taken once";
}

TEST(Outbox, RemovesOnlyWhatWasAcknowledged) {
  test::temp_dir dir;
  auto box = outbox::open(dir.path() / "sender.db");
  ASSERT_TRUE(box);
  auto first = box->enqueue(entry("bob.example", "a"));
  auto second = box->enqueue(entry("bob.example", "b"));
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(box->remove(*first));
  auto missing = box->remove(*first);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(errc::not_found));
  ASSERT_TRUE(box->note_attempt(*second, "broker unreachable"));
  auto rest = box->oldest(1);
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].id, *second);
  EXPECT_EQ((*rest)[0].attempts, 1);
  EXPECT_EQ(*box->size(), 1u);
}

TEST(Outbox, NeverReusesAnIdSoOrderSurvivesRemovals) {
  test::temp_dir dir;
  auto box = outbox::open(dir.path() / "sender.db");
  ASSERT_TRUE(box);
  auto a = box->enqueue(entry("bob.example", "a"));
  ASSERT_TRUE(box->remove(*a));
  auto b = box->enqueue(entry("bob.example", "b"));
  EXPECT_GT(*b, *a);
}

TEST(SentLog, EachStateFromLoggedToDeliveredAndAnInterruptedSendIsUnconfirmed) {
  test::temp_dir dir;
  const auto logged = [](const std::string& text) {
    sent_entry sent;
    sent.recipient = "bob.example";
    sent.text = text;
    sent.jti = "jti-" + text;
    sent.note_digest = "digest-" + text;
    sent.receipt_requested = true;
    sent.queued_at = std::chrono::system_clock::now();
    return sent;
  };
  {
    auto box = outbox::open(dir.path() / "sender.db");
    ASSERT_TRUE(box) << box.error().message();
    // A one-off send: logged without an fsync, then published.
    auto published = box->record_sent(logged("published"), nullptr, durability::normal);
    ASSERT_TRUE(published) << published.error().message();
    ASSERT_TRUE(box->mark_published(*published, std::chrono::system_clock::now()));
    // One whose process was killed before the broker acknowledged it.
    auto interrupted = box->record_sent(logged("interrupted"), nullptr, durability::normal);
    ASSERT_TRUE(interrupted);
    // One that waits in the outbox, and one that came back receipted.
    auto waiting = entry("bob.example", "queued");
    auto queued = box->record_sent(logged("queued"), &waiting);
    ASSERT_TRUE(queued);
    auto delivered = box->record_sent(logged("delivered"), nullptr, durability::normal);
    ASSERT_TRUE(delivered);
    ASSERT_TRUE(box->mark_published(*delivered, std::chrono::system_clock::now()));
    auto marked =
        box->mark_delivered("bob.example", "jti-delivered", "digest-delivered", std::chrono::system_clock::now());
    ASSERT_TRUE(marked);
    EXPECT_TRUE(*marked);
  }
  // What a reopening process (the next `sent`) sees.
  auto again = outbox::open(dir.path() / "sender.db");
  ASSERT_TRUE(again);
  auto rows = again->list_sent();
  ASSERT_TRUE(rows) << rows.error().message();
  std::map<std::string, std::string> states;
  for (const auto& row : *rows) states[row.text] = row.state();
  EXPECT_EQ(states, (std::map<std::string, std::string>{{"published", "published"},
                                                        {"interrupted", "unconfirmed"},
                                                        {"queued", "queued"},
                                                        {"delivered", "delivered"}}));
  auto size = again->size();
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 1u) << "only the queued one is in the outbox";
}

TEST(SentLog, ACancelledMessageLeavesTheOutboxAndTheSentLog) {
  test::temp_dir dir;
  auto box = outbox::open(dir.path() / "sender.db");
  ASSERT_TRUE(box) << box.error().message();
  for (const std::string text : {"kept", "withdrawn"}) {
    sent_entry sent;
    sent.recipient = "bob.example";
    sent.text = text;
    sent.note_digest = "digest-" + text;
    sent.queued_at = std::chrono::system_clock::now();
    auto waiting = entry("bob.example", text);
    ASSERT_TRUE(box->record_sent(sent, &waiting));
  }
  auto waiting = box->oldest();
  ASSERT_TRUE(waiting);
  ASSERT_EQ(waiting->size(), 2u);
  ASSERT_TRUE(box->cancel(waiting->back().id));
  auto again = box->cancel(waiting->back().id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(errc::not_found));
  auto rows = box->list_sent();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u) << "a withdrawn message was never sent";
  EXPECT_EQ(rows->front().text, "kept");
  EXPECT_EQ(rows->front().state(), "queued");
  EXPECT_EQ(box->oldest()->size(), 1u);
}

TEST(Outbox, RefusesADatabaseOfANewerProgram) {
  test::temp_dir dir;
  {
    auto db = database::open(dir.path() / "sender.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  auto box = outbox::open(dir.path() / "sender.db");
  ASSERT_FALSE(box);
  EXPECT_EQ(box.error().code, make_error_code(errc::schema_mismatch));
  EXPECT_EQ(box.error().message().find('\n'), std::string::npos);
}

class OutboxUpgrade : public ::testing::TestWithParam<int> {};

// A sender.db as release 1 left it, with messages waiting for the broker
// (one already tried): after the upgrade each is handed out once, in order.
TEST_P(OutboxUpgrade, UpgradesAndHandsOutEveryWaitingMessageInOrder) {
  test::temp_dir dir;
  const auto path = dir.path() / "sender.db";
  {
    auto db = test::create_release_1_database(path, test::release_1_sender_schema, GetParam());
    ASSERT_TRUE(db.exec(
        "INSERT INTO outbox (recipient, topic, payload, created_at) VALUES ('bob.example', 'bob.example', x'01', 1);"
        "INSERT INTO outbox (recipient, topic, payload, created_at) VALUES ('carol.example', 'carol.example', x'02', "
        "2);"
        "INSERT INTO outbox (recipient, topic, payload, created_at, attempts, last_error) "
        "  VALUES ('bob.example', 'bob.example', x'03', 3, 1, 'broker unreachable');"
        "DELETE FROM outbox WHERE id = 2;"
        "INSERT INTO outbox (recipient, topic, payload, created_at) VALUES ('dave.example', 'dave.example', x'04', "
        "4);"));
  }
  auto box = outbox::open(path);
  ASSERT_TRUE(box) << box.error().message();
  {
    auto db = database::open(path, open_options{.read_only = true});
    ASSERT_TRUE(db);
    EXPECT_EQ(*schema_version(*db), outbox::schema_version);
  }
  auto waiting = box->oldest();
  ASSERT_TRUE(waiting);
  ASSERT_EQ(waiting->size(), 3u);
  EXPECT_EQ((*waiting)[0].recipient, "bob.example");
  EXPECT_EQ((*waiting)[0].payload, std::vector<std::uint8_t>{1});
  EXPECT_EQ((*waiting)[1].payload, std::vector<std::uint8_t>{3});
  EXPECT_EQ((*waiting)[1].attempts, 1);
  EXPECT_EQ((*waiting)[2].recipient, "dave.example");
  EXPECT_EQ((*waiting)[2].created_at, std::chrono::system_clock::time_point(std::chrono::milliseconds(4)));
  for (const auto& entry : *waiting) ASSERT_TRUE(box->remove(entry.id));
  auto next = box->enqueue(entry("bob.example", "after the upgrade"));
  ASSERT_TRUE(next);
  EXPECT_GT(*next, (*waiting)[2].id) << "ids keep growing across the upgrade";
  EXPECT_EQ(*box->size(), 1u);
}

// 1: what release 1 wrote; 0: the same table in a file that never got its version.
INSTANTIATE_TEST_SUITE_P(Release1, OutboxUpgrade, ::testing::Values(1, 0),
                         [](const auto& info) { return "UserVersion" + std::to_string(info.param); });

}  // namespace
}  // namespace danemq::store
