#include "support/load_run.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/mqtt/client.hpp"
#include "danemq/store/message_store.hpp"
#include "danemq/store/outbox.hpp"
#include "danemq/store/sqlite.hpp"
#include "support/dns_rig.hpp"
#include "support/mosquitto_rig.hpp"
#include "support/process.hpp"
#include "support/test_peers.hpp"

namespace danemq::load {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* receiver_name = "bob.danemq.test";

/// Peak resident set (VmHWM) of a live process, in KiB; 0 when unknown.
long peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

/// Rows of `table` in the receiver's database (0 while it does not exist yet).
std::size_t rows(const std::filesystem::path& db_path, const std::string& table) {
  if (!std::filesystem::exists(db_path)) return 0;
  auto db = store::database::open(db_path, store::open_options{.read_only = true});
  if (!db) return 0;
  auto count = db->prepare("SELECT count(*) FROM " + table);
  if (!count) return 0;
  auto row = count->step();
  if (!row || !*row) return 0;
  return static_cast<std::size_t>(count->column_int64(0));
}

enum class event { broker_restart, receiver_kill };

/// The faults, spread evenly over the run, the receiver kills among the restarts.
std::vector<event> schedule(const load_options& options) {
  const auto total = options.broker_restarts + options.receiver_kills;
  std::set<std::size_t> kills;
  for (std::size_t j = 0; j < options.receiver_kills; ++j) {
    kills.insert((j + 1) * (total + 1) / (options.receiver_kills + 1) - 1);
  }
  std::vector<event> out;
  for (std::size_t i = 0; i < total; ++i)
    out.push_back(kills.contains(i) ? event::receiver_kill : event::broker_restart);
  // Rounding may have put two kills on one slot: keep the count exact.
  const auto counted = static_cast<std::size_t>(std::count(out.begin(), out.end(), event::receiver_kill));
  for (std::size_t i = 0, missing = options.receiver_kills - counted; missing > 0 && i < total; ++i) {
    if (out[i] == event::broker_restart) out[i] = event::receiver_kill, --missing;
  }
  return out;
}

}  // namespace

