#pragma once
// danemq-receiver: receives end-to-end encrypted, source-signed messages on
// its own MQTT topic and prints `<sender> says: <message>` (the daemon,
// receiver_daemon.hpp); `inbox` and `quarantine` list what it stored,
// `health` tells a HEALTHCHECK whether the daemon is connected and its
// identity in sync.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "danemq/store/message_store.hpp"
#include "receiver_daemon.hpp"
#include "receiver_settings.hpp"

namespace danemq::receiver {

class receiver_app {
 public:
  /// Messages and listings go to `out`, one-line errors to `err`; logs to stderr.
  receiver_app(std::ostream& out, std::ostream& err, receiver_dependencies dependencies = {});
  /// Parses argv, runs the subcommand (default: the daemon), returns its exit code. Never throws.
  int run(int argc, char** argv);

 private:
  int list_inbox(const receiver_settings& settings, const store::listing_filter& filter);
  /// `inbox --follow`: the listing, then new rows as they arrive, until SIGINT/SIGTERM (exit 0).
  int follow_inbox(const receiver_settings& settings, const store::listing_filter& filter);
  int list_quarantine(const receiver_settings& settings, const store::listing_filter& filter);
  int health(const receiver_settings& settings);
  int stats(const receiver_settings& settings, const std::optional<std::chrono::system_clock::time_point>& since);
  int show_quarantined(const receiver_settings& settings, std::int64_t id, bool with_payload);
  int release_quarantined(const receiver_settings& settings, std::int64_t id);
  int purge_quarantined(const receiver_settings& settings, const std::vector<std::int64_t>& ids,
                        const std::string& before);
  int error(const std::string& message);
  /// A required setting of the daemon is missing: waits for SIGTERM, saying so once a minute; exit_failure.
  int wait_for_setting(const std::string& missing);

  std::ostream& out_;
  std::ostream& err_;
  receiver_dependencies dependencies_;
};

}  // namespace danemq::receiver
