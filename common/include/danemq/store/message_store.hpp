#pragma once
// The receiver's database: every message as it came off the network (written,
// fsynced, before the broker gets its acknowledgement), then exactly one of
// inbox (accepted) or quarantine (refused, with the raw bytes and the typed
// reason), the replay memory, and the daemon's health state.
//
// A raw message moves out of `pending` in the same transaction that writes its
// inbox or quarantine row, so a crash at any point leaves it either pending
// (processed again at restart) or done, never both and never neither.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/store/errors.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

using clock = std::chrono::system_clock;
using bytes = std::vector<std::uint8_t>;

/// A message as the broker delivered it.
struct incoming_message {
  std::string topic;
  bytes payload;
  clock::time_point received_at{};
};

/// What store_raw did with one incoming message.
struct raw_outcome {
  std::int64_t raw_id{};  ///< the stored row (for a duplicate: the row of the first copy)
  bool duplicate{false};  ///< byte-identical to a message stored before (topic and payload): not stored again
};

/// A stored message not yet accepted or quarantined.
struct pending_message {
  std::int64_t raw_id{};
  std::string topic;
  bytes payload;
  clock::time_point received_at{};
  int attempts{0};                                      ///< earlier attempts that ended in a temporary failure
  std::optional<clock::time_point> first_failure_at{};  ///< when the first of those happened
};

/// An accepted message.
struct inbox_entry {
  std::int64_t id{};      ///< inbox row (filled by the store)
  std::int64_t raw_id{};  ///< the raw message it came from; the inbox is listed in this (arrival) order
  std::string sender;     ///< DNS name of the verified signer
  std::string recipient;  ///< our own DNS name
  clock::time_point received_at{};
  std::optional<std::int64_t> issued_at{};  ///< the signed `iat` (seconds), absent in the original's format
  std::optional<std::string> jti{};         ///< the signed `jti`, absent in the original's format
  std::string message;
  bool dnssec_secure{false};  ///< the sender's TLSA answer was DNSSEC-secure
  bool legacy{false};         ///< the original's format, without recipient binding or freshness
};

/// The reason a message was refused, kept as the typed error it was.
struct refusal {
  std::string category;  ///< error category name ("jose", "dane", ...)
  int value{0};          ///< the errc value within the category
  std::string text;      ///< failure::message(): code message and detail

  [[nodiscard]] static refusal of(const failure& reason);
};

/// A refused message.
struct quarantine_entry {
  std::int64_t id{};
  std::int64_t raw_id{};
  std::string topic;
  bytes payload;
  clock::time_point received_at{};
  clock::time_point quarantined_at{};
  refusal reason;
};

/// Selects rows for the listing commands.
struct listing_filter {
  std::optional<clock::time_point> since{};  ///< received at or after
  std::optional<std::string> from{};         ///< sender (inbox only)
  std::size_t limit{0};                      ///< 0: no limit
};

/// One (sender, jti) pair remembered until `expires_at`.
struct replay_entry {
  std::string sender;
  std::string jti;
  clock::time_point expires_at{};
};

/// One decided outcome for message_store::record.
struct outcome_record {
  enum class kind { accept, quarantine, defer };
  kind what{kind::accept};
  std::int64_t raw_id{0};
  inbox_entry entry{};                   ///< accept
  std::vector<replay_entry> replay{};    ///< accept
  refusal reason{};                      ///< quarantine; defer: the temporary failure
  int attempts{0};                       ///< defer: attempts so far, this one included
  clock::time_point next_attempt_at{};   ///< defer
  clock::time_point first_failure_at{};  ///< defer
};

/// What the daemon last said about itself, for `danemq-receiver health`.
struct service_health {
  bool connected{false};         ///< connected to the broker and subscribed
  bool identity_in_sync{false};  ///< our certificate in DNS matches our key
  clock::time_point updated_at{};
  std::string detail;  ///< a short human reason when not healthy
};

struct message_store_limits {
  std::size_t max_replay_entries{1'000'000};  ///< the replay memory's bound
};

class message_store {
 public:
  /// Opens or creates <path>, creating or checking the schema (read-only:
  /// checking only). Failure: the database errors, schema_mismatch.
  [[nodiscard]] static result<message_store> open(const std::filesystem::path& path, const open_options& options = {},
                                                  const message_store_limits& limits = {});

