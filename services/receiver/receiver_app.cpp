#include "receiver_app.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "danemq/config/cli_binding.hpp"
#include "danemq/config/connections.hpp"
#include "danemq/config/version.hpp"
#include "danemq/core/display_text.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/log/log.hpp"
#include "danemq/runtime/setting_wait.hpp"
#include "danemq/runtime/stop_signals.hpp"
#include "danemq/store/inbox_follower.hpp"
#include "listing.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;

/// How often `inbox --follow` looks for new rows: a message shows within this
/// of being stored, for one indexed query per poll.
constexpr std::chrono::milliseconds follow_poll_interval{200};

bool is_missing_setting(const failure& why) {
  return why.code == make_error_code(config::errc::missing_setting);
}

std::filesystem::path database_path(const receiver_settings& settings) {
  return settings.service.data_path / "receiver.db";
}

}  // namespace

// ---- the command line ----

receiver_app::receiver_app(std::ostream& out, std::ostream& err, receiver_dependencies dependencies)
    : out_(out), err_(err), dependencies_(std::move(dependencies)) {}

int receiver_app::error(const std::string& message) {
  err_ << "danemq-receiver: " << message << '\n';
  return exit_failure;
}

int receiver_app::wait_for_setting(const std::string& missing) {
  (void)runtime::wait_for_missing_setting(err_, "danemq-receiver", missing);
  return exit_failure;
}

