#include "danemq/store/migrations.hpp"

#include <gtest/gtest.h>

#include <array>

#include "support/process.hpp"

namespace danemq::store {
namespace {

constexpr std::array steps = {
    migration{1, "CREATE TABLE IF NOT EXISTS t (x INTEGER); INSERT INTO t VALUES (1);"},
    migration{2, "ALTER TABLE t ADD COLUMN y INTEGER NOT NULL DEFAULT 7;"},
    migration{3, "INSERT INTO t (x) SELECT x + 1 FROM t;"},
};

std::string rows(database& db) {
  auto all = db.prepare("SELECT group_concat(x || '/' || y, ' ') FROM (SELECT x, y FROM t ORDER BY x)");
  if (!all) return all.error().message();
  if (auto row = all->step(); !row || !*row) return "no row";
  return all->column_text(0);
}

TEST(SchemaMigrations, CreatesANewDatabaseAtTheLatestVersion) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  auto version = migrate(*db, steps);
  ASSERT_TRUE(version) << version.error().message();
  EXPECT_EQ(*version, 3);
  EXPECT_EQ(*schema_version(*db), 3);
  EXPECT_EQ(rows(*db), "1/7 2/7");
}

TEST(SchemaMigrations, RunsOnlyTheStepsADatabaseLacksInOrder) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db, std::span(steps).first(1)));
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES (5)"));
  auto version = migrate(*db, steps);
  ASSERT_TRUE(version) << version.error().message();
  EXPECT_EQ(*version, 3);
  EXPECT_EQ(rows(*db), "1/7 2/7 5/7 6/7");
  EXPECT_EQ(*migrate(*db, steps), 3) << "nothing left to do";
  EXPECT_EQ(rows(*db), "1/7 2/7 5/7 6/7");
}

TEST(SchemaMigrations, LeavesTheOldVersionWhenAStepFails) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db, std::span(steps).first(1)));
  const std::array broken = {steps[0], steps[1], migration{3, "INSERT INTO no_such_table VALUES (1);"}};
  auto version = migrate(*db, broken);
  ASSERT_FALSE(version);
  EXPECT_NE(version.error().detail.find("upgrading to schema version 3"), std::string::npos) << version.error().detail;
  EXPECT_EQ(*schema_version(*db), 1);
  auto columns = db->prepare("SELECT count(*) FROM pragma_table_info('t')");
  ASSERT_TRUE(columns && *columns->step());
  EXPECT_EQ(columns->column_int64(0), 1) << "step 2 was undone with step 3";
}

TEST(SchemaMigrations, RefusesADatabaseOfANewerProgramInOneLine) {
  test::temp_dir dir;
  const auto path = dir.path() / "x.db";
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db, steps));
  }
  for (const bool read_only : {false, true}) {
    auto db = database::open(path, open_options{.read_only = read_only});
    ASSERT_TRUE(db);
    auto version = migrate(*db, std::span(steps).first(2));
    ASSERT_FALSE(version);
    EXPECT_EQ(version.error().code, make_error_code(errc::schema_mismatch));
    const auto line = version.error().message();
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_NE(line.find(path.string()), std::string::npos) << line;
    EXPECT_NE(line.find("version 3"), std::string::npos) << line;
    EXPECT_NE(line.find("up to version 2"), std::string::npos) << line;
  }
  auto db = database::open(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(*schema_version(*db), 3) << "left as it was";
}

TEST(SchemaMigrations, ChecksButDoesNotChangeADatabaseOpenedReadOnly) {
  test::temp_dir dir;
  const auto path = dir.path() / "x.db";
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db, std::span(steps).first(1)));
  }
  auto reader = database::open(path, open_options{.read_only = true});
  ASSERT_TRUE(reader);
  EXPECT_EQ(*migrate(*reader, steps), 1);
  EXPECT_EQ(*schema_version(*reader), 1);
}

}  // namespace
}  // namespace danemq::store
