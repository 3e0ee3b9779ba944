// End to end: the acceptance horizon and the replay memory behind it, with
// danemq-receiver processes, a real Mosquitto and real DNSSEC-signed DNS
// (validated by the rig's resolver, so a receiver's shifted clock does not
// touch RRSIG dates). A receiver back after days offline, on a clock really
// moved forward (libfaketime); one sender over its share of the replay
// memory; a replay memory full of entries that still matter.

#include <unistd.h>

#include <cstdlib>

#include "danemq/jose/errors.hpp"
#include "support/e2e_support.hpp"
#include "support/skip.hpp"

namespace danemq::e2e {
namespace {

/// Fills `who`'s replay memory (created if need be) with `count` live pairs of `sender`.
void remember_pairs(const world& w, const std::string& who, const std::string& sender, std::size_t count) {
  std::filesystem::create_directories(w.data_path(who));
  auto db = store::message_store::open(w.data_path(who) / "receiver.db", {},
                                       store::message_store_limits{count, count, std::chrono::seconds(60)});
  ASSERT_TRUE(db) << db.error().message();
  const auto now = std::chrono::system_clock::now();
  std::vector<store::replay_entry> entries;
  for (std::size_t i = 0; i < count; ++i) {
    entries.push_back(store::replay_entry{sender, "earlier-" + std::to_string(i), now + std::chrono::days(7)});
  }
  auto remembered = db->replay().remember(entries, now);
  ASSERT_TRUE(remembered) << remembered.error().message();
}

std::vector<std::string> sealed(world& w, const std::string& from, const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  for (const auto& text : texts) out.push_back(w.seal(from, "bob", text));
  return out;
}

std::vector<std::string> numbered(const std::string& label, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(label + " #" + std::to_string(i));
  return out;
}

/// Debian's libfaketime (multi-threaded variant), wherever the architecture puts it.
std::optional<std::filesystem::path> libfaketime() {
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator("/usr/lib", ec)) {
    const auto library = dir.path() / "faketime" / "libfaketimeMT.so.1";
    if (std::filesystem::exists(library, ec)) return library;
  }
  return std::nullopt;
}

/// True when this test binary, and so the receiver built with it, carries a
/// sanitizer runtime.
constexpr bool sanitized() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

/// The receiver to run under libfaketime. libfaketime 0.9.10 (Debian 12)
/// deadlocks before main in a process whose sanitizer runtime reads the
/// clock while the preload initialises ("Unexpected recursive calls to
/// clock_gettime()"), so a sanitized build runs the same sources' receiver
/// from an unsanitized build: DANEMQ_PLAIN_BIN_DIR (scripts/test.sh points it
/// at its optimised build).
std::optional<std::filesystem::path> receiver_for_faketime() {
  if (!sanitized()) return test::binary_dir() / "danemq-receiver";
  const char* plain = std::getenv("DANEMQ_PLAIN_BIN_DIR");
  if (plain == nullptr || *plain == '\0') return std::nullopt;
  const auto receiver = std::filesystem::path(plain) / "danemq-receiver";
  if (access(receiver.c_str(), X_OK) != 0) return std::nullopt;
  return receiver;
}

TEST(EndToEndHorizon, ReceiverBackTwoDaysLaterOnAMovedClockAcceptsEverythingThatWaited) {
  const auto faketime = libfaketime();
  if (!faketime) DANEMQ_SKIP_UNLESS_CI("libfaketime (Debian's faketime) is not installed");
  const auto receiver = receiver_for_faketime();
  if (!receiver) {
    DANEMQ_SKIP_UNLESS_CI(
        "a sanitized build needs an unsanitized receiver under libfaketime: set DANEMQ_PLAIN_BIN_DIR");
  }
  world w;
  {
    auto bob = w.start_receiver("bob");  // makes the persistent session
    ASSERT_EQ(bob->stop(), 0);
  }
  const auto sent = numbered("two days on the broker", 20);
  w.publish("bob", sealed(w, "alice", sent));
  // The receiver's clock, not the broker's or the resolver's: two days on.
  // Only the wall clock moves (timers run on the monotonic one). Preloaded
  // into the receiver itself (the faketime wrapper would stand between the
  // test and the receiver's exit status).
  const auto env =
      w.env("bob", {{"LD_PRELOAD", faketime->string()}, {"FAKETIME", "+2d"}, {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}});
  auto bob = std::make_unique<test::child_process>(std::vector<std::string>{receiver->string()}, env);
  w.wait_subscribed(*bob);
  ASSERT_TRUE(w.wait_for_stored("bob", 20)) << bob->errors();
  std::this_thread::sleep_for(300ms);  // anything more would be a duplicate
  const auto inbox = w.inbox("bob");
  EXPECT_EQ(texts_of(inbox), sent) << "all 20, once, in order";
  EXPECT_TRUE(w.quarantine("bob").empty()) << bob->errors();
  ASSERT_FALSE(inbox.empty());
  EXPECT_GT(inbox.front().received_at, std::chrono::system_clock::now() + std::chrono::hours(47))
      << "the receiver's clock was really moved";
  EXPECT_EQ(bob->stop(), 0);
}

TEST(EndToEndHorizon, OneSenderOverItsShareIsQuarantinedWhileAnotherStillGetsThrough) {
  world w;
  remember_pairs(w, "bob", "alice.danemq.test", 100);  // alice's whole share
  auto bob = w.start_receiver("bob", {{"REPLAY_MEMORY_PER_SENDER", "100"}});
  const auto from_alice = numbered("over the share", 3);
  const auto from_carol = numbered("within the share", 3);
  w.publish("bob", sealed(w, "alice", from_alice));
  w.publish("bob", sealed(w, "carol", from_carol));
  ASSERT_TRUE(w.wait_for_stored("bob", 6)) << bob->errors();
  EXPECT_EQ(texts_of(w.inbox("bob")), from_carol);
  const auto quarantined = w.quarantine("bob");
  ASSERT_EQ(quarantined.size(), 3u);
  for (const auto& entry : quarantined) {
    EXPECT_EQ(entry.reason.category, "jose");
    EXPECT_EQ(entry.reason.value, static_cast<int>(jose::errc::sender_over_quota));
    EXPECT_NE(entry.reason.text.find("alice.danemq.test"), std::string::npos) << entry.reason.text;
  }
  auto listed = w.receiver_command("bob", {"quarantine"});
  EXPECT_NE(listed.out.find("jose:21 "), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("sender over quota"), std::string::npos) << listed.out;
  EXPECT_EQ(bob->stop(), 0);
}

TEST(EndToEndHorizon, AFullReplayMemoryFailsClosedLosesNothingAndSaysWhy) {
  world w;
  remember_pairs(w, "bob", "old.danemq.test", 1000);  // live pairs: none may be forgotten
  const std::map<std::string, std::string> tiny = {{"REPLAY_MEMORY_SIZE", "1000"},
                                                   {"REPLAY_MEMORY_PER_SENDER", "1000"}};
  const auto sent = numbered("no room", 3);
  {
    auto bob = w.start_receiver("bob", tiny);
    w.publish("bob", sealed(w, "carol", sent));
    ASSERT_TRUE(bob->wait_for_output("could not record the outcome", 20s, true)) << bob->errors();
    std::string health;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int code = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto asked = w.receiver_command("bob", {"health"});
      code = asked.exit_code;
      health = asked.out + asked.err;
      if (health.find("processing halted") != std::string::npos) break;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(code, 1) << health;
    EXPECT_NE(health.find("processing halted"), std::string::npos) << health;
    EXPECT_NE(health.find("REPLAY_MEMORY_SIZE"), std::string::npos) << health;
    EXPECT_TRUE(w.inbox("bob").empty()) << "nothing accepted without its replay entry";
    EXPECT_TRUE(w.quarantine("bob").empty()) << "nothing refused for want of room";
    EXPECT_EQ(w.pending("bob"), 3u) << "kept, stored and unprocessed";
    EXPECT_TRUE(said_lines(bob->output()).empty());
    EXPECT_EQ(bob->stop(), 0);
  }
  // With room, the same messages get through: nothing was lost.
  auto bob = w.start_receiver("bob", {{"REPLAY_MEMORY_SIZE", "2000"}, {"REPLAY_MEMORY_PER_SENDER", "1000"}});
  ASSERT_TRUE(w.wait_for_stored("bob", 3)) << bob->errors();
  EXPECT_EQ(texts_of(w.inbox("bob")), sent);
  EXPECT_EQ(bob->stop(), 0);
}

}  // namespace
}  // namespace danemq::e2e
