#include "watch_command.hpp"

#include <pthread.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigset_t and sigemptyset, which <csignal> need not declare

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string_view>

#include "danemq/log/log.hpp"
#include "danemq/runtime/service_runtime.hpp"
#include "rotate_command.hpp"

namespace danemq::maintenance {
namespace {

std::string trim_error(const std::string& text) {
  // check writes one line, "error: <what>"; keep the last non-empty line.
  std::string line;
  std::istringstream lines(text);
  for (std::string next; std::getline(lines, next);) {
    if (!next.empty()) line = next;
  }
  constexpr std::string_view prefix = "error: ";
  if (line.rfind(prefix, 0) == 0) line.erase(0, prefix.size());
  return line;
}

std::string verdict_line(const std::string& report) {
  std::istringstream lines(report);
  std::string found;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Check: ", 0) == 0) found = line.substr(7);
  }
  return found.empty() ? "DNS publishes the local identity" : found;
}

watch_event state_event(const check_outcome& outcome, bool was_bad) {
  switch (outcome.exit_code) {
    case exit_success:
      return {watch_level::info, std::string(was_bad ? "back in sync: " : "in sync: ") + verdict_line(outcome.report)};
    case exit_identity_files:
      return {watch_level::warning,
              "no usable local identity: " + outcome.error +
                  " (create it in this container with create_selfsigned_id, then publish its TLSA record: "
                  "generate_tlsa or publish-tlsa)"};
    case exit_dns_mismatch:
      return {watch_level::error, "DRIFT between DNS and the local identity: " + outcome.error +
                                      " (when DNS is reachable but the record is missing or stale: publish the one "
                                      "generate_tlsa prints, or run "
                                      "publish-tlsa)"};
    case exit_usage: return {watch_level::error, "cannot check: " + outcome.error};
    default: return {watch_level::error, "check exited " + std::to_string(outcome.exit_code) + ": " + outcome.error};
  }
}

/// Runs `danemq-maintenance <command...>` in-process with watch's identity
/// (the other settings come from the environment, as watch's own do).
check_outcome run_subcommand(const settings& config, const std::vector<std::string>& command) {
  std::ostringstream out;
  std::ostringstream err;
  maintenance_app check(out, err);
  std::vector<std::string> args{"danemq-maintenance", "--identity-name", config.identity_name, "--crypto-path",
                                config.crypto_path.string()};
  args.insert(args.end(), command.begin(), command.end());
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& arg : args) argv.push_back(arg.data());
  const int code = check.run(static_cast<int>(argv.size()), argv.data());
  return {code, out.str(), code == exit_success ? std::string() : trim_error(err.str())};
}

check_outcome run_check(const settings& config) {
  return run_subcommand(config, {"check"});
}

/// The rotation's next step when one is due to be tried: with DNS updates
/// configured, a rotation under way is driven to its end, and ROTATE_AFTER
/// begins one.
struct rotation_driver {
  bool enabled{false};
  rotation_settings rotation;
  std::string last_waiting;  // checker thread only: "not yet" is logged again only when it changes

  std::vector<watch_event> step(const settings& config) {
    if (!enabled) return {};
    const auto next = next_rotation_step(config, rotation);
    if (next.empty()) return {};
    const auto outcome = run_subcommand(config, {"rotate", next});
    if (outcome.exit_code == exit_not_yet) {
      if (outcome.error == last_waiting) return {{watch_level::debug, "rotate " + next + ": " + outcome.error}};
      last_waiting = outcome.error;
      return {{watch_level::info, "rotation: rotate " + next + ": " + outcome.error}};
    }
    last_waiting.clear();
    if (outcome.exit_code != exit_success) {
      return {{watch_level::error, "rotation: rotate " + next + " failed: " + outcome.error}};
    }
    std::vector<watch_event> events;
    std::istringstream lines(outcome.report);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      std::string text = "rotation: rotate ";
      text.append(next).append(": ").append(line);
      events.push_back({watch_level::info, std::move(text)});
    }
    return events;
  }
};

void log_event(const watch_event& event) {
  switch (event.level) {
    case watch_level::debug: spdlog::debug("{}", event.message); break;
    case watch_level::info: spdlog::info("{}", event.message); break;
    case watch_level::warning: spdlog::warn("{}", event.message); break;
    case watch_level::error: spdlog::error("{}", event.message); break;
  }
}

/// Blocks SIGTERM/SIGINT in the calling thread (threads it starts inherit
/// that); `before` receives the mask to restore.
bool block_stop_signals(sigset_t& before) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  return pthread_sigmask(SIG_BLOCK, &stop_signals, &before) == 0;
}

