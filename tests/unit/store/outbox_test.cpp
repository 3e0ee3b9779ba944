#include "danemq/store/outbox.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"

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

}  // namespace
}  // namespace danemq::store
