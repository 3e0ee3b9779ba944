#pragma once
// danemq-maintenance watch: the maintenance container's long-running process.
// The original's maintenance container only slept; watch re-runs `check`
// every interval (WATCH_INTERVAL, --interval) and logs when DNS and the local
// identity drift apart or come back together, when the identity is missing,
// and when the certificate nears expiry. It keeps running whatever check
// says, so a terminal can always be opened in the container to bootstrap the
// identity, and stops with exit 0 on SIGTERM or SIGINT. With DNS updates
// configured (DNS_UPDATE_SERVER) it also drives a key rotation under way
// through its phases, each when due, begins one when the certificate is
// ROTATE_AFTER old, and destroys the previous key when its time comes.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "maintenance_app.hpp"

namespace danemq::maintenance {

/// What one run of `check` gave.
struct check_outcome {
  int exit_code{exit_success};
  std::string report;  ///< check's standard output
  std::string error;   ///< its one-line error, without the "error: " prefix; empty on success
};

enum class watch_level { debug, info, warning, error };

/// One line for the log.
struct watch_event {
  watch_level level{watch_level::info};
  std::string message;
  friend bool operator==(const watch_event&, const watch_event&) = default;
};

/// Decides what watch logs after each check (pure: outcomes in, log lines
/// out). A change of state (in sync, drifted, no identity, bad setting) is
/// logged at once; a state that stays bad, or warnings that stay (expiry),
/// again every `reminder_every` checks, so a log shows them without flooding.
class drift_monitor {
 public:
  explicit drift_monitor(std::size_t reminder_every = 12) : reminder_every_(reminder_every) {}

  /// The lines to log for this outcome, in order.
  [[nodiscard]] std::vector<watch_event> observe(const check_outcome& outcome);

 private:
  std::size_t reminder_every_;
  std::optional<int> last_exit_code_;
  std::string last_error_;
  std::vector<std::string> last_warnings_;
  std::size_t rounds_unchanged_{0};
};

/// The "warning: ..." lines of a check report, without the prefix.
[[nodiscard]] std::vector<std::string> report_warnings(const std::string& report);

/// Adds `watch` (and its --interval / WATCH_INTERVAL setting) to the app's CLI.
void register_watch_command(maintenance_app& app);

}  // namespace danemq::maintenance
