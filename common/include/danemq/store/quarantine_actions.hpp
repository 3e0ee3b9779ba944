#pragma once
// What an operator does with the quarantine (`danemq-receiver quarantine
// show|release|purge`): look at one refused message, send it through every
// check again (a sender not yet in DNS, ALLOWED_SENDERS changed), or delete
// refused messages. The raw message's digest stays in either case, so that a
// broker redelivery of it is still recognised as a copy.

#include <cstdint>
#include <optional>
#include <span>

#include "danemq/core/result.hpp"
#include "danemq/store/outcome_tables.hpp"
#include "danemq/store/shared_database.hpp"

namespace danemq::store {

class quarantine_actions {
 public:
  explicit quarantine_actions(shared_database& db) : db_(db) {}

  /// The quarantine row `id`; nothing when there is none.
  [[nodiscard]] result<std::optional<quarantine_entry>> find(std::int64_t id);

  /// Makes the message pending again, as if it had just arrived (its raw row
  /// gets the payload back, no attempts), and removes the quarantine row, in
  /// one transaction. The daemon processes it at its next scan (every
  /// HEALTH_INTERVAL) or start. Failure not_found for no such row.
  [[nodiscard]] result<void> release(std::int64_t id, clock::time_point now);

  /// Deletes the quarantine rows `ids`; returns those that did not exist.
  [[nodiscard]] result<std::vector<std::int64_t>> purge(std::span<const std::int64_t> ids);

  /// Deletes the rows received before `before`; returns how many.
  [[nodiscard]] result<std::size_t> purge_before(clock::time_point before);

 private:
  shared_database& db_;
};

}  // namespace danemq::store
