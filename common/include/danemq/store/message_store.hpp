#pragma once
// The receiver's database (receiver.db): one connection shared by its tables
// — the raw queue, the inbox and quarantine, the replay memory, the health
// row — and the one operation that spans them: recording the outcomes of
// processed messages.
//
// A raw message leaves the queue in the same transaction that writes its
// inbox or quarantine row, so a crash at any point leaves it either pending
// (processed again at restart) or done, never both and never neither.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/store/errors.hpp"
#include "danemq/store/health_record.hpp"
#include "danemq/store/outcome_tables.hpp"
#include "danemq/store/quarantine_actions.hpp"
#include "danemq/store/raw_queue.hpp"
#include "danemq/store/replay_table.hpp"
#include "danemq/store/shared_database.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

/// Work in the sender's database (DATA_PATH/sender.db) that an outcome
/// calls for: written in the outcome's own transaction, so a receiver that
/// dies between that commit and the work finds it at its next start
/// (message_store::hand_offs) instead of losing it.
struct hand_off {
  enum class kind {
    send_receipt,    ///< our receipt for an accepted message: queue it in the outbox
    mark_delivered,  ///< a verified receipt: mark the message it names delivered in the sent log
  };
  std::int64_t id{0};  ///< set by message_store::hand_offs
  kind what{kind::send_receipt};
  std::string peer;                            ///< send_receipt: its recipient; mark_delivered: the receipt's signer
  std::string topic;                           ///< send_receipt
  std::vector<std::uint8_t> payload;           ///< send_receipt: the sealed receipt
  std::string jti;                             ///< mark_delivered: the message the receipt names
  std::string note_digest;                     ///< mark_delivered
  std::chrono::system_clock::time_point at{};  ///< when the outcome was decided
};

/// One decided outcome for message_store::record.
struct outcome_record {
  /// receipt: a verified receipt, remembered against replay, not in the inbox.
  enum class kind { accept, quarantine, defer, receipt };
  kind what{kind::accept};
  std::int64_t raw_id{0};
  inbox_entry entry{};                   ///< accept
  std::vector<replay_entry> replay{};    ///< accept, receipt
  refusal reason{};                      ///< quarantine; defer: the temporary failure
  int attempts{0};                       ///< defer: attempts so far, this one included
  clock::time_point next_attempt_at{};   ///< defer
  clock::time_point first_failure_at{};  ///< defer
  std::optional<hand_off> then{};        ///< accept, receipt: work left for the sender's database
};

struct message_store_limits {
  std::size_t max_replay_entries{1'000'000};       ///< the replay memory's bound
  std::size_t replay_entries_per_sender{700'000};  ///< one sender's share of it
  /// MAX_CLOCK_SKEW: how long beyond its expiry a replay entry is kept.
  std::chrono::milliseconds replay_purge_margin{std::chrono::seconds(60)};
  /// QUARANTINE_MAX_AGE, QUARANTINE_MAX_BYTES (0: unbounded).
  quarantine_limits quarantine{};
};

/// Counts for `danemq-receiver stats`: what became of the messages received in a period.
struct message_summary {
  std::uint64_t received{0};     ///< distinct messages received
  std::uint64_t copies{0};       ///< further copies of them (redeliveries, identical replays)
  std::uint64_t accepted{0};     ///< in the inbox
  std::uint64_t quarantined{0};  ///< in the quarantine
  std::uint64_t pending{0};      ///< not decided yet (new, or waiting for a retry)
  /// Quarantined by reason ("jose:19") with one reason text as an example.
  std::map<std::string, std::pair<std::uint64_t, std::string>> reasons;
};

class message_store {
 public:
  /// The schema version this program writes (PRAGMA user_version).
  static constexpr int schema_version = 5;

  /// Opens or creates <path> and brings it to schema_version (read-only:
  /// checks it only). Failure: the database errors; schema_mismatch for a
  /// database of a newer program or a file that is not a receiver database.
  [[nodiscard]] static result<message_store> open(const std::filesystem::path& path, const open_options& options = {},
                                                  const message_store_limits& limits = {});

  message_store(message_store&& other) noexcept = default;
  message_store& operator=(message_store&&) = delete;
  message_store(const message_store&) = delete;
  message_store& operator=(const message_store&) = delete;
  ~message_store() = default;

  /// Records several outcomes in one transaction (a group commit), each
  /// undone alone if it fails: one result per record (the inbox, quarantine
  /// or raw row id). An accept or quarantine fails with not_found when the
  /// message is no longer pending, an accept with conflict when a replay
  /// entry is already remembered (the message is left pending), full when the
  /// replay memory is, over_quota when the sender's share of it is; a defer
  /// with not_found. Fails as a whole only when the
  /// transaction cannot commit.
  [[nodiscard]] result<std::vector<result<std::int64_t>>> record(std::span<const outcome_record> records);

  /// Applies the quarantine's retention (quarantine_limits): removes its
  /// oldest rows, with their digests, that are too old or over the byte
  /// bound, and returns them (the caller logs and counts them).
  [[nodiscard]] result<std::vector<quarantine_removal>> enforce_retention(clock::time_point now) {
    return outcomes_.trim_quarantine(quarantine_limits_, now);
  }

  [[nodiscard]] raw_queue& raw() { return raw_; }
  [[nodiscard]] outcome_tables& outcomes() { return outcomes_; }
  /// The oldest `limit` hand-offs recorded and not yet finished.
  [[nodiscard]] result<std::vector<hand_off>> hand_offs(std::size_t limit);
  /// Forgets hand-offs done (no fsync: one redone after a power cut is a
  /// receipt queued twice, or a message marked delivered again).
  [[nodiscard]] result<void> finish_hand_offs(std::span<const std::int64_t> ids);

  [[nodiscard]] replay_table& replay() { return replay_; }
  [[nodiscard]] health_record& health() { return health_; }
  [[nodiscard]] quarantine_actions& quarantine() { return quarantine_; }
  /// What became of the messages received at or after `since` (all: none).
  [[nodiscard]] result<message_summary> summary(std::optional<clock::time_point> since);

  [[nodiscard]] const std::filesystem::path& path() const { return db_->path(); }

 private:
  message_store(std::unique_ptr<shared_database> db, const message_store_limits& limits);
  [[nodiscard]] result<std::int64_t> record_one(locked_database& db, const outcome_record& record,
                                                clock::time_point now);
  [[nodiscard]] static result<void> add_hand_off(locked_database& db, const hand_off& work);

  std::unique_ptr<shared_database> db_;  // on the heap: the tables keep a reference across moves
  raw_queue raw_;
  outcome_tables outcomes_;
  replay_table replay_;
  health_record health_;
  quarantine_limits quarantine_limits_;
  quarantine_actions quarantine_;
};

}  // namespace danemq::store