int receiver_app::run(int argc, char** argv) {
  try {
    CLI::App cli("Receives end-to-end encrypted, source-signed messages over MQTT; senders are verified by DANE.",
                 "danemq-receiver");
    cli.fallthrough();
    cli.require_subcommand(0, 1);
    cli.set_version_flag("--version", config::version_text("danemq-receiver"),
                         "Print the version and those of the libraries");
    cli.footer(
        "Exit codes: 0 success (health: healthy); 1 usage, configuration or start-up failure (health: unhealthy).");
    config::option_binding<receiver_settings> binding(cli, receiver_options());
    auto* run_command = cli.add_subcommand("run", "receive, store and print messages (the default)");
    std::string since;
    std::string from;
    // Signed, so that CLI11 refuses -1 instead of wrapping it; 0 (not given): all.
    long long limit = 0;
    const auto at_least_one = config::at_least_one();
    auto* inbox_command = cli.add_subcommand("inbox", "list accepted messages, oldest first");
    inbox_command->add_option("--since", since,
                              "received at or after: a duration back (15m, 2h, 3d) or a UTC date/time");
    inbox_command->add_option("--from", from, "only messages from this sender (DNS name)");
    inbox_command->add_option("--limit", limit, "the newest N only (listed oldest first)")
        ->check(at_least_one)
        ->type_name("COUNT");
    bool follow = false;
    inbox_command->add_flag("--follow,-f", follow,
                            "after the listing, print new messages as they arrive (like tail -f) until SIGINT/SIGTERM");
    auto* quarantine_command =
        cli.add_subcommand("quarantine", "list refused messages with their reason, oldest first");
    quarantine_command->require_subcommand(0, 1);
    quarantine_command->add_option("--since", since, "received at or after: a duration back or a UTC date/time");
    quarantine_command->add_option("--limit", limit, "the newest N only (listed oldest first)")
        ->check(at_least_one)
        ->type_name("COUNT");
    std::int64_t quarantine_id = 0;
    bool with_payload = false;
    std::vector<std::int64_t> purge_ids;
    std::string before;
    auto* show_command = quarantine_command->add_subcommand("show", "everything known of one refused message");
    show_command->add_option("id", quarantine_id, "the id `quarantine` lists after #")
        ->required()
        ->type_name("ID")
        ->check(CLI::PositiveNumber);
    show_command->add_flag("--payload", with_payload, "also the message's bytes, as base64");
    auto* release_command = quarantine_command->add_subcommand(
        "release",
        "process a refused message again, through every check (the running daemon takes it within "
        "HEALTH_INTERVAL)");
    release_command->add_option("id", quarantine_id, "the id `quarantine` lists after #")
        ->required()
        ->type_name("ID")
        ->check(CLI::PositiveNumber);
    auto* purge_command = quarantine_command->add_subcommand("purge", "delete refused messages");
    purge_command->add_option("id", purge_ids, "the ids `quarantine` lists after #")
        ->type_name("ID")
        ->check(CLI::PositiveNumber);
    purge_command->add_option("--before", before, "those received before: a duration back (30d) or a UTC date/time")
        ->type_name("DURATION|DATE");
    auto* stats_command =
        cli.add_subcommand("stats", "what became of the messages received (in a period): counts by state and reason");
    stats_command->add_option("--since", since, "received at or after: a duration back (24h, 7d) or a UTC date/time")
        ->type_name("DURATION|DATE");
    auto* health_command =
        cli.add_subcommand("health", "exit 0 when the daemon is connected and its identity in sync (HEALTHCHECK)");
    try {
      cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (auto unknown = config::unknown_subcommand(cli); unknown && e.get_exit_code() != 0) return error(*unknown);
      if (e.get_exit_code() == 0) return cli.exit(e, out_, err_) == 0 ? exit_success : exit_failure;
      return error(config::parse_failure_line(e));
    }
    // The quarantine subcommands are listings too: they need DATA_PATH only.
    const bool listing =
        inbox_command->parsed() || quarantine_command->parsed() || health_command->parsed() || stats_command->parsed();
    (void)run_command;
    receiver_settings settings;
    if (auto applied = binding.apply(settings, !listing); !applied) {
      if (!listing && is_missing_setting(applied.error())) return wait_for_setting(applied.error().detail);
      return error(applied.error().detail);
    }
    if (!listing) {
      if (auto consistent = config::check_consistency(settings.service); !consistent) {
        if (is_missing_setting(consistent.error())) return wait_for_setting(consistent.error().detail);
        return error(consistent.error().detail);
      }
    }
    if (dependencies_.configure_logging) {
      log::init("danemq-receiver", settings.service.log_format, settings.service.log_level);
    }

    store::listing_filter filter;
    filter.limit = static_cast<std::size_t>(limit);
    if (!from.empty()) {
      auto sender = identity::canonical_dns_name(from);
      if (!sender) return error("--from '" + from + "': " + sender.error().message());
      filter.from = *sender;
    }
    if (!since.empty()) {
      auto when = parse_since(since, clock::now());
      if (!when) return error(when.error().detail);
      filter.since = *when;
    }
    if (inbox_command->parsed()) return follow ? follow_inbox(settings, filter) : list_inbox(settings, filter);
    if (show_command->parsed()) return show_quarantined(settings, quarantine_id, with_payload || settings.json_output);
    if (release_command->parsed()) return release_quarantined(settings, quarantine_id);
    if (purge_command->parsed()) return purge_quarantined(settings, purge_ids, before);
    if (quarantine_command->parsed()) return list_quarantine(settings, filter);
    if (health_command->parsed()) return health(settings);
    if (stats_command->parsed()) return stats(settings, filter.since);

    if (auto dropped = config::apply_app_uid(settings.service.app_uid); !dropped) return error(dropped.error().detail);
    auto daemon = std::make_unique<receiver_daemon>(settings, out_, dependencies_);
    const int code = daemon->run();
    if (daemon->left_work_behind()) {
      // Threads blocked in a DNS lookup would hold up the exit; their
      // messages are stored and processed at the next start.
      out_.flush();
      std::cerr.flush();
      std::_Exit(code);
    }
    return code;
  } catch (const std::exception& e) {
    return error(std::string("unexpected failure: ") + e.what());
  }
}

namespace {

/// A listing with no database: DATA_PATH is wrong, or the daemon never ran.
std::string no_database(const receiver_settings& settings) {
  return "no database at " + database_path(settings).string() +
         " (DATA_PATH wrong, or the daemon has not run yet with this DATA_PATH)";
}

/// The daemon's database for `inbox`, `quarantine` and `health`, opened
/// read-only beside the running daemon: nothing when the daemon has not
/// created it yet. Failure: "cannot open <path>: <why>".
result<std::optional<store::message_store>> open_for_reading(const receiver_settings& settings) {
  const auto path = database_path(settings);
  if (!std::filesystem::exists(path)) return std::optional<store::message_store>{};
  auto opened = store::message_store::open(path, store::open_options{.read_only = true});
  if (!opened) return fail(opened.error().code, "cannot open " + path.string() + ": " + opened.error().message());
  return std::optional<store::message_store>{std::move(*opened)};
}

}  // namespace

