#pragma once
// The sender's outbox: encrypted messages waiting for a broker, kept in order
// on disk (libmosquitto keeps unacknowledged QoS 1 messages in memory only, so
// a restart would lose them). An entry is removed only after the broker's
// PUBACK for it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
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

  /// True when the entry was sealed longer than `horizon` (MESSAGE_MAX_AGE)
  /// before `now`: a receiver with that horizon would refuse it as too old.
  /// It stays in the outbox all the same (nothing is dropped unasked).
  [[nodiscard]] bool older_than(std::chrono::seconds horizon, std::chrono::system_clock::time_point now) const {
    return now - created_at > horizon;
  }
};

class outbox {
 public:
  /// The schema version this program writes (PRAGMA user_version).
  static constexpr int schema_version = 1;

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
  /// Up to `limit` oldest entries (0: all), in order.
  [[nodiscard]] result<std::vector<outbox_entry>> oldest(std::size_t limit = 0);
  /// Removes an entry once the broker acknowledged it; failure not_found.
  [[nodiscard]] result<void> remove(std::int64_t id);
  /// Counts one more publish attempt.
  [[nodiscard]] result<void> note_attempt(std::int64_t id, const std::string& error);
  [[nodiscard]] result<std::size_t> size();

 private:
  explicit outbox(database db) : db_(std::move(db)) {}
  database db_;
  std::mutex mutex_;
};

}  // namespace danemq::store
