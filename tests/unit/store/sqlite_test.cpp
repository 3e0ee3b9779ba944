#include "danemq/store/sqlite.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <optional>

#include "support/process.hpp"

namespace danemq::store {
namespace {

TEST(SqliteDatabase, CreatesFileInWalMode) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db) << db.error().message();
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode);
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(mode->column_text(0), "wal");
}

TEST(SqliteDatabase, ReportsAFileThatIsNotADatabaseAsCorrupt) {
  test::temp_dir dir;
  const auto path = dir.path() / "garbage.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto db = database::open(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, make_error_code(errc::corrupt)) << db.error().message();
}

TEST(SqliteDatabase, ReportsAMissingDirectoryAsOpenFailed) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "no" / "such" / "dir" / "x.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, make_error_code(errc::open_failed)) << db.error().message();
}

/// The user nobody: who a root test process becomes to meet file permissions.
constexpr uid_t nobody = 65534;

/// Runs `check` in a forked child as the user nobody (root ignores file
/// permissions, so a root test process cannot see them itself); its answer,
/// or nullopt when the child could not become nobody or died.
std::optional<bool> as_nobody(const std::function<bool()>& check) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(nobody) != 0 || ::setuid(nobody) != 0) ::_exit(2);
    ::_exit(check() ? 0 : 1);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
    return std::nullopt;
  }
  return WEXITSTATUS(status) == 0;
}

TEST(SqliteDatabase, ReportsAReadOnlyFileWhenWriting) {
  test::temp_dir dir;
  const auto path = dir.path() / "ro.db";
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)"));
  }
  ::chmod(path.c_str(), 0400);
  const auto reported_read_only = [&path] {
    auto db = database::open(path);
    return !db && db.error().code == make_error_code(errc::read_only);
  };
  if (geteuid() != 0) {
    auto db = database::open(path);
    ASSERT_FALSE(db);
    EXPECT_EQ(db.error().code, make_error_code(errc::read_only)) << db.error().message();
    return;
  }
  // As root: the directory and the file become nobody's, who may read the
  // file but not write it, exactly as an unprivileged owner of a 0400 file.
  ASSERT_EQ(::chown(dir.path().c_str(), nobody, nobody), 0);
  ASSERT_EQ(::chown(path.c_str(), nobody, nobody), 0);
  const auto answer = as_nobody(reported_read_only);
  ASSERT_TRUE(answer.has_value()) << "the check did not run as nobody (is " << dir.path() << " reachable for nobody?)";
  EXPECT_TRUE(*answer) << "opening a 0400 database did not report errc::read_only";
}

TEST(SqliteTransaction, RollsBackUnlessCommitted) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)"));
  {
    auto tx = transaction::begin(*db, durability::full);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
  }
  {
    auto tx = transaction::begin(*db, durability::normal);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)"));
    ASSERT_TRUE(tx->commit());
  }
  auto count = db->prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(count);
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->column_text(0), "2");
}

TEST(SqliteSavepoint, UndoesItsPartAloneAndKeepsTheRestOfTheTransaction) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)"));
  auto tx = transaction::begin(*db, durability::full);
  ASSERT_TRUE(tx);
  for (int x = 1; x <= 4; ++x) {
    auto part = savepoint::begin(*db, "part");
    ASSERT_TRUE(part);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (" + std::to_string(x) + ")"));
    if (x == 2) {
      ASSERT_TRUE(part->roll_back());
    } else if (x != 3) {
      ASSERT_TRUE(part->release());
    }  // 3: undone by the destructor
  }
  ASSERT_TRUE(tx->commit());
  auto all = db->prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(all);
  ASSERT_TRUE(*all->step());
  EXPECT_EQ(all->column_text(0), "1,4");
}

TEST(SqliteDatabase, TellsWhetherATableExists) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  EXPECT_FALSE(*db->has_table("t"));
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER); CREATE INDEX t_x ON t(x)"));
  EXPECT_TRUE(*db->has_table("t"));
  EXPECT_FALSE(*db->has_table("t_x")) << "an index is not a table";
}

