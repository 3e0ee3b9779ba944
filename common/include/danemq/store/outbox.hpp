#pragma once
// The sender's outbox: encrypted messages waiting for a broker, kept in order
// on disk (libmosquitto keeps unacknowledged QoS 1 messages in memory only, so
// a restart would lose them). An entry is removed only after the broker's
// PUBACK for it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/store/errors.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

struct outbox_entry {
  std::int64_t id{};  ///< increasing: the order of enqueueing
  std::string recipient;
  std::string topic;
  std::vector<std::uint8_t> payload;  ///< the encrypted message, ready to publish
  std::chrono::system_clock::time_point created_at{};
  int attempts{0};
  std::string last_error{};  ///< why the last attempt failed; empty before the first

  /// True when the entry was sealed longer than `horizon` (MESSAGE_MAX_AGE)
  /// before `now`: a receiver with that horizon would refuse it as too old.
  /// It stays in the outbox all the same (nothing is dropped unasked).
  [[nodiscard]] bool older_than(std::chrono::seconds horizon, std::chrono::system_clock::time_point now) const {
    return now - created_at > horizon;
  }
};

/// One message this device sent, kept with its state (the sent log).
struct sent_entry {
  std::int64_t id{};
  std::string recipient;
  std::string text;
  std::optional<std::string> jti;  ///< v2; absent in the original's format
  std::string note_digest;         ///< what a receipt for it names (jose::note_digest)
  bool receipt_requested{false};
  std::chrono::system_clock::time_point queued_at{};
  std::optional<std::chrono::system_clock::time_point> published_at{};  ///< the broker acknowledged it
  std::optional<std::chrono::system_clock::time_point> delivered_at{};  ///< a verified receipt arrived
  std::optional<std::int64_t> outbox_id{};                              ///< while it waits in the outbox

  /// queued (waiting in the outbox), published, delivered, or unconfirmed:
  /// a one-off send logged and not (yet) acknowledged by the broker, in
  /// progress or interrupted (it may or may not have reached the broker).
  [[nodiscard]] std::string state() const;
};

struct sent_filter {
  std::optional<std::string> to{};
  std::optional<std::chrono::system_clock::time_point> since{};  ///< queued at or after
  std::size_t limit{0};                                          ///< 0: all; else the newest `limit`, oldest first
};

class outbox {
 public:
  /// The schema version this program writes (PRAGMA user_version). 2 adds
  /// the runner's requests, 3 the sent log.
  static constexpr int schema_version = 3;

  /// Opens or creates the sender database at `path` and brings it to
  /// schema_version (read-only: checks it only). Failure: the database
  /// errors; schema_mismatch for a database of a newer program.
  [[nodiscard]] static result<outbox> open(const std::filesystem::path& path, const open_options& options = {});

  outbox(outbox&& other) noexcept : db_(std::move(other.db_)) {}
  outbox& operator=(outbox&&) = delete;
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;
  ~outbox() = default;

  /// Appends an entry, fsynced before returning; returns its id.
  [[nodiscard]] result<std::int64_t> enqueue(const outbox_entry& entry);
  /// Appends entries in one transaction (all or none), fsynced once.
  [[nodiscard]] result<void> enqueue(std::span<const outbox_entry> entries);
  /// Up to `limit` oldest entries (0: all), in order.
  [[nodiscard]] result<std::vector<outbox_entry>> oldest(std::size_t limit = 0);
  /// Removes an entry once the broker acknowledged it; failure not_found.
  [[nodiscard]] result<void> remove(std::int64_t id);
  /// Removes an entry that will not be sent (`outbox cancel`), with its
  /// sent-log row: it was never sent. Failure not_found.
  [[nodiscard]] result<void> cancel(std::int64_t id);
  /// Counts one more publish attempt.
  [[nodiscard]] result<void> note_attempt(std::int64_t id, const std::string& error);
  [[nodiscard]] result<std::size_t> size();

  // ---- the sent log ----
  /// Records a message as sent (published_at set) or queued (outbox_id set);
  /// returns its id. With `queued` the outbox entry is written in the same
  /// transaction, and `entry.outbox_id` is ignored. `level` normal (no
  /// fsync) is for a row a later full commit makes durable before anyone is
  /// told (a one-off send's row before its publish); a queued entry is
  /// always committed in full.
  [[nodiscard]] result<std::int64_t> record_sent(sent_entry entry, const outbox_entry* queued = nullptr,
                                                 durability level = durability::full);
  /// A one-off send is logged before it is published (its receipt may come
  /// back before the PUBACK does); then published, queued, or forgotten
  /// when it failed for good. Committed in full: it makes the row durable too.
  [[nodiscard]] result<void> mark_published(std::int64_t sent_id, std::chrono::system_clock::time_point at);
  /// Puts the logged message into the outbox (one transaction); returns the outbox id.
  [[nodiscard]] result<std::int64_t> queue_sent(std::int64_t sent_id, const outbox_entry& entry);
  [[nodiscard]] result<void> forget_sent(std::int64_t sent_id);
  /// Marks the receipted message delivered: the one sent to `signer` whose
  /// jti and note digest the receipt names. False when no such message was sent.
  [[nodiscard]] result<bool> mark_delivered(const std::string& signer, const std::string& jti,
                                            const std::string& note_digest, std::chrono::system_clock::time_point at);
  /// Whether a message to `recipient` with this jti and digest was sent (a receipt for it is expected).
  [[nodiscard]] result<bool> was_sent(const std::string& recipient, const std::string& jti,
                                      const std::string& note_digest);
  [[nodiscard]] result<std::vector<sent_entry>> list_sent(const sent_filter& filter = {});
  [[nodiscard]] result<std::optional<sent_entry>> sent_by_id(std::int64_t id);
  /// Asks the running `run` to try again now (from another process, perhaps
  /// another container on the same volume): a row it polls. Fsynced.
  [[nodiscard]] result<void> request_retry();
  /// True once per request_retry(): the request is taken (removed).
  [[nodiscard]] result<bool> take_retry_request();

 private:
  explicit outbox(database db) : db_(std::move(db)) {}
  /// Inserts an outbox row (the caller holds the lock and a transaction); its id.
  [[nodiscard]] result<std::int64_t> insert_entry(const outbox_entry& entry);
  /// Deletes one entry inside the caller's transaction; failure not_found.
  [[nodiscard]] result<void> delete_entry(std::int64_t id);
  database db_;
  std::mutex mutex_;
};

}  // namespace danemq::store