int receiver_app::list_inbox(const receiver_settings& settings, const store::listing_filter& filter) {
  auto opened = open_for_reading(settings);
  if (!opened) return error(opened.error().detail);
  if (!*opened) return error(no_database(settings));
  auto rows = (*opened)->outcomes().list_inbox(filter);
  if (!rows) return error("cannot read the inbox: " + rows.error().message());
  for (const auto& entry : *rows) out_ << (settings.json_output ? inbox_json(entry) : inbox_line(entry)) << '\n';
  out_.flush();
  return exit_success;
}

int receiver_app::follow_inbox(const receiver_settings& settings, const store::listing_filter& filter) {
  runtime::stop_signals stops;
  store::inbox_follower follower(database_path(settings), filter);
  bool told_missing = false;
  bool listed = false;
  std::string trouble;
  while (stops.received() == 0) {
    auto rows = follower.poll();
    if (!rows) {
      // A database that cannot be read at all is an error, as for `inbox`;
      // once following, a passing trouble (the daemon migrating it, a busy
      // checkpoint) is said once and tried again.
      if (!listed) return error("cannot read the inbox: " + rows.error().message());
      if (rows.error().message() != trouble) {
        trouble = rows.error().message();
        error("cannot read the inbox (trying again): " + trouble);
      }
    } else {
      listed = true;
      trouble.clear();
      for (const auto& entry : *rows) out_ << (settings.json_output ? inbox_json(entry) : inbox_line(entry)) << '\n';
      out_.flush();
      if (!out_) return exit_failure;  // the reader went away (a closed pipe)
    }
    if (!follower.found() && !told_missing) {
      // The daemon creates it: waiting is what following means.
      err_ << "danemq-receiver: waiting for " << database_path(settings).string()
           << " (the daemon has not run yet with this DATA_PATH)\n";
      told_missing = true;
    }
    (void)stops.wait(follow_poll_interval);
  }
  return exit_success;
}

int receiver_app::list_quarantine(const receiver_settings& settings, const store::listing_filter& filter) {
  auto opened = open_for_reading(settings);
  if (!opened) return error(opened.error().detail);
  if (!*opened) return error(no_database(settings));
  auto rows = (*opened)->outcomes().list_quarantine(filter);
  if (!rows) return error("cannot read the quarantine: " + rows.error().message());
  for (const auto& entry : *rows) {
    out_ << (settings.json_output ? quarantine_json(entry) : quarantine_line(entry)) << '\n';
  }
  out_.flush();
  return exit_success;
}

namespace {

/// The database for the quarantine commands that change it, beside a running daemon.
result<store::message_store> open_for_writing(const receiver_settings& settings) {
  const auto path = database_path(settings);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fail(store::errc::not_found, no_database(settings));
  auto opened = store::message_store::open(path);
  if (!opened) return fail(opened.error().code, "cannot open " + path.string() + ": " + opened.error().message());
  return opened;
}

}  // namespace

int receiver_app::show_quarantined(const receiver_settings& settings, std::int64_t id, bool with_payload) {
  auto opened = open_for_reading(settings);
  if (!opened) return error(opened.error().detail);
  if (!*opened) return error(no_database(settings));
  auto found = (*opened)->quarantine().find(id);
  if (!found) return error("cannot read the quarantine: " + found.error().message());
  if (!*found) return error("no quarantine entry #" + std::to_string(id));
  out_ << (settings.json_output ? quarantine_json(**found) + "\n" : quarantine_details(**found, with_payload));
  out_.flush();
  return exit_success;
}

int receiver_app::release_quarantined(const receiver_settings& settings, std::int64_t id) {
  auto opened = open_for_writing(settings);
  if (!opened) return error(opened.error().detail);
  auto released = opened->quarantine().release(id, clock::now());
  if (!released) {
    if (released.error().code == make_error_code(store::errc::not_found)) {
      return error("no quarantine entry #" + std::to_string(id));
    }
    return error("cannot release #" + std::to_string(id) + ": " + released.error().message());
  }
  out_ << "released #" << id
       << ": it goes through every check again (the running daemon takes it within HEALTH_INTERVAL, or at its start)\n";
  return exit_success;
}

