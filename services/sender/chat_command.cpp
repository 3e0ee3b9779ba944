// `danemq-sender chat PEER`: a conversation in plain line mode, for a TTY
// without a full-screen UI (docker-compose run, balena ssh) and for a pipe.
// Incoming messages are the peer's rows in this device's receiver database
// (DATA_PATH/receiver.db, written by the running danemq-receiver), followed
// like `inbox --follow`; each line read is sent through `send`, and its
// delivery mark comes from the sent log, where the receiver records the
// peer's receipt. One thread: poll() waits for the terminal, SIGINT/SIGTERM
// and the next look at the databases.

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "chat_view.hpp"
#include "danemq/config/connections.hpp"
#include "danemq/core/display_text.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/log/log.hpp"
#include "danemq/runtime/stop_signals.hpp"
#include "danemq/store/inbox_follower.hpp"
#include "sender_app.hpp"

namespace danemq::sender {
namespace {

/// How often chat looks for the peer's messages and for receipts.
constexpr std::chrono::milliseconds chat_poll_interval{200};

/// The longest text (in bytes of UTF-8, i.e. ASCII characters) whose sealed
/// message to `peer` fits in MAX_MESSAGE_SIZE, found by sealing: the size
/// grows with the text alone, so a binary search over the length gives the
/// real limit rather than an estimate. Nothing when there is no limit or the
/// peer cannot be sealed for (send then says why). The empty text is known
/// to fit (the caller sealed it).
std::optional<std::size_t> longest_text(const identity::local_identity& me, dane::identity_source& peers,
                                        const std::string& peer, const jose::seal_options& sealing) {
  if (sealing.max_message_size == 0) return std::nullopt;
  const auto fits = [&](std::size_t length) -> std::optional<bool> {
    auto sealed = jose::seal_note(jose::message_to_send{peer, std::string(length, 'x')}, me, peers, sealing);
    if (sealed) return true;
    if (sealed.error().code == make_error_code(jose::errc::too_large)) return false;
    return std::nullopt;
  };
  std::size_t good = 0;
  std::size_t bad = sealing.max_message_size;  // the text alone would fill it
  while (bad - good > 1) {
    const auto middle = good + (bad - good) / 2;
    auto fitted = fits(middle);
    if (!fitted) return std::nullopt;
    (*fitted ? good : bad) = middle;
  }
  return good;
}

}  // namespace

int sender_app::chat(const sender_settings& given, const std::string& peer_text) {
  auto peer = identity::canonical_dns_name(peer_text);
  if (!peer) return error(exit_usage, "peer '" + peer_text + "': " + peer.error().message());
  // First, before any thread starts (DNS, MQTT): they inherit the blocked
  // signals, so that Ctrl-C reaches this loop and never kills the process mid-send.
  runtime::stop_signals stops;
  auto settings = given;
  settings.wait = false;  // the delivery mark shows the receipt; a line never waits for it
  const auto& service = settings.service;
  // The terminal is the conversation: send's "acknowledged" log lines would
  // interleave with it. Warnings and errors still show.
  if (spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);

  // One source for the whole conversation: its cache spares a lookup per line.
  auto parts = sending_parts_for(service);
  if (!parts) return error(exit_usage, parts.error().detail);
  const auto* me = &parts->me;
  const auto& peers = parts->peers;
  const auto sealing = sealing_for(settings);
  // Said at once, not at the first line typed: a peer we cannot seal for
  // (not in DNS, not DNSSEC-secure, a lookup failing).
  auto probe = jose::seal_note(jose::message_to_send{*peer, ""}, *me, *peers, sealing);
  if (!probe && probe.error().code != make_error_code(jose::errc::too_large)) {
    error(exit_success, "peer not usable now: " + probe.error().message() + "; each line says so until it is");
  }
  const auto limit = probe ? longest_text(*me, *peers, *peer, sealing) : std::nullopt;

  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  const auto say = [&](const std::string& line) { out_ << line << '\n' << std::flush; };

  // The history: the peer's messages and ours, merged in time order.
  const auto receiver_db = service.data_path / "receiver.db";
  store::listing_filter from_peer;
  from_peer.from = *peer;
  store::inbox_follower incoming(receiver_db, from_peer);
  auto received = incoming.poll();
  if (!received) return error(exit_usage, "inbox " + receiver_db.string() + ": " + received.error().message());
  if (!incoming.found()) {
    error(exit_success, "no receiver database at " + receiver_db.string() +
                            " yet: the peer's messages show once this device's danemq-receiver runs");
  }
  // The sent log, read only: `send` makes it (with DATA_PATH's private
  // permissions) when this device first sends.
  std::optional<store::outbox> sent_log;
  const auto open_sent_log = [&] {
    std::error_code ec;
    if (sent_log || !std::filesystem::exists(outbox_path(settings), ec)) return;
    if (auto opened = store::outbox::open(outbox_path(settings), store::open_options{.read_only = true}); opened) {
      sent_log.emplace(std::move(*opened));
    }
  };
  open_sent_log();
  std::vector<store::sent_entry> sent;
  if (sent_log) {
    if (auto rows = sent_log->list_sent(store::sent_filter{.to = *peer, .limit = chat_history_size}); rows) {
      sent = std::move(*rows);
    }
  }
  for (const auto& line : chat_history(*received, sent, chat_history_size)) say(line);
  // Ours still waiting for a receipt: their delivery mark comes later.
  std::set<std::int64_t> awaiting;
  for (const auto& entry : sent) {
    if (entry.receipt_requested && !entry.delivered_at) awaiting.insert(entry.id);
  }
  if (terminal) {
    say("-- chat with " + *peer + ": type a line to send it; Ctrl-D or /quit leaves" +
        (limit ? " (at most " + std::to_string(*limit) + " characters a line)" : std::string()));
  }

  std::ostringstream quiet_out;
  sender_app line_sender(quiet_out, err_, in_, sender_dependencies{peers, false});
  int code = exit_success;
  const auto send_line = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return true;
    if (line == "/quit") return false;
    if (line.starts_with("//")) {
      line.erase(0, 1);  // a line that begins with / is sent as //...
    } else if (line.front() == '/') {
      error(exit_usage, "unknown chat command " + core::escape_for_display(line.substr(0, line.find(' '))) +
                            ", not sent: /quit leaves; begin a line with // to send one that starts with /");
      code = code == exit_success ? exit_usage : code;
      return true;
    }
    if (limit && line.size() > *limit) {
      const auto characters = character_count(line);
      error(exit_usage, "line of " + std::to_string(characters) + " characters" +
                            (characters != line.size() ? " (" + std::to_string(line.size()) + " bytes of UTF-8)" : "") +
                            " not sent: at most " + std::to_string(*limit) + " characters fit in MAX_MESSAGE_SIZE (" +
                            std::to_string(service.max_message_size) +
                            " bytes) for this peer (ASCII; fewer of other scripts, which take more bytes)");
      code = code == exit_success ? exit_usage : code;
      return true;
    }
    std::optional<std::int64_t> id;
    quiet_out.str({});
    const int sent_code = line_sender.send(settings, *peer, line, &id);
    if (sent_code != exit_success) {
      code = code == exit_success ? sent_code : code;
      return true;
    }
    open_sent_log();  // the first message from this DATA_PATH made it
    if (!id || !sent_log) return true;
    if (auto entry = sent_log->sent_by_id(*id); entry && *entry) {
      say(outgoing_chat_line(**entry));
      if ((*entry)->receipt_requested) awaiting.insert(*id);
    }
    return true;
  };

