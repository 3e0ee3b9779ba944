#include "danemq/store/shared_database.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/process.hpp"

namespace danemq::store {
namespace {

TEST(SharedDatabase, SerialisesTheUsersOfOneConnection) {
  test::temp_dir dir;
  auto opened = database::open(dir.path() / "x.db");
  ASSERT_TRUE(opened);
  shared_database shared(std::move(*opened));
  EXPECT_EQ(shared.path(), dir.path() / "x.db");
  ASSERT_TRUE(shared.lock()->exec("CREATE TABLE t (x INTEGER)"));
  // Each thread runs a transaction of two statements; without the lock a
  // second BEGIN on the same connection would fail.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&shared, t] {
      for (int i = 0; i < 25; ++i) {
        auto db = shared.lock();
        auto tx = transaction::begin(*db, durability::normal);
        ASSERT_TRUE(tx);
        ASSERT_TRUE(db->exec("INSERT INTO t VALUES (" + std::to_string(t) + ")"));
        ASSERT_TRUE(db->exec("INSERT INTO t VALUES (" + std::to_string(t) + ")"));
        ASSERT_TRUE(tx->commit());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto db = shared.lock();
  auto count = db->prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count && *count->step());
  EXPECT_EQ(count->column_int64(0), 200);
}

}  // namespace
}  // namespace danemq::store