  message_store(message_store&& other) noexcept;
  message_store& operator=(message_store&&) = delete;
  message_store(const message_store&) = delete;
  message_store& operator=(const message_store&) = delete;
  ~message_store() = default;

  /// Stores each message (in one transaction, fsynced) unless a byte-identical
  /// copy is already stored, and returns one outcome per message, in order.
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

  /// Records several outcomes in one transaction (a group commit), each
  /// undone alone if it fails: one result per record (the inbox, quarantine
  /// or raw row id), with the failures accept, quarantine and defer give.
  /// Fails as a whole only when the transaction cannot commit.
  [[nodiscard]] result<std::vector<result<std::int64_t>>> record(std::span<const outcome_record> records);

  /// Moves a pending message to the inbox and remembers its replay entries, in
  /// one transaction. Failure not_found when it is no longer pending,
  /// conflict when a replay entry is already remembered (the message is left pending).
  [[nodiscard]] result<std::int64_t> accept(const inbox_entry& entry, std::span<const replay_entry> replay);
  /// Moves a pending message to the quarantine with its raw bytes and reason.
  /// Failure not_found when it is no longer pending.
  [[nodiscard]] result<std::int64_t> quarantine(std::int64_t raw_id, const refusal& reason, clock::time_point now);
  /// Parks a pending message after a temporary failure until `next_attempt_at`.
  [[nodiscard]] result<void> defer(std::int64_t raw_id, int attempts, clock::time_point next_attempt_at,
                                   clock::time_point first_failure_at, const refusal& last_error);

  /// Inbox rows in arrival order.
  [[nodiscard]] result<std::vector<inbox_entry>> list_inbox(const listing_filter& filter = {});
  /// Quarantine rows in arrival order (`from` is ignored: a refused message has no verified sender).
  [[nodiscard]] result<std::vector<quarantine_entry>> list_quarantine(const listing_filter& filter = {});

  /// True when (sender, jti) is remembered and not expired at `now`.
  [[nodiscard]] result<bool> replay_contains(std::string_view sender, std::string_view jti, clock::time_point now);
  /// Remembers entries outside any message (tests, tools). Failure conflict, full.
  [[nodiscard]] result<void> replay_remember(std::span<const replay_entry> entries, clock::time_point now);
  /// Forgets expired entries; returns how many.
  [[nodiscard]] result<std::size_t> purge_replay(clock::time_point now);
  /// Number of remembered entries (expired or not).
  [[nodiscard]] result<std::size_t> replay_size();

  /// Saves / loads the health row.
  [[nodiscard]] result<void> save_health(const service_health& health);
  [[nodiscard]] result<std::optional<service_health>> load_health();

  [[nodiscard]] const std::filesystem::path& path() const { return db_.path(); }

 private:
  message_store(database db, const message_store_limits& limits) : db_(std::move(db)), limits_(limits) {}
  [[nodiscard]] result<void> insert_replay(std::span<const replay_entry> entries, clock::time_point now);
  [[nodiscard]] result<std::int64_t> accept_in_transaction(const inbox_entry& entry,
                                                           std::span<const replay_entry> replay, clock::time_point now);
  [[nodiscard]] result<std::int64_t> quarantine_in_transaction(std::int64_t raw_id, const refusal& reason,
                                                               clock::time_point now);
  [[nodiscard]] result<std::int64_t> defer_in_transaction(std::int64_t raw_id, int attempts,
                                                          clock::time_point next_attempt_at,
                                                          clock::time_point first_failure_at,
                                                          const refusal& last_error);
  [[nodiscard]] result<std::int64_t> record_in_transaction(const outcome_record& record, clock::time_point now);
  [[nodiscard]] result<std::int64_t> record_one(const outcome_record& one);
  void begin_replay_tracking();
  void end_replay_tracking(bool committed);

  database db_;
  message_store_limits limits_;
  std::mutex mutex_;  // one connection, used by the network thread and the workers
  // Rows of `replay`, once counted (guarded by mutex_); the open
  // transaction's view of it; whether an undone outcome made it unsure.
  std::optional<std::size_t> replay_count_;
  std::optional<std::size_t> tx_replay_count_;
  bool replay_count_uncertain_{false};
};

}  // namespace danemq::store