load_report run_load(const load_options& options, std::ostream& out) {
  load_report report;
  const auto begun = steady::now();
  const auto progress_line = [&]() -> std::ostream& {
    return out << "[" << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - begun).count() / 1000.0
               << " s] ";
  };
  test::temp_dir root("danemq-load");
  const auto crypto_dir = root.path() / "identity";
  const auto data_dir = root.path() / "bob";
  const auto db_path = data_dir / "receiver.db";

  progress_line() << "broker persistence saved "
                  << (options.broker_autosave_seconds > 0
                          ? "every " + std::to_string(options.broker_autosave_seconds) + " s"
                          : std::string("after every change"))
                  << std::endl;
  progress_line() << "identities: " << options.senders << " senders and the receiver ("
                  << identity::to_string(options.key_type) << ")" << std::endl;
  const auto bob = test::make_identity(crypto_dir, receiver_name, options.key_type);
  std::vector<identity::local_identity> senders;
  test::dns_rig_options zones;
  const auto publish_record = [&](const identity::local_identity& who) {
    auto record = identity::make_tlsa_record(*who.certificate, 3, 0, 0).value();
    zones.signed_records.push_back(identity::zone_file_line(who.name, record, 3600));
  };
  publish_record(bob);
  for (std::size_t i = 0; i < options.senders; ++i) {
    senders.push_back(test::make_identity(crypto_dir, "sender" + std::to_string(i) + ".danemq.test", options.key_type));
    publish_record(senders.back());
  }
  test::dns_rig dns(zones);
  // Persistence as deployed: saved periodically. What the broker acknowledged
  // and had not saved when it was SIGKILLed is published again by the senders
  // (OUTBOX_SETTLE, docs/delivery.md).
  test::mosquitto_rig_options broker_options;
  if (options.broker_autosave_seconds > 0) {
    broker_options.autosave_on_every_change = false;
    broker_options.extra_config = "autosave_interval " + std::to_string(options.broker_autosave_seconds);
  }
  test::mosquitto_rig broker(broker_options);
  const auto settle = std::max<unsigned>(2, 2 * options.broker_autosave_seconds);

  // Every message sealed up front and put into its sender's outbox (what
  // `danemq-sender send --queue` does): the run measures delivery.
  dane::discovery_config config = dns.discovery_config();
  config.pkix_cd = false;
  auto peers = dane::discovery::create(config).value();
  std::vector<std::string> texts;
  std::map<std::string, crypto::bytes> digest_of;  // text -> the receiver's raw_messages.digest of its wire
  std::vector<std::filesystem::path> outboxes;
  {
    std::vector<store::outbox> open_outboxes;
    for (std::size_t i = 0; i < options.senders; ++i) {
      const auto dir = root.path() / "senders" / std::to_string(i);
      std::filesystem::create_directories(dir);
      outboxes.push_back(dir / "sender.db");
      auto opened = store::outbox::open(outboxes.back());
      if (!opened) throw std::runtime_error("outbox: " + opened.error().message());
      open_outboxes.push_back(std::move(*opened));
    }
    for (std::size_t i = 0; i < options.messages; ++i) {
      const auto from = i % options.senders;
      texts.push_back("load from sender" + std::to_string(from) + " #" + std::to_string(i));
      auto wire = jose::seal(jose::message_to_send{receiver_name, texts.back()}, senders[from], *peers);
      if (!wire) throw std::runtime_error("seal: " + wire.error().message());
      crypto::bytes payload(wire->begin(), wire->end());
      std::string material(receiver_name);
      material.push_back('\0');
      material.append(*wire);
      digest_of[texts.back()] =
          crypto::sha256(std::span(reinterpret_cast<const std::uint8_t*>(material.data()), material.size()));
      store::outbox_entry entry{0, receiver_name, receiver_name, std::move(payload), std::chrono::system_clock::now(),
                                0};
      if (auto queued = open_outboxes[from].enqueue(entry); !queued) {
        throw std::runtime_error("outbox: " + queued.error().message());
      }
    }
  }
  report.sent = texts.size();
  progress_line() << "sealed " << texts.size() << " messages into " << outboxes.size() << " outboxes" << std::endl;

  const std::map<std::string, std::string> receiver_env = {
      {"IDENTITY_NAME", receiver_name},
      {"CRYPTO_PATH", crypto_dir.string()},
      {"DATA_PATH", data_dir.string()},
      {"MQTT_HOST", broker.host()},
      {"MQTT_PORT", std::to_string(broker.port())},
      {"DNS_RESOLVER", dns.resolver()},
      {"DNSSEC_VALIDATION", "resolver"},
      {"DNS_TIMEOUT_MS", "1000"},
      {"PKIX_CD", "0"},
      {"IDENTITY_RETRY_DELAY", "100ms"},
      {"HEALTH_INTERVAL", "1s"},
      {"LOG_LEVEL", options.receiver_log_level},
      {"RECEIVER_WORKERS", std::to_string(options.receiver_workers)},
  };
  const auto program = (test::binary_dir() / "danemq-receiver").string();
  auto receiver = std::make_unique<test::child_process>(std::vector<std::string>{program}, receiver_env);
  {
    // The first start makes the persistent session: wait for its subscription.
    const auto until = steady::now() + 30s;
    while (receiver->errors().find("MQTT connected") == std::string::npos) {
      if (steady::now() > until || !receiver->running()) {
        throw std::runtime_error("the receiver did not start:\n" + receiver->errors());
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  progress_line() << "receiver subscribed" << std::endl;
  if (options.broker_autosave_seconds > 0) {
    // As in production, the broker has saved the receiver's persistent
    // session before anything happens: a broker killed before its first save
    // forgets the session, and drops what is published to the topic until
    // the receiver subscribes again (MQTT: no subscriber, no message).
    // (Its log is buffered: watch its persistence file instead.)
    const auto file = broker.dir() / "mosquitto.db";
    const auto subscribed_at = std::filesystem::file_time_type::clock::now();
    const auto saved = [&] {
      std::error_code ec;
      const auto written = std::filesystem::last_write_time(file, ec);
      return !ec && written > subscribed_at;
    };
    const auto until = steady::now() + std::chrono::seconds(2 * options.broker_autosave_seconds + 5);
    while (!saved() && steady::now() < until) std::this_thread::sleep_for(50ms);
    if (!saved()) throw std::runtime_error("the broker did not save its persistence file");
  }

  progress_line() << "broker saved; starting the senders" << std::endl;
  const auto started = steady::now();
  std::vector<std::unique_ptr<test::child_process>> sender_processes;
  for (std::size_t i = 0; i < options.senders; ++i) {
    sender_processes.push_back(std::make_unique<test::child_process>(
        std::vector<std::string>{(test::binary_dir() / "danemq-sender").string(), "run"},
        std::map<std::string, std::string>{{"IDENTITY_NAME", senders[i].name},
                                           {"CRYPTO_PATH", crypto_dir.string()},
                                           {"DATA_PATH", outboxes[i].parent_path().string()},
                                           {"MQTT_HOST", broker.host()},
                                           {"MQTT_PORT", std::to_string(broker.port())},
                                           {"OUTBOX_POLL_INTERVAL", "50ms"},
                                           {"OUTBOX_WINDOW", std::to_string(options.window)},
                                           {"OUTBOX_SETTLE", std::to_string(settle) + "s"},
                                           {"LOG_LEVEL", "info"}}));
  }
  const auto waiting_in_outboxes = [&] {
    std::size_t waiting = 0;
    for (const auto& path : outboxes) waiting += rows(path, "outbox");
    return waiting;
  };

  const auto events = schedule(options);
  std::size_t next_event = 0;
  long peak = 0;
  auto last_move = steady::now();
  std::size_t last_seen = 0;
  std::size_t acked = 0;
  std::size_t stored = 0;
  steady::time_point all_stored{};
  for (std::size_t tick = 0;; ++tick) {
    std::this_thread::sleep_for(50ms);
    stored = rows(db_path, "inbox") + rows(db_path, "quarantine");
    if (tick % 4 == 0 || stored >= texts.size()) acked = texts.size() - std::min(texts.size(), waiting_in_outboxes());
    if (acked + stored != last_seen) last_seen = acked + stored, last_move = steady::now();
    // Done when everything is stored and every fault has happened (a fault
    // still due at the end happens then: the counts stay as asked).
    if (stored >= texts.size() && all_stored == steady::time_point{}) all_stored = steady::now();
    if (stored >= texts.size() && acked >= texts.size() && next_event == events.size()) break;
    if (steady::now() - last_move > options.stall_limit) {
      report.failure = "no progress for " + std::to_string(options.stall_limit.count()) + " s (acknowledged " +
                       std::to_string(acked) + ", stored " + std::to_string(stored) + ")";
      break;
    }
    if (next_event < events.size()) {
      // Spread over the receiver's progress: the senders' acknowledgements race ahead.
      const auto progress_fraction = static_cast<double>(stored) / static_cast<double>(texts.size());
      const auto due = static_cast<double>(next_event + 1) / static_cast<double>(events.size() + 1);
      if (progress_fraction >= due || stored >= texts.size()) {
        if (events[next_event] == event::broker_restart) {
          broker.kill();
          std::this_thread::sleep_for(200ms);
          broker.start();
          ++report.broker_restarts;
          progress_line() << "broker SIGKILLed and restarted at " << acked << " acknowledged, " << stored << " stored"
                          << std::endl;
        } else {
          peak = std::max(peak, peak_rss_kib(receiver->pid()));
          receiver->signal(SIGKILL);
          (void)receiver->wait(5s);
          receiver = std::make_unique<test::child_process>(std::vector<std::string>{program}, receiver_env);
          ++report.receiver_kills;
          progress_line() << "receiver SIGKILLed and restarted at " << acked << " acknowledged, " << stored << " stored"
                          << std::endl;
        }
        ++next_event;
      }
    }
  }
  progress_line() << "all stored; stopping" << std::endl;
  // Anything more would be a duplicate: give it a moment to show up.
  std::this_thread::sleep_for(1s);
  const char* keep_logs = std::getenv("DANEMQ_LOAD_LOGS");        // a directory: every process's log is copied there
  for (auto& sender : sender_processes) sender->signal(SIGTERM);  // all at once: each may take a second
  for (std::size_t i = 0; i < sender_processes.size(); ++i) {
    auto& sender = sender_processes[i];
    if (sender->wait(10s).value_or(-1) != 0 && sender->stop() != 0) {
      report.failure += (report.failure.empty() ? "" : "; ") + std::string("a sender exit != 0");
    }
    const auto log = sender->errors();
    if (keep_logs != nullptr)
      std::ofstream(std::filesystem::path(keep_logs) / ("sender" + std::to_string(i) + ".log")) << log;
    for (auto at = log.find("publishing it again"); at != std::string::npos;
         at = log.find("publishing it again", at + 1)) {
      ++report.republished;
    }
  }
  report.acknowledged = texts.size() - std::min(texts.size(), waiting_in_outboxes());
  peak = std::max(peak, peak_rss_kib(receiver->pid()));
  if (receiver->stop() != 0) report.failure += (report.failure.empty() ? "" : "; ") + std::string("receiver exit != 0");
  if (keep_logs != nullptr) {
    std::ofstream(std::filesystem::path(keep_logs) / "receiver.log") << receiver->errors();
    std::ofstream(std::filesystem::path(keep_logs) / "broker.log") << broker.log();
  }
  report.receiver_peak_rss_kib = peak;

  progress_line() << "stopped" << std::endl;
  auto db = store::message_store::open(db_path, store::open_options{.read_only = true});
  if (!db) throw std::runtime_error("cannot read the receiver's database: " + db.error().message());
  const auto inbox = db->outcomes().list_inbox().value();
  report.quarantined = db->outcomes().list_quarantine().value().size();
  report.pending = db->raw().pending_count().value();
  std::map<std::string, std::size_t> seen;
  for (const auto& entry : inbox) ++seen[entry.message];
  const std::set<std::string> expected(texts.begin(), texts.end());
  for (const auto& [text, times] : seen) {
    if (!expected.contains(text)) {
      report.unexpected += times;
    } else {
      ++report.in_inbox;
      report.duplicates += times - 1;
    }
  }
  report.lost = report.sent - report.in_inbox - std::min(report.sent - report.in_inbox, report.quarantined);
  if (report.lost > 0) {
    // Where were they lost? A message the receiver stored has its digest in raw_messages.
    auto raw = store::database::open(db_path, store::open_options{.read_only = true});
    for (const auto& text : texts) {
      if (seen.contains(text)) continue;
      bool stored_raw = false;
      if (raw) {
        auto find = raw->prepare("SELECT state FROM raw_messages WHERE digest = ?1");
        if (find) {
          find->bind_blob(1, digest_of[text]);
          auto row = find->step();
          stored_raw = row && *row;
        }
      }
      ++(stored_raw ? report.lost_in_receiver : report.lost_before_receiver);
      if (report.lost_examples.size() < 10) report.lost_examples.push_back(text);
    }
  }
  if (all_stored != steady::time_point{}) {
    report.seconds = std::chrono::duration<double>(all_stored - started).count();
    report.messages_per_second = static_cast<double>(report.in_inbox) / report.seconds;
  }
  return report;
}

std::ostream& operator<<(std::ostream& out, const load_report& report) {
  out << "sent:               " << report.sent << "\n"
      << "acknowledged:       " << report.acknowledged << " (publishes repeated: " << report.republished << ")\n"
      << "in inbox:           " << report.in_inbox << "\n"
      << "duplicates:         " << report.duplicates << "\n"
      << "unexpected:         " << report.unexpected << "\n"
      << "quarantined:        " << report.quarantined << "\n"
      << "pending:            " << report.pending << "\n"
      << "lost:               " << report.lost << " (never stored by the receiver: " << report.lost_before_receiver
      << ", stored but not processed: " << report.lost_in_receiver << ")\n"
      << "broker restarts:    " << report.broker_restarts << "\n"
      << "receiver SIGKILLs:  " << report.receiver_kills << "\n"
      << "time:               " << report.seconds << " s\n"
      << "throughput:         " << report.messages_per_second << " messages/s\n"
      << "receiver peak RSS:  " << report.receiver_peak_rss_kib / 1024.0 << " MiB\n";
  for (const auto& text : report.lost_examples) out << "  lost: " << text << "\n";
  if (!report.failure.empty()) out << "stopped early:      " << report.failure << "\n";
  out << "result:             " << (report.passed() ? "PASS" : "FAIL") << "\n";
  return out;
}

}  // namespace danemq::load
