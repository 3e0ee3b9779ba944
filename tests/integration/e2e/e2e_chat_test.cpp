// Conversations as people hold them: `danemq-sender chat` for two devices
// (each a danemq-receiver and a `danemq-sender run` sharing the device's
// DATA_PATH) driven through tmux like a person at a plain terminal, chat
// through a pipe, and `danemq-receiver inbox --follow`, with a real Mosquitto
// and real DNSSEC-signed DNS.

#include <csignal>
#include <regex>

#include "support/e2e_support.hpp"
#include "support/skip.hpp"

namespace danemq::e2e {
namespace {

struct device {
  std::unique_ptr<test::child_process> receiver;
  std::unique_ptr<test::child_process> runner;  ///< delivers the device's receipts
};

device start_device(world& w, const std::string& who) {
  device d;
  d.receiver = w.start_receiver(who);
  d.runner = std::make_unique<test::child_process>(
      std::vector<std::string>{(test::binary_dir() / "danemq-sender").string(), "run"},
      w.env(who, {{"OUTBOX_POLL_INTERVAL", "100ms"}}));
  return d;
}

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// A tmux server of the test's own (its socket in a temporary directory):
/// each session is a terminal that one command runs in, typed into with
/// send-keys and read with capture-pane.
class terminals {
 public:
  terminals() = default;
  terminals(const terminals&) = delete;
  terminals& operator=(const terminals&) = delete;
  ~terminals() { (void)tmux({"kill-server"}); }

