#include "persistent_replay_memory.hpp"

#include <gtest/gtest.h>

#include "danemq/store/message_store.hpp"
#include "support/process.hpp"

namespace danemq::receiver {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::system_clock;
using verdict = jose::replay_memory::verdict;

TEST(PersistentReplayMemory, RemembersAcrossAReopen) {
  test::temp_dir dir;
  const auto now = clock::now();
  {
    auto store = store::message_store::open(dir.path() / "r.db");
    ASSERT_TRUE(store);
    persistent_replay_memory memory(store->replay());
    EXPECT_EQ(*memory.remember("alice.example", "j1", now, now + 5min), verdict::first_seen);
    EXPECT_EQ(*memory.remember("alice.example", "j1", now, now + 5min), verdict::seen_before);
  }
  auto store = store::message_store::open(dir.path() / "r.db");
  ASSERT_TRUE(store);
  persistent_replay_memory memory(store->replay());
  EXPECT_TRUE(*memory.seen("alice.example", "j1", now + 1min));
  EXPECT_FALSE(*memory.seen("carol.example", "j1", now + 1min)) << "jti of different senders do not collide";
  EXPECT_TRUE(*memory.seen("alice.example", "j1", now + 6min)) << "a replay for as long as it is kept";
  EXPECT_EQ(*memory.remember("alice.example", "j1", now + 6min, now + 11min), verdict::seen_before);
  ASSERT_TRUE(store->replay().purge(now + 7min));
  EXPECT_FALSE(*memory.seen("alice.example", "j1", now + 7min)) << "forgotten once purged";
}

TEST(PersistentReplayMemory, RefusesWhenFullRatherThanForget) {
  test::temp_dir dir;
  auto store =
      store::message_store::open(dir.path() / "r.db", {}, store::message_store_limits{.max_replay_entries = 2});
  ASSERT_TRUE(store);
  persistent_replay_memory memory(store->replay());
  const auto now = clock::now();
  ASSERT_TRUE(memory.remember("a", "1", now, now + 5min));
  ASSERT_TRUE(memory.remember("a", "2", now, now + 5min));
  auto full = memory.remember("a", "3", now, now + 5min);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, make_error_code(store::errc::full));
  EXPECT_EQ(*memory.remember("a", "3", now + 7min, now + 11min), verdict::first_seen)
      << "room again once the old entries expired (and the skew allowance passed)";
}

}  // namespace
}  // namespace danemq::receiver
