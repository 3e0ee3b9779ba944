#include "danemq/store/health_record.hpp"

#include <gtest/gtest.h>

#include "danemq/store/message_store.hpp"
#include "support/process.hpp"

namespace danemq::store {
namespace {

TEST(HealthRecord, KeepsTheLastWordAcrossAReopenAndForAReader) {
  test::temp_dir dir;
  const auto path = dir.path() / "receiver.db";
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(clock::now());
  {
    auto store = message_store::open(path);
    ASSERT_TRUE(store);
    EXPECT_FALSE(store->health().load()->has_value()) << "nothing said yet";
    ASSERT_TRUE(store->health().save(service_health{false, false, now, "checking the identity", ""}));
    ASSERT_TRUE(store->health().save(service_health{true, false, now, "identity not in DNS", "replay memory full"}));
  }
  for (const bool read_only : {false, true}) {
    auto store = message_store::open(path, open_options{.read_only = read_only});
    ASSERT_TRUE(store);
    auto health = store->health().load();
    ASSERT_TRUE(health && health->has_value());
    EXPECT_TRUE((*health)->connected);
    EXPECT_FALSE((*health)->identity_in_sync);
    EXPECT_EQ((*health)->updated_at, now);
    EXPECT_EQ((*health)->detail, "identity not in DNS");
    EXPECT_EQ((*health)->processing_halted, "replay memory full");
  }
}

TEST(HealthRecord, IsEmptyInADatabaseTheDaemonNeverWrote) {
  test::temp_dir dir;
  { ASSERT_TRUE(database::open(dir.path() / "empty.db")); }
  auto reader = message_store::open(dir.path() / "empty.db", open_options{.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  auto health = reader->health().load();
  ASSERT_TRUE(health);
  EXPECT_FALSE(health->has_value());
}

}  // namespace
}  // namespace danemq::store
