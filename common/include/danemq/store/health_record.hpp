#pragma once
// What the receiver daemon last said about itself, one row, read by
// `danemq-receiver health` (the image's HEALTHCHECK) from another process.

#include <optional>
#include <string>

#include "danemq/core/result.hpp"
#include "danemq/store/shared_database.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

struct service_health {
  bool connected{false};         ///< connected to the broker and subscribed
  bool identity_in_sync{false};  ///< our certificate in DNS matches our key
  clock::time_point updated_at{};
  std::string detail;  ///< a short human reason when not healthy
  /// Why stored messages cannot be processed (the replay memory is full):
  /// they wait, unprocessed; empty while processing goes on.
  std::string processing_halted;
};

class health_record {
 public:
  explicit health_record(shared_database& db) : db_(db) {}

  /// Replaces the row (not fsynced: the daemon writes it again every interval).
  [[nodiscard]] result<void> save(const service_health& health);
  /// The row, or nothing before the daemon first wrote it.
  [[nodiscard]] result<std::optional<service_health>> load();

 private:
  shared_database& db_;
};

}  // namespace danemq::store