  std::string typed;
  std::string inbox_trouble;
  bool open_input = true;
  while (open_input && stops.received() == 0) {
    (void)stops.wait(chat_poll_interval, STDIN_FILENO);
    if (stops.received() != 0) break;
    if (stops.readable()) {
      char buffer[4096];
      const auto got = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (got <= 0) {
        // Ctrl-D, or the end of a pipe: a last line without its newline is still sent.
        open_input = false;
        if (!typed.empty()) (void)send_line(std::exchange(typed, {}));
      } else {
        typed.append(buffer, static_cast<std::size_t>(got));
        for (auto end = typed.find('\n'); open_input && end != std::string::npos; end = typed.find('\n')) {
          auto line = typed.substr(0, end);
          typed.erase(0, end + 1);
          open_input = send_line(std::move(line));
        }
      }
    }
    if (auto rows = incoming.poll(); rows) {
      for (const auto& entry : *rows) say(incoming_chat_line(entry));
      inbox_trouble.clear();
    } else if (rows.error().message() != inbox_trouble) {
      // Once per trouble, not every poll.
      inbox_trouble = rows.error().message();
      error(exit_usage, "inbox " + receiver_db.string() + ": " + inbox_trouble);
    }
    if (sent_log) {
      for (auto at = awaiting.begin(); at != awaiting.end();) {
        auto entry = sent_log->sent_by_id(*at);
        if (entry && *entry && (*entry)->delivered_at) {
          say(delivered_chat_line(**entry));
          at = awaiting.erase(at);
        } else {
          ++at;
        }
      }
    }
  }
  return code;
}

}  // namespace danemq::sender