int receiver_app::purge_quarantined(const receiver_settings& settings, const std::vector<std::int64_t>& ids,
                                    const std::string& before) {
  if (ids.empty() == before.empty()) return error("quarantine purge: give either ids or --before, not both");
  auto opened = open_for_writing(settings);
  if (!opened) return error(opened.error().detail);
  if (!before.empty()) {
    auto when = parse_since(before, clock::now());
    if (!when) return error("--before '" + before + "' is neither a duration (30d) nor a UTC date/time");
    auto purged = opened->quarantine().purge_before(*when);
    if (!purged) return error("cannot purge: " + purged.error().message());
    out_ << "purged " << *purged << " refused messages received before " << iso_time(*when) << '\n';
    return exit_success;
  }
  auto missing = opened->quarantine().purge(ids);
  if (!missing) return error("cannot purge: " + missing.error().message());
  out_ << "purged " << ids.size() - missing->size() << " refused messages\n";
  for (const auto id : *missing) error("no quarantine entry #" + std::to_string(id));
  return missing->empty() ? exit_success : exit_failure;
}

int receiver_app::stats(const receiver_settings& settings, const std::optional<clock::time_point>& since) {
  auto opened = open_for_reading(settings);
  if (!opened) return error(opened.error().detail);
  if (!*opened) return error(no_database(settings));
  auto summary = (*opened)->summary(since);
  if (!summary) return error("cannot count: " + summary.error().message());
  if (settings.json_output) {
    nlohmann::json reasons = nlohmann::json::object();
    for (const auto& [reason, counted] : summary->reasons) {
      reasons[reason] = {{"count", counted.first}, {"example", counted.second}};
    }
    const nlohmann::json object = {
        {"since", since ? nlohmann::json(iso_time(*since)) : nlohmann::json(nullptr)},
        {"received", summary->received},
        {"copies", summary->copies},
        {"accepted", summary->accepted},
        {"quarantined", summary->quarantined},
        {"pending", summary->pending},
        {"quarantined_by_reason", reasons},
    };
    out_ << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return exit_success;
  }
  out_ << "messages received " << (since ? "since " + iso_time(*since) : std::string("since the database began"))
       << ": " << summary->received << " (and " << summary->copies << " copies kept once)\n"
       << "accepted: " << summary->accepted << "\n"
       << "quarantined: " << summary->quarantined << "\n";
  for (const auto& [reason, counted] : summary->reasons) {
    out_ << "  " << reason << " " << counted.first << " (e.g. " << core::escape_for_display(counted.second) << ")\n";
  }
  out_ << "not decided yet: " << summary->pending << "\n";
  return exit_success;
}

int receiver_app::health(const receiver_settings& settings) {
  // With --json: one object, {"healthy", "reason", and what the daemon recorded}.
  nlohmann::json object = {{"healthy", false}, {"reason", nullptr}};
  const auto answer = [&](bool healthy, const std::string& text) {
    if (settings.json_output) {
      object["healthy"] = healthy;
      if (!healthy) object["reason"] = text;
      out_ << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else {
      out_ << (healthy ? "healthy: " : "unhealthy: ") << text << '\n';
    }
    return healthy ? exit_success : exit_failure;
  };
  const auto unhealthy = [&](const std::string& why) { return answer(false, why); };
  auto opened = open_for_reading(settings);
  if (!opened) return unhealthy(opened.error().detail);
  if (!*opened) return unhealthy("no database at " + database_path(settings).string() + " (not started yet?)");
  auto recorded = (*opened)->health().load();
  if (!recorded) return unhealthy("cannot read health: " + recorded.error().message());
  if (!recorded->has_value()) return unhealthy("the daemon has not recorded its health yet");
  const auto& state = **recorded;
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - state.updated_at);
  object["connected"] = state.connected;
  object["identity_in_sync"] = state.identity_in_sync;
  object["updated_at"] = iso_time(state.updated_at);
  object["age_seconds"] = age.count();
  object["processing_halted"] =
      state.processing_halted.empty() ? nlohmann::json(nullptr) : nlohmann::json(state.processing_halted);
  const auto stale_after =
      std::chrono::duration_cast<std::chrono::seconds>(3 * settings.health_interval) + std::chrono::seconds(5);
  if (age > stale_after) {
    return unhealthy("last health record is " + std::to_string(age.count()) + " s old (daemon not running?)");
  }
  if (!state.identity_in_sync) return unhealthy(state.detail.empty() ? "identity not in sync" : state.detail);
  if (!state.connected) {
    return unhealthy(state.detail.empty() ? "not connected to the broker" : state.detail);
  }
  if (!state.processing_halted.empty()) return unhealthy("processing halted: " + state.processing_halted);
  return answer(true, "connected, identity in sync");
}

}  // namespace danemq::receiver
