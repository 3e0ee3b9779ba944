#pragma once
// The memory of messages already accepted, against replay, keyed by
// (sender, jti). open() consults it for each v2 message once the signature
// is verified. The receiver backs it with its SQLite store, so that it
// survives restarts, and records the entry in the same transaction as the
// accepted message (open_options::remember_in_open = false); the in-process
// version below serves tests and tools.

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "danemq/core/result.hpp"

namespace danemq::jose {

class replay_memory {
 public:
  enum class verdict {
    first_seen,   ///< not remembered: remembered now
    seen_before,  ///< remembered (expired or not): a replay, nothing changed
  };

  virtual ~replay_memory() = default;

  /// True when (sender, jti) is remembered, expired or not: an entry is
  /// dropped only when no copy could still be accepted, so while it exists a
  /// copy is a replay. `now` is the time the message is judged at. Any failure is reported by open() as
  /// errc::replay_memory_failed, a temporary error.
  [[nodiscard]] virtual result<bool> seen(std::string_view sender, std::string_view jti,
                                          std::chrono::system_clock::time_point now) = 0;

  /// Atomically: seen_before when (sender, jti) is remembered; otherwise
  /// remembers it until `forget_after` and answers first_seen. An entry is
  /// never overwritten. Equal jti values of different senders do not collide.
  /// Implementations stay bounded by dropping entries expired before `now`.
  /// Failures as for seen().
  [[nodiscard]] virtual result<verdict> remember(std::string_view sender, std::string_view jti,
                                                 std::chrono::system_clock::time_point now,
                                                 std::chrono::system_clock::time_point forget_after) = 0;
};

/// A replay memory in the process, bounded to `capacity` unexpired entries:
/// when full it refuses (a failure) rather than forget an entry early, which
/// would let that message be replayed. Thread-safe.
class in_memory_replay_memory final : public replay_memory {
 public:
  explicit in_memory_replay_memory(std::size_t capacity = 100'000) : capacity_(capacity) {}

  [[nodiscard]] result<bool> seen(std::string_view sender, std::string_view jti,
                                  std::chrono::system_clock::time_point now) override;
  [[nodiscard]] result<verdict> remember(std::string_view sender, std::string_view jti,
                                         std::chrono::system_clock::time_point now,
                                         std::chrono::system_clock::time_point forget_after) override;

  /// Entries held (expired ones included until the memory is next full).
  [[nodiscard]] std::size_t size() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  /// (sender, jti) -> forget after; guarded by mutex_.
  std::map<std::pair<std::string, std::string>, std::chrono::system_clock::time_point, std::less<>> entries_;
};

}  // namespace danemq::jose
