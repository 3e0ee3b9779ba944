// Fault injection, storage: the receiver's database on a small tmpfs that
// fills up, a database file that is corrupt, a database on a file system
// that is read-only at start. A message that could not be stored is never
// acknowledged, so the broker delivers it again; a database that cannot be
// used stops the receiver at start with one clear line.
//
// The sender's `--queue` on a full disk exits 3.
//
// The tests mount tmpfs file systems (root, as in CI); where mounting is not
// permitted they skip and say why (under CI=true, a failure).

#include <signal.h>

#include <random>

#include "danemq/store/sqlite.hpp"
#include "fault_support.hpp"
#include "support/skip.hpp"

namespace danemq::e2e {
namespace {

/// bob's DATA_PATH (where the world reads his database) placed on `fs`.
void put_data_on(world& w, const small_filesystem& fs) {
  std::filesystem::create_directories(w.data_path("bob").parent_path());
  std::filesystem::create_directories(fs.path() / "bob");
  std::filesystem::create_directory_symlink(fs.path() / "bob", w.data_path("bob"));
}

#define REQUIRE_MOUNT(fs) \
  if (!(fs).mounted()) DANEMQ_SKIP_UNLESS_CI("cannot mount a small file system here: " << (fs).why_not())

TEST(FaultStorage, DiskFullMessagesAreNotAcknowledgedAndArriveOnceThereIsRoomAgain) {
  small_filesystem fs("4m");
  REQUIRE_MOUNT(fs);
  world w(quick_world());
  put_data_on(w, fs);
  auto bob = w.start_receiver("bob");
  const auto [texts, wires] = sealed_batch(w, "alice", "bob", "onto a full disk", 40);

  const auto filler = fs.fill();
  w.publish("bob", wires);  // the broker has them: the receiver cannot store them
  ASSERT_TRUE(wait_for_log(*bob, "not acknowledged, the broker will deliver them again", 20s)) << bob->errors();
  EXPECT_NE(bob->errors().find("disk full"), std::string::npos) << bob->errors();
  const auto early = w.inbox("bob").size() + w.quarantine("bob").size() + w.pending("bob");
  EXPECT_LT(early, texts.size()) << "the disk should have refused some of them";

  std::filesystem::remove(filler);
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 60s)) << bob->errors();
  std::this_thread::sleep_for(300ms);
  expect_exactly_once(texts, texts_of(w.inbox("bob")));
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_EQ(bob->stop(), 0);
}

TEST(FaultStorage, DiskFullThenKilledTheBrokerStillHasEveryMessageItWasNotAcknowledged) {
  small_filesystem fs("4m");
  REQUIRE_MOUNT(fs);
  world w(quick_world());
  put_data_on(w, fs);
  auto bob = w.start_receiver("bob");
  const auto [texts, wires] = sealed_batch(w, "alice", "bob", "refused by a full disk, then a crash", 40);

  const auto filler = fs.fill();
  w.publish("bob", wires);
  ASSERT_TRUE(wait_for_log(*bob, "not acknowledged, the broker will deliver them again", 20s)) << bob->errors();
  // Nothing the receiver could not store lives only in its memory: kill it.
  bob->signal(SIGKILL);
  ASSERT_TRUE(bob->wait(5s).has_value());
  std::filesystem::remove(filler);

  auto again = w.start_receiver("bob");
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 60s)) << again->errors();
  std::this_thread::sleep_for(300ms);
  expect_exactly_once(texts, texts_of(w.inbox("bob")));
  EXPECT_TRUE(w.quarantine("bob").empty());
  EXPECT_EQ(w.pending("bob"), 0u);
  EXPECT_EQ(again->stop(), 0);
}

/// Runs the receiver daemon expecting it to refuse to start; returns its log.
std::string refused_start(const world& w) {
  test::child_process bob({(test::binary_dir() / "danemq-receiver").string()}, w.env("bob"));
  const auto code = bob.wait(15s);
  EXPECT_TRUE(code.has_value()) << "still running:\n" << bob.errors();
  EXPECT_EQ(code.value_or(-1), 1) << bob.errors();
  EXPECT_EQ(bob.errors().find("MQTT connected"), std::string::npos) << "connected (and could acknowledge) anyway";
  return bob.errors();
}

