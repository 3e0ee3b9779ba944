#include "rotation_state.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"

namespace danemq::maintenance {
namespace {

using namespace std::chrono_literals;

TEST(RotationState, RoundTripsThroughItsFileAndIsAbsentOutsideARotation) {
  test::temp_dir dir;
  const auto path = rotation_state_path(dir.path(), "bob.example.net");
  EXPECT_EQ(path, dir.path() / "bob.example.net.rotation.json");
  auto nothing = load_rotation_state(path);
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(nothing->has_value());

  rotation_state state;
  state.phase = rotation_phase::committed;
  state.began_at = std::chrono::system_clock::time_point(1'700'000'000'123ms);
  state.seen_published_at = state.began_at + 2s;
  state.committed_at = state.began_at + 5s;
  state.ttl = 2;
  state.max_age = 10s;
  state.old_key = "aa";
  state.new_key = "bb";
  ASSERT_TRUE(save_rotation_state(path, state, std::nullopt));
  auto loaded = load_rotation_state(path);
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_TRUE(loaded->has_value());
  const auto& back = **loaded;
  EXPECT_EQ(back.phase, rotation_phase::committed);
  EXPECT_EQ(back.began_at, state.began_at);
  EXPECT_EQ(back.committed_at, state.committed_at);
  EXPECT_FALSE(back.finished_at);
  EXPECT_EQ(back.new_key, "bb");
  EXPECT_EQ(back.commit_due(), state.began_at + 4s);
  EXPECT_EQ(back.finish_due(), state.began_at + 15s);
  EXPECT_FALSE(back.destroy_due());
}

TEST(RotationState, RefusesACorruptFile) {
  EXPECT_FALSE(rotation_state_from_json("{"));
  EXPECT_FALSE(rotation_state_from_json(R"({"phase":"sideways"})"));
  EXPECT_FALSE(rotation_state_from_json(R"({"phase":"begun"})"));
}

TEST(RotationState, TheLastKeyGoesOneHorizonPlusTheTtlAfterFinish) {
  rotation_state state;
  state.phase = rotation_phase::finished;
  state.finished_at = std::chrono::system_clock::time_point(100s);
  state.ttl = 3600;
  state.max_age = std::chrono::days(7);
  EXPECT_EQ(state.destroy_due(), std::chrono::system_clock::time_point(100s + 3600s + std::chrono::days(7)));
}

}  // namespace
}  // namespace danemq::maintenance