int watch(maintenance_app& app, unsigned interval_seconds) {
  const auto& config = app.config();
  auto format = log::parse_format(config.log_format);
  log::init("maintenance", format ? *format : log::format::text);

  // A check under way finishes, then watch stops: the grace covers the
  // slowest check (its DNS lookups time out well before).
  runtime::service_runtime runtime(std::chrono::minutes(2));
  // The checks run on a thread of their own with SIGTERM/SIGINT blocked: the
  // signal goes to the runtime on this thread and never interrupts a DNS query.
  sigset_t before;
  if (!block_stop_signals(before)) {
    return app.error(exit_usage, std::string("watch: cannot block SIGTERM/SIGINT: ") + std::strerror(errno));
  }
  boost::asio::thread_pool checker(1);
  (void)pthread_sigmask(SIG_SETMASK, &before, nullptr);
  spdlog::info("watch: checking {} against DNS every {} s", config.identity_name, interval_seconds);
  drift_monitor monitor;
  rotation_driver rotation;
  if (auto dns = app.dns_config(); dns && !dns->update_server.empty()) {
    if (auto rotation_config = app.rotation_config(); rotation_config) {
      rotation.enabled = true;
      rotation.rotation = *rotation_config;
      if (rotation.rotation.rotate_after.count() > 0) {
        spdlog::info("watch: rotating the key when the certificate is {} s old",
                     rotation.rotation.rotate_after.count());
      }
    }
  }
  boost::asio::steady_timer next_check(runtime.io());
  bool checking = false;
  std::function<void()> check_now = [&] {
    checking = true;
    boost::asio::post(checker, [&] {
      auto outcome = run_check(config);
      auto rotated = rotation.step(config);
      boost::asio::post(runtime.io(), [&, outcome = std::move(outcome), rotated = std::move(rotated)] {
        checking = false;
        for (const auto& event : monitor.observe(outcome)) log_event(event);
        for (const auto& event : rotated) log_event(event);
        if (runtime.stopping()) {
          runtime.finish();
          return;
        }
        next_check.expires_after(std::chrono::seconds(interval_seconds));
        next_check.async_wait([&](const boost::system::error_code& ec) {
          if (!ec) check_now();
        });
      });
    });
  };
  runtime.on_stop([&](int signal) {
    spdlog::info("watch: stopping ({})", signal == SIGINT ? "SIGINT" : "SIGTERM");
    next_check.cancel();
    if (!checking) runtime.finish();
  });
  boost::asio::post(runtime.io(), check_now);
  (void)runtime.run();
  checker.join();
  return exit_success;
}

}  // namespace

std::vector<std::string> report_warnings(const std::string& report) {
  std::vector<std::string> warnings;
  std::istringstream lines(report);
  constexpr std::string_view marker = "warning: ";
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(marker);
    if (at != std::string::npos && line.find_first_not_of(' ') == at)
      warnings.push_back(line.substr(at + marker.size()));
  }
  return warnings;
}

std::vector<watch_event> drift_monitor::observe(const check_outcome& outcome) {
  const auto warnings = report_warnings(outcome.report);
  const bool first = !last_exit_code_;
  const bool state_changed = first || *last_exit_code_ != outcome.exit_code || last_error_ != outcome.error;
  const bool warnings_changed = warnings != last_warnings_;
  const bool was_bad = !first && *last_exit_code_ != exit_success;
  rounds_unchanged_ = (state_changed || warnings_changed) ? 0 : rounds_unchanged_ + 1;
  const bool remind = reminder_every_ > 0 && rounds_unchanged_ > 0 && rounds_unchanged_ % reminder_every_ == 0;

  std::vector<watch_event> events;
  if (state_changed) {
    events.push_back(state_event(outcome, was_bad));
  } else if (outcome.exit_code != exit_success && remind) {
    auto event = state_event(outcome, was_bad);
    event.message = "still: " + event.message;
    events.push_back(std::move(event));
  } else if (outcome.exit_code == exit_success) {
    events.push_back({watch_level::debug, "in sync"});
  }
  if (warnings_changed || remind) {
    for (const auto& warning : warnings) events.push_back({watch_level::warning, "identity: " + warning});
  }

  last_exit_code_ = outcome.exit_code;
  last_error_ = outcome.error;
  last_warnings_ = warnings;
  return events;
}

void register_watch_command(maintenance_app& app) {
  // The binding lives as long as the CLI: the command's action owns it.
  auto binding = std::make_shared<std::unique_ptr<config::option_binding<watch_settings>>>();
  auto* command =
      app.add_command("watch", "Re-run check every interval and log drift and expiry (long-running)", [&app, binding] {
        watch_settings settings;
        if (auto applied = (*binding)->apply(settings); !applied) {
          return app.error(exit_usage, applied.error().detail);
        }
        return watch(app, settings.interval_seconds);
      });
  *binding =
      std::make_unique<config::option_binding<watch_settings>>(*command, watch_options(), config::naming::variable);
}

}  // namespace danemq::maintenance
