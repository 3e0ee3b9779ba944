#include "receiver_app.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "danemq/config/cli_binding.hpp"
#include "danemq/config/connections.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/log/log.hpp"
#include "danemq/runtime/setting_wait.hpp"
#include "listing.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;

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
    cli.footer(
        "Exit codes: 0 success (health: healthy); 1 usage, configuration or start-up failure (health: unhealthy).");
    config::option_binding<receiver_settings> binding(cli, receiver_options());
    auto* run_command = cli.add_subcommand("run", "receive, store and print messages (the default)");
    std::string since;
    std::string from;
    std::size_t limit = 0;
    auto* inbox_command = cli.add_subcommand("inbox", "list accepted messages, oldest first");
    inbox_command->add_option("--since", since,
                              "received at or after: a duration back (15m, 2h, 3d) or a UTC date/time");
    inbox_command->add_option("--from", from, "only messages from this sender (DNS name)");
    inbox_command->add_option("--limit", limit, "at most this many");
    auto* quarantine_command =
        cli.add_subcommand("quarantine", "list refused messages with their reason, oldest first");
    quarantine_command->add_option("--since", since, "received at or after: a duration back or a UTC date/time");
    quarantine_command->add_option("--limit", limit, "at most this many");
    auto* health_command =
        cli.add_subcommand("health", "exit 0 when the daemon is connected and its identity in sync (HEALTHCHECK)");
    try {
      cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return cli.exit(e, out_, err_) == 0 ? exit_success : exit_failure;
    }
    const bool listing = inbox_command->parsed() || quarantine_command->parsed() || health_command->parsed();
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
    filter.limit = limit;
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
    if (inbox_command->parsed()) return list_inbox(settings, filter);
    if (quarantine_command->parsed()) return list_quarantine(settings, filter);
    if (health_command->parsed()) return health(settings);

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
  if (!*opened) return exit_success;  // nothing received yet
  auto rows = (*opened)->outcomes().list_inbox(filter);
  if (!rows) return error("cannot read the inbox: " + rows.error().message());
  for (const auto& entry : *rows) out_ << (settings.json_output ? inbox_json(entry) : inbox_line(entry)) << '\n';
  out_.flush();
  return exit_success;
}

int receiver_app::list_quarantine(const receiver_settings& settings, const store::listing_filter& filter) {
  auto opened = open_for_reading(settings);
  if (!opened) return error(opened.error().detail);
  if (!*opened) return exit_success;
  auto rows = (*opened)->outcomes().list_quarantine(filter);
  if (!rows) return error("cannot read the quarantine: " + rows.error().message());
  for (const auto& entry : *rows) {
    out_ << (settings.json_output ? quarantine_json(entry) : quarantine_line(entry)) << '\n';
  }
  out_.flush();
  return exit_success;
}

int receiver_app::health(const receiver_settings& settings) {
  const auto unhealthy = [&](const std::string& why) {
    out_ << "unhealthy: " << why << '\n';
    return exit_failure;
  };
  auto opened = open_for_reading(settings);
  if (!opened) return unhealthy(opened.error().detail);
  if (!*opened) return unhealthy("no database at " + database_path(settings).string() + " (not started yet?)");
  auto recorded = (*opened)->health().load();
  if (!recorded) return unhealthy("cannot read health: " + recorded.error().message());
  if (!recorded->has_value()) return unhealthy("the daemon has not recorded its health yet");
  const auto& state = **recorded;
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - state.updated_at);
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
  out_ << "healthy: connected, identity in sync\n";
  return exit_success;
}

}  // namespace danemq::receiver
