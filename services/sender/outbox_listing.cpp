#include "outbox_listing.hpp"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "danemq/config/options.hpp"
#include "danemq/config/time_text.hpp"
#include "danemq/core/display_text.hpp"

namespace danemq::sender {
namespace {

using clock = std::chrono::system_clock;
using config::iso_time;

std::chrono::seconds age_of(const store::outbox_entry& entry, clock::time_point now) {
  return std::max(std::chrono::seconds(0), std::chrono::duration_cast<std::chrono::seconds>(now - entry.created_at));
}

}  // namespace

std::string outbox_line(const store::outbox_entry& entry, clock::time_point now, std::chrono::seconds horizon) {
  std::string line = "#" + std::to_string(entry.id) + " " + iso_time(entry.created_at) + " " +
                     core::escape_for_display(entry.recipient) + " waiting " +
                     config::format_duration(age_of(entry, now)) + ", " + std::to_string(entry.attempts) +
                     (entry.attempts == 1 ? " attempt" : " attempts");
  if (!entry.last_error.empty()) line += ", last error: " + core::escape_for_display(entry.last_error);
  if (entry.older_than(horizon, now)) {
    line += " [older than MESSAGE_MAX_AGE " + config::format_duration(horizon) + ": receivers refuse it as too old]";
  }
  return line;
}

std::string outbox_json(const store::outbox_entry& entry, clock::time_point now, std::chrono::seconds horizon) {
  nlohmann::json object = {
      {"id", entry.id},
      {"recipient", entry.recipient},
      {"topic", entry.topic},
      {"created_at", iso_time(entry.created_at)},
      {"age_seconds", age_of(entry, now).count()},
      {"attempts", entry.attempts},
      {"size", entry.payload.size()},
      {"older_than_horizon", entry.older_than(horizon, now)},
  };
  object["last_error"] = entry.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(entry.last_error);
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace danemq::sender