  /// Opens a terminal `name` (200 columns) running `argv` with `env`.
  void open(const std::string& name, const std::vector<std::string>& argv,
            const std::map<std::string, std::string>& env) {
    // The shell prints the exit status: tmux's own (pane_dead_status) is
    // missing when its server has not reaped the process yet, which was seen
    // to last. `trap : INT` keeps the shell alive through a Ctrl-C meant for
    // the command, which gets the default disposition back at its exec.
    std::string command = "trap : INT; env";
    for (const auto& [key, value] : env) command += " " + shell_quoted(key + "=" + value);
    for (const auto& arg : argv) command += " " + shell_quoted(arg);
    command += "; echo \"[exit status $?]\"; sleep 3600";
    auto started = tmux({"new-session", "-d", "-s", name, "-x", "200", "-y", "50", command});
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }
  /// Types `text` and Enter.
  void type_line(const std::string& name, const std::string& text) {
    EXPECT_EQ(tmux({"send-keys", "-t", name, "-l", text}).exit_code, 0);
    EXPECT_EQ(tmux({"send-keys", "-t", name, "Enter"}).exit_code, 0);
  }
  void press(const std::string& name, const std::string& key) {
    EXPECT_EQ(tmux({"send-keys", "-t", name, key}).exit_code, 0);
  }
  /// What the terminal shows, its scrollback included, wrapped lines joined.
  std::string screen(const std::string& name) {
    return tmux({"capture-pane", "-p", "-J", "-S", "-500", "-t", name}).out;
  }
  /// Waits until the screen shows `text`; false after `timeout`.
  bool wait_for(const std::string& name, const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      if (screen(name).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(25ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }
  /// How the command in `name` ended: "0" for exit status 0, "130" for a
  /// SIGINT that killed it, "" while it runs.
  std::string exit_status(const std::string& name) {
    const auto text = screen(name);
    const auto at = text.find("[exit status ");
    if (at == std::string::npos) return "";
    const auto from = at + std::string("[exit status ").size();
    return text.substr(from, text.find(']', from) - from);
  }
  bool ended(const std::string& name) { return !exit_status(name).empty(); }

 private:
  test::command_result tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-S", (dir_.path() / "tmux.sock").string(), "-f", "/dev/null"});
    return test::run_command(args, {}, {}, 10s);
  }
  test::temp_dir dir_{"danemq-tmux"};
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(25ms);
  }
  return done();
}

/// How many messages `who` sent have their receipt.
std::size_t delivered(world& w, const std::string& who) {
  const auto path = w.data_path(who) / "sender.db";
  if (!std::filesystem::exists(path)) return 0;
  auto db = store::outbox::open(path, store::open_options{.read_only = true});
  if (!db) return 0;
  auto rows = db->list_sent();
  if (!rows) return 0;
  return static_cast<std::size_t>(
      std::count_if(rows->begin(), rows->end(), [](const store::sent_entry& row) { return row.delivered_at; }));
}

std::vector<std::string> chat_argv(const std::string& peer) {
  return {(test::binary_dir() / "danemq-sender").string(), "chat", full_name(peer)};
}

TEST(EndToEndChat, TwoDevicesTalkBothWaysInTerminalsWithHistoryAndDeliveryMarks) {
  if (!test::have_program("tmux")) DANEMQ_SKIP_UNLESS_CI("tmux is not installed (deps/test.txt)");
  world w;
  auto alice = start_device(w, "alice");
  auto bob = start_device(w, "bob");
  // What was said before either opened the chat.
  ASSERT_EQ(w.sender("alice", {"send", "bob.danemq.test", "earlier, from alice"}).exit_code, 0);
  ASSERT_TRUE(w.wait_for_stored("bob", 1));
  ASSERT_EQ(w.sender("bob", {"send", "alice.danemq.test", "earlier, from bob\x1b[2J"}).exit_code, 0);
  ASSERT_TRUE(w.wait_for_stored("alice", 1));
  ASSERT_TRUE(wait_until([&] { return delivered(w, "alice") == 1; }, 20s)) << "alice's receipt";

  terminals tty;
  tty.open("alice", chat_argv("bob"), w.env("alice"));
  tty.open("bob", chat_argv("alice"), w.env("bob"));
  ASSERT_TRUE(tty.wait_for("alice", "-- chat with bob.danemq.test", 20s)) << tty.screen("alice");
  ASSERT_TRUE(tty.wait_for("bob", "-- chat with alice.danemq.test", 20s)) << tty.screen("bob");
  const auto history = tty.screen("alice");
  const auto mine = history.find(": earlier, from alice [delivered]");
  const auto theirs = history.find("bob.danemq.test: earlier, from bob\\x1b[2J");
  EXPECT_NE(mine, std::string::npos) << history;
  EXPECT_NE(theirs, std::string::npos) << "the peer's text escaped:\n" << history;
  EXPECT_LT(mine, theirs) << "in time order:\n" << history;

  // alice to bob: on bob's screen within 2 s of her pressing Enter.
  auto typed = std::chrono::steady_clock::now();
  tty.type_line("alice", "hello bob, from a terminal");
  ASSERT_TRUE(tty.wait_for("bob", "alice.danemq.test: hello bob, from a terminal", 10s)) << tty.screen("bob");
  const auto shown_after = std::chrono::steady_clock::now() - typed;
  std::cout << "alice's line on bob's screen "
            << std::chrono::duration_cast<std::chrono::milliseconds>(shown_after).count() << " ms after Enter\n";
  EXPECT_LE(shown_after, 2s);
  EXPECT_TRUE(tty.wait_for("alice", ": hello bob, from a terminal [published]", 5s)) << tty.screen("alice");
  const std::regex delivered_mark("me #[0-9]+: delivered");
  EXPECT_TRUE(wait_until([&] { return std::regex_search(tty.screen("alice"), delivered_mark); }, 20s))
      << "the receipt's mark:\n"
      << tty.screen("alice");

  // And back.
  typed = std::chrono::steady_clock::now();
  tty.type_line("bob", "hi alice \xe2\x80\xae reversed?");
  ASSERT_TRUE(tty.wait_for("alice", "bob.danemq.test: hi alice \\u{202e} reversed?", 10s)) << tty.screen("alice");
  EXPECT_LE(std::chrono::steady_clock::now() - typed, 2s);

  // /quit and Ctrl-D leave, with status 0.
  tty.type_line("bob", "/quit");
  tty.press("alice", "C-d");
  EXPECT_TRUE(wait_until([&] { return tty.ended("bob") && tty.ended("alice"); }, 10s))
      << tty.screen("alice") << tty.screen("bob");
  EXPECT_EQ(tty.exit_status("bob"), "0");
  EXPECT_EQ(tty.exit_status("alice"), "0");
  EXPECT_EQ(w.inbox("bob").size(), 2u);
  EXPECT_EQ(w.inbox("alice").size(), 2u);

  // Without the device's receiver chat says where the peer's messages would
  // come from; Ctrl-C leaves too.
  tty.open("carol", chat_argv("alice"), w.env("carol"));
  ASSERT_TRUE(tty.wait_for("carol", "-- chat with alice.danemq.test", 20s)) << tty.screen("carol");
  EXPECT_NE(tty.screen("carol").find("no receiver database at"), std::string::npos) << tty.screen("carol");
  tty.press("carol", "C-c");
  EXPECT_TRUE(wait_until([&] { return tty.ended("carol"); }, 10s)) << tty.screen("carol");
  EXPECT_EQ(tty.exit_status("carol"), "0");
}

TEST(EndToEndChat, APipeSendsEachLineAndLeavesAtItsEnd) {
  world w;
  auto alice = start_device(w, "alice");
  auto bob = start_device(w, "bob");
  const auto chat = [&](const std::string& input, const std::map<std::string, std::string>& extra = {}) {
    return test::run_command(chat_argv("bob"), w.env("alice", extra), input, 60s);
  };
  // The last line needs no newline; an empty line is not a message.
  auto piped = chat("one\n\ntwo");
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_NE(piped.out.find(": one [published]"), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find(": two [published]"), std::string::npos) << piped.out;
  EXPECT_EQ(piped.out.find("-- chat with"), std::string::npos) << "no banner when stdin is not a terminal";
  ASSERT_TRUE(w.wait_for_stored("bob", 2));
  EXPECT_EQ(texts_of(w.inbox("bob")), (std::vector<std::string>{"one", "two"}));

  // A peer that is not in DNS is said at the start, not at the first line.
  auto unknown = test::run_command(chat_argv("nobody"), w.env("alice"), "", 60s);
  EXPECT_EQ(unknown.exit_code, 0) << unknown.err;
  EXPECT_NE(unknown.err.find("peer not usable now: "), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("nobody.danemq.test"), std::string::npos) << unknown.err;

  // A typo of /quit never reaches the peer; // sends a line that begins with /.
  auto slashes = chat("/qiut\n//etc/hosts\n");
  EXPECT_EQ(slashes.exit_code, 1) << slashes.err;
  EXPECT_NE(slashes.err.find("unknown chat command /qiut, not sent"), std::string::npos) << slashes.err;
  ASSERT_TRUE(w.wait_for_stored("bob", 3)) << slashes.err;
  EXPECT_EQ(w.inbox("bob").back().message, "/etc/hosts");

  // A line that does not fit is refused with the real limit, which fits exactly.
  auto refused = chat(std::string(2000, 'x') + "\n", {{"MAX_MESSAGE_SIZE", "2K"}});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  std::smatch limit;
  ASSERT_TRUE(std::regex_search(refused.err, limit,
                                std::regex("line of 2000 characters not sent: at most ([0-9]+) "
                                           "characters fit in MAX_MESSAGE_SIZE \\(2048 bytes\\)")))
      << refused.err;
  const auto longest = std::stoul(limit[1]);
  auto exact =
      chat(std::string(longest, 'y') + "\n" + std::string(longest + 1, 'z') + "\n", {{"MAX_MESSAGE_SIZE", "2K"}});
  EXPECT_EQ(exact.exit_code, 1) << exact.err;
  EXPECT_NE(exact.err.find("line of " + std::to_string(longest + 1) + " characters not sent"), std::string::npos)
      << exact.err;
  ASSERT_TRUE(w.wait_for_stored("bob", 4)) << exact.err;
  EXPECT_EQ(w.inbox("bob").back().message, std::string(longest, 'y'));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(w.inbox("bob").size(), 4u);
}

TEST(EndToEndInbox, FollowPrintsNewMessagesOfOneSenderEscapedOneALineUntilSigterm) {
  world w;
  auto bob = start_device(w, "bob");
  ASSERT_EQ(w.sender("alice", {"send", "bob.danemq.test", "before following"}).exit_code, 0);
  ASSERT_TRUE(w.wait_for_stored("bob", 1));
  const auto follow = [&](std::vector<std::string> args) {
    args.insert(args.begin(), (test::binary_dir() / "danemq-receiver").string());
    return std::make_unique<test::child_process>(args, w.env("bob"));
  };
  auto text = follow({"inbox", "--follow", "--from", "alice.danemq.test"});
  auto json = follow({"inbox", "--json", "--follow"});
  ASSERT_TRUE(text->wait_for_output("alice.danemq.test says: before following\n", 10s)) << text->errors();
  ASSERT_TRUE(json->wait_for_output("\"message\":\"before following\"", 10s)) << json->output();

  ASSERT_EQ(w.sender("carol", {"send", "bob.danemq.test", "from carol"}).exit_code, 0);
  ASSERT_EQ(w.sender("alice", {"send", "bob.danemq.test", "two\nlines\x1b]0;title\x07"}).exit_code, 0);
  EXPECT_TRUE(text->wait_for_output("alice.danemq.test says: two\\nlines\\x1b]0;title\\x07\n", 10s)) << text->output();
  EXPECT_TRUE(json->wait_for_output("\"message\":\"from carol\"", 10s)) << json->output();
  EXPECT_TRUE(json->wait_for_output("\"message\":\"two\\nlines\\u001b]0;title\\u0007\"", 10s)) << json->output();
  EXPECT_EQ(text->output().find("carol"), std::string::npos) << "--from: " << text->output();
  EXPECT_EQ(said_lines(text->output()).size(), 2u) << text->output();
  std::size_t json_lines = 0;
  for (const char c : json->output()) json_lines += c == '\n' ? 1 : 0;
  EXPECT_EQ(json_lines, 3u) << json->output();

  EXPECT_EQ(text->stop(), 0) << "SIGTERM ends it cleanly";
  json->signal(SIGINT);
  EXPECT_EQ(json->wait(5s), std::optional<int>(0)) << "and SIGINT";
}

}  // namespace
}  // namespace danemq::e2e
