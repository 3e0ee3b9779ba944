#include "danemq/store/inbox_follower.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "unit/store/records.hpp"

namespace danemq::store {
namespace {

using namespace test_records;

std::vector<std::string> texts(const std::vector<inbox_entry>& rows) {
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(row.message);
  return out;
}

class InboxFollower : public ::testing::Test {
 protected:
  /// The daemon's side: stores and accepts one message from `sender`.
  void receive(const std::string& sender, const std::string& text) {
    if (!writer) writer.emplace(std::move(message_store::open(path).value()));
    const auto ids = store_all(*writer, {incoming("bob.example", text)});
    ASSERT_EQ(ids.size(), 1u);
    ASSERT_TRUE(record_alone(*writer, accept(accepted(ids[0], sender, text))));
  }
  test::temp_dir dir;
  std::filesystem::path path{dir.path() / "receiver.db"};
  std::optional<message_store> writer;
};

TEST_F(InboxFollower, ListsWhatIsThereFirstThenOnlyWhatWasAddedSince) {
  receive("alice.example", "one");
  receive("alice.example", "two");
  inbox_follower follower(path, listing_filter{});
  EXPECT_EQ(texts(follower.poll().value()), (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(follower.poll().value().empty());
  receive("alice.example", "three");
  EXPECT_EQ(texts(follower.poll().value()), (std::vector<std::string>{"three"}));
  EXPECT_TRUE(follower.poll().value().empty());
}

TEST_F(InboxFollower, KeepsToOneSenderAndAppliesTheLimitToTheFirstListingOnly) {
  receive("alice.example", "a1");
  receive("carol.example", "c1");
  receive("alice.example", "a2");
  listing_filter filter;
  filter.from = "alice.example";
  filter.limit = 1;
  inbox_follower follower(path, filter);
  EXPECT_EQ(texts(follower.poll().value()), (std::vector<std::string>{"a2"})) << "the newest";
  receive("carol.example", "c2");
  receive("alice.example", "a3");
  receive("alice.example", "a4");
  EXPECT_EQ(texts(follower.poll().value()), (std::vector<std::string>{"a3", "a4"}))
      << "a1 was there before: the limit left it out of the listing, following does not bring it back";
}

TEST_F(InboxFollower, WaitsForADatabaseThatDoesNotExistYetAndThenShowsAllOfIt) {
  inbox_follower follower(path, listing_filter{});
  EXPECT_TRUE(follower.poll().value().empty());
  EXPECT_FALSE(follower.found());
  receive("alice.example", "first ever");
  EXPECT_EQ(texts(follower.poll().value()), (std::vector<std::string>{"first ever"}));
  EXPECT_TRUE(follower.found());
}

}  // namespace
}  // namespace danemq::store