TEST(SqliteStatement, KeepsAnEmptyBlobDistinctFromNull) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (b BLOB)"));
  auto insert = db->prepare("INSERT INTO t VALUES (?1)");
  ASSERT_TRUE(insert);
  ASSERT_TRUE(insert->bind_blob(1, {}).run());
  auto read = db->prepare("SELECT b IS NULL, length(b) FROM t");
  ASSERT_TRUE(read);
  ASSERT_TRUE(*read->step());
  EXPECT_EQ(read->column_int64(0), 0);
  EXPECT_EQ(read->column_int64(1), 0);
}

TEST(SqliteStatement, ReportsAConstraintViolationAsConflict) {
  test::temp_dir dir;
  auto db = database::open(dir.path() / "x.db");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER PRIMARY KEY)"));
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
  auto insert = db->prepare("INSERT INTO t VALUES (1)");
  ASSERT_TRUE(insert);
  auto done = insert->run();
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, make_error_code(errc::conflict));
}

TEST(SqliteTime, RoundTripsMilliseconds) {
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  EXPECT_EQ(from_millis(to_millis(now)), now);
}

}  // namespace
}  // namespace danemq::store

namespace danemq::store {
namespace {

mode_t mode_of(const std::filesystem::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

TEST(SqliteDatabase, CreatesTheDatabaseAndItsWalAndShmReadableByTheOwnerOnly) {
  test::temp_dir dir;
  const auto path = dir.path() / "receiver.db";
  const mode_t old_umask = ::umask(022);
  {
    auto db = database::open(path);
    ASSERT_TRUE(db) << db.error().message();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)"));
    EXPECT_EQ(mode_of(path), 0600u);
    ASSERT_TRUE(std::filesystem::exists(path.string() + "-wal"));
    EXPECT_EQ(mode_of(path.string() + "-wal"), 0600u);
    EXPECT_EQ(mode_of(path.string() + "-shm"), 0600u);
  }
  ::umask(old_umask);
}

TEST(SqliteDatabase, TightensAnExistingDatabaseThatOthersCanRead) {
  test::temp_dir dir;
  const auto path = dir.path() / "sender.db";
  { ASSERT_TRUE(database::open(path)); }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto db = database::open(path);
  ASSERT_TRUE(db) << db.error().message();
  EXPECT_EQ(mode_of(path), 0600u);
  auto reader = database::open(path, {.read_only = true});
  ASSERT_TRUE(reader);
}

TEST(PrivateDirectory, CreatesMissingDirectories0700AndSaysNothing) {
  test::temp_dir dir;
  const auto path = dir.path() / "a" / "data";
  auto prepared = prepare_private_directory(path);
  ASSERT_TRUE(prepared) << prepared.error().detail;
  EXPECT_EQ(*prepared, "");
  EXPECT_EQ(mode_of(path), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "a"), 0700u);
  auto again = prepare_private_directory(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, "");
}

TEST(PrivateDirectory, TightensAnOwnDirectoryOthersCanEnterAndSaysSo) {
  test::temp_dir dir;
  const auto path = dir.path() / "data";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
  auto prepared = prepare_private_directory(path);
  ASSERT_TRUE(prepared) << prepared.error().detail;
  EXPECT_NE(prepared->find("(0755): tightened to 0700"), std::string::npos) << *prepared;
  EXPECT_EQ(mode_of(path), 0700u);
}

TEST(PrivateDirectory, RefusesAFile) {
  test::temp_dir dir;
  const auto path = dir.path() / "file";
  std::ofstream(path) << "x";
  auto prepared = prepare_private_directory(path);
  ASSERT_FALSE(prepared);
  EXPECT_NE(prepared.error().detail.find("is not a directory"), std::string::npos);
}

}  // namespace
}  // namespace danemq::store
