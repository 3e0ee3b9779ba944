#include "danemq/jose/replay_memory.hpp"

#include <gtest/gtest.h>

namespace danemq::jose {
namespace {

using std::chrono::minutes;
const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));

TEST(InMemoryReplayMemory, RemembersEachSenderAndJtiPairAndNeverOverwritesIt) {
  in_memory_replay_memory memory;
  EXPECT_EQ(*memory.remember("alice", "j1", t0, t0 + minutes(5)), replay_memory::verdict::first_seen);
  EXPECT_EQ(*memory.remember("alice", "j1", t0 + minutes(1), t0 + minutes(6)), replay_memory::verdict::seen_before);
  EXPECT_TRUE(*memory.seen("alice", "j1", t0 + minutes(5)));
  // Same jti, other sender: another key.
  EXPECT_EQ(*memory.remember("bob", "j1", t0, t0 + minutes(5)), replay_memory::verdict::first_seen);
  // An entry past its time is still a replay until it is dropped to make room:
  // a copy judged then is refused, never accepted a second time.
  EXPECT_TRUE(*memory.seen("alice", "j1", t0 + minutes(5) + std::chrono::seconds(1)));
  EXPECT_EQ(*memory.remember("alice", "j1", t0 + minutes(6), t0 + minutes(11)), replay_memory::verdict::seen_before);
}

TEST(InMemoryReplayMemory, StaysBoundedAndRefusesRatherThanForgetEarly) {
  in_memory_replay_memory memory(2);
  ASSERT_TRUE(memory.remember("a", "1", t0, t0 + minutes(1)));
  ASSERT_TRUE(memory.remember("a", "2", t0, t0 + minutes(5)));
  auto full = memory.remember("a", "3", t0, t0 + minutes(5));
  EXPECT_FALSE(full);
  // Once the first entry expired it makes room.
  EXPECT_EQ(*memory.remember("a", "3", t0 + minutes(2), t0 + minutes(7)), replay_memory::verdict::first_seen);
  EXPECT_EQ(memory.size(), 2U);
  EXPECT_TRUE(*memory.seen("a", "2", t0 + minutes(2)));
}

}  // namespace
}  // namespace danemq::jose