TEST(FaultStorage, DatabaseFileThatIsNotADatabaseStopsTheReceiverAtStartWithAClearError) {
  world w(quick_world());
  std::filesystem::create_directories(w.data_path("bob"));
  const auto db = w.data_path("bob") / "receiver.db";
  {
    std::ofstream garbage(db, std::ios::binary);
    std::mt19937 random(7);
    for (int i = 0; i < 16384; ++i) garbage.put(static_cast<char>(random() & 0xff));
  }
  const auto log = refused_start(w);
  EXPECT_NE(log.find("cannot open the database " + db.string()), std::string::npos) << log;
  EXPECT_NE(log.find("corrupt"), std::string::npos) << log;
  auto listed = w.receiver_command("bob", {"inbox"});
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_NE(listed.err.find("corrupt"), std::string::npos) << listed.err;
}

TEST(FaultStorage, DatabaseWithDamagedPagesStopsTheReceiverAtStartWithAClearError) {
  world w(quick_world());
  {
    auto bob = w.start_receiver("bob");
    const auto [texts, wires] = sealed_batch(w, "alice", "bob", "before the damage", 60);
    w.publish("bob", wires);
    ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 30s)) << bob->errors();
    ASSERT_EQ(bob->stop(), 0);
  }
  const auto db = w.data_path("bob") / "receiver.db";
  const auto size = std::filesystem::file_size(db);
  ASSERT_GT(size, 8u * 4096) << "too small a database to damage its middle";
  {
    // Pages 2.. onwards overwritten; the header (page 1) stays valid.
    std::fstream file(db, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(4096);
    std::mt19937 random(11);
    for (std::uintmax_t i = 4096; i < size; ++i) file.put(static_cast<char>(random() & 0xff));
  }
  const auto log = refused_start(w);
  EXPECT_NE(log.find("cannot open the database " + db.string()), std::string::npos) << log;
  EXPECT_NE(log.find("corrupt"), std::string::npos) << log;
}

TEST(FaultStorage, ReadOnlyDatabaseAtStartStopsTheReceiverWithAClearError) {
  small_filesystem fs("4m");
  REQUIRE_MOUNT(fs);
  world w(quick_world());
  put_data_on(w, fs);
  {
    auto bob = w.start_receiver("bob");  // makes the database
    ASSERT_EQ(bob->stop(), 0);
  }
  ASSERT_TRUE(fs.set_read_only(true)) << std::strerror(errno);
  const auto log = refused_start(w);
  EXPECT_NE(log.find("cannot open the database"), std::string::npos) << log;
  EXPECT_NE(log.find("read-only"), std::string::npos) << log;

  // Messages sent meanwhile wait at the broker (bob's persistent session) and
  // arrive once the database is writable again.
  const auto [texts, wires] = sealed_batch(w, "alice", "bob", "while the disk was read-only", 5);
  w.publish("bob", wires);
  ASSERT_TRUE(fs.set_read_only(false)) << std::strerror(errno);
  auto bob = w.start_receiver("bob");
  ASSERT_TRUE(w.wait_for_stored("bob", texts.size(), 30s)) << bob->errors();
  expect_exactly_once(texts, texts_of(w.inbox("bob")));
  EXPECT_EQ(bob->stop(), 0);
}

TEST(FaultStorage, SenderQueueOnAFullDiskExitsThree) {
  small_filesystem fs("4m");
  REQUIRE_MOUNT(fs);
  world w(quick_world());
  const std::map<std::string, std::string> on_fs{{"DATA_PATH", (fs.path() / "alice").string()}};
  w.broker().stop();  // --queue keeps what the broker cannot take
  const auto first = w.sender("alice", {"--timeout", "1s", "--queue", "send", "bob.danemq.test", "queued"}, on_fs);
  ASSERT_EQ(first.exit_code, 0) << first.err;

  // A second connection keeps the outbox's WAL and shared-memory files, as a
  // running `run` would: the next sender opens and reads the outbox, and only
  // its write needs room the disk no longer has.
  auto held = store::database::open(fs.path() / "alice" / "sender.db");
  ASSERT_TRUE(held) << held.error().message();
  {
    auto read = held->prepare("SELECT count(*) FROM sqlite_master");
    ASSERT_TRUE(read);
    ASSERT_TRUE(read->step());
  }
  const auto filler = fs.fill();
  const auto full =
      w.sender("alice", {"--timeout", "1s", "--queue", "send", "bob.danemq.test", "onto a full disk"}, on_fs);
  EXPECT_EQ(full.exit_code, 3) << full.err;
  EXPECT_NE(full.err.find("could not be queued"), std::string::npos) << full.err;

  std::filesystem::remove(filler);
  const auto again = w.sender("alice", {"--timeout", "1s", "--queue", "send", "bob.danemq.test", "room again"}, on_fs);
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

}  // namespace
}  // namespace danemq::e2e
