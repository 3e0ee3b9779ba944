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
  std::string last_error{};  ///< why the last attempt failed; empty before the first
};

class outbox {
 public:
  /// The schema version this program writes (PRAGMA user_version).
  static constexpr int schema_version = 2;

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

  /// Asks the running `run` to try again now (from another process, perhaps
  /// another container on the same volume): a row it polls. Fsynced.
  [[nodiscard]] result<void> request_retry();
  /// True once per request_retry(): the request is taken (removed).
  [[nodiscard]] result<bool> take_retry_request();

 private:
  explicit outbox(database db) : db_(std::move(db)) {}
  database db_;
  std::mutex mutex_;
};

}  // namespace danemq::store
