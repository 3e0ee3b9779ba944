#pragma once
// The receiver's raw messages: every message as it came off the network,
// written and fsynced before the broker gets its acknowledgement, stored once
// however often the broker delivers the same bytes, and pending until an
// outcome is recorded for it (message_store::record). The pending ones are
// handed out in arrival order, a parked one (after a temporary failure) once
// it is due again.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/store/shared_database.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

/// The reason a message was refused, kept as the typed error it was.
struct refusal {
  std::string category;  ///< error category name ("jose", "dane", ...)
  int value{0};          ///< the errc value within the category
  std::string text;      ///< failure::message(): code message and detail

  [[nodiscard]] static refusal of(const failure& reason);
  /// "<category>:<value> <text>", as kept with the raw message.
  [[nodiscard]] std::string line() const;
};

/// A message refused as it arrived, before its bytes were kept (a payload
/// over MAX_MESSAGE_SIZE): only its digest, topic and the reason are stored.
struct refused_on_arrival {
  bytes digest;  ///< SHA-256 of the topic, a zero byte and the payload (the same digest copies are known by)
  refusal reason;
};

/// A message as the broker delivered it.
struct incoming_message {
  std::string topic;
  bytes payload;  ///< empty when refused
  clock::time_point received_at{};
  /// Set: straight into the quarantine, with no payload, never processed.
  std::optional<refused_on_arrival> refused{};
};

/// What store_raw did with one incoming message.
struct raw_outcome {
  std::int64_t raw_id{};    ///< the stored row (for a duplicate: the row of the first copy)
  bool duplicate{false};    ///< byte-identical to a message stored before (topic and payload): not stored again
  bool quarantined{false};  ///< refused on arrival: in the quarantine, not pending
};

/// A stored message not yet accepted or quarantined.
struct pending_message {
  std::int64_t raw_id{};
  std::string topic;
  bytes payload;
  clock::time_point received_at{};
  int attempts{0};                                      ///< earlier attempts that ended in a temporary failure
  std::optional<clock::time_point> first_failure_at{};  ///< when the first of those happened
  /// Beginnings of its processing without an outcome when it was read: a
  /// message that was being processed when the receiver crashed (or was
  /// killed) has one or more.
  int unfinished{0};
  /// This try's beginning is already marked (begin_processing_all), so
  /// begin_processing is not called again for it.
  bool marked{false};
};

/// How a raw message left the queue.
enum class raw_fate : std::int64_t { accepted = 1, quarantined = 2 };

class raw_queue {
 public:
  explicit raw_queue(shared_database& db) : db_(db) {}

  /// Stores each message (in one transaction, fsynced) unless a byte-identical
  /// copy is already stored, and returns one outcome per message, in order;
  /// one refused on arrival goes to the quarantine without a payload.
  /// Nothing is stored on failure (disk_full, io_error, ...).
  [[nodiscard]] result<std::vector<raw_outcome>> store_raw(std::span<const incoming_message> messages);

  /// Up to `limit` pending messages due at `now` with an id up to `up_to_id`,
  /// oldest first, skipping `exclude` (sorted ascending): the retries.
  [[nodiscard]] result<std::vector<pending_message>> due_pending(
      clock::time_point now, std::size_t limit, std::span<const std::int64_t> exclude = {},
      std::int64_t up_to_id = std::numeric_limits<std::int64_t>::max());
  /// Up to `limit` pending messages due at `now` with an id above `after_id`,
  /// oldest first: what arrived since the last call (at start: the backlog).
  [[nodiscard]] result<std::vector<pending_message>> pending_after(std::int64_t after_id, clock::time_point now,
                                                                   std::size_t limit);
  /// The earliest time after `after` at which a parked pending message becomes due, if any.
  [[nodiscard]] result<std::optional<clock::time_point>> next_due(clock::time_point after);
  /// Number of pending messages.
  [[nodiscard]] result<std::size_t> pending_count();
  /// Number of pending messages never processed (no temporary failure yet).
  [[nodiscard]] result<std::size_t> untried_count();
  /// Sets the arrival time (and due time) of every pending message never
  /// processed to `at`, once the system clock can be trusted: they were
  /// stamped by a clock that could not. `at`, the first trusted time, is
  /// after their true arrival, so a message can only look older than it is:
  /// nothing stale becomes fresh. Returns how many were stamped.
  [[nodiscard]] result<std::size_t> restamp_untried(clock::time_point at);

  /// Notes that processing of pending message `raw_id` begins, durably
  /// against a crash of the process (a power loss may forget a mark: one try
  /// more), and returns how many earlier beginnings had no outcome: a message
  /// that crashed the receiver that many times. Failure not_found when it is
  /// not pending.
  [[nodiscard]] result<int> begin_processing(std::int64_t raw_id);
  /// begin_processing for many pending messages in one transaction (no
  /// fsync, like begin_processing): the messages a load hands to the workers,
  /// none of which had an unfinished beginning. A message no longer pending
  /// is skipped.
  [[nodiscard]] result<void> begin_processing_all(std::span<const std::int64_t> raw_ids);
  /// Takes back the mark of a processing abandoned without an outcome (the
  /// receiver is stopping): that try did not crash.
  [[nodiscard]] result<void> abandon_processing(std::int64_t raw_id);
  /// abandon_processing for many, in one transaction.
  [[nodiscard]] result<void> abandon_processing_all(std::span<const std::int64_t> raw_ids);

  // Inside the caller's transaction, with its lock:

  /// The pending message `raw_id`. Failure not_found when it is not pending.
  [[nodiscard]] result<pending_message> pending(locked_database& db, std::int64_t raw_id);
  /// Takes a pending message out of the queue, dropping its payload (its
  /// digest stays, so that a later copy is still recognised) and keeping
  /// `note` as its last word. Failure not_found when it is not pending.
  [[nodiscard]] result<void> finish(locked_database& db, std::int64_t raw_id, raw_fate fate,
                                    const std::optional<std::string>& note);
  /// Parks a pending message after a temporary failure until `next_attempt_at`
  /// (an outcome: the processing mark is cleared). Failure not_found when it
  /// is not pending.
  [[nodiscard]] result<void> park(locked_database& db, std::int64_t raw_id, int attempts,
                                  clock::time_point next_attempt_at, clock::time_point first_failure_at,
                                  const std::string& last_error);

 private:
  /// Runs `sql`, whose one parameter is a raw id, for each of `raw_ids` in one transaction.
  [[nodiscard]] result<void> update_each(std::span<const std::int64_t> raw_ids, std::string_view sql);

  shared_database& db_;
};

}  // namespace danemq::store
