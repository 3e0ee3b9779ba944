#pragma once
// The replay memory kept in the receiver's database: the (sender, jti) pairs
// of accepted messages until they expire, so that a copy of a message is
// refused also after a restart. Bounded: expired pairs are dropped when room
// is needed, and a table full of live pairs refuses rather than forget one.
// The number of rows is kept by triggers in the same transactions that add
// and remove them, so it cannot drift from the table.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/store/shared_database.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

/// One (sender, jti) pair remembered until `expires_at`.
struct replay_entry {
  std::string sender;
  std::string jti;
  clock::time_point expires_at{};
};

class replay_table {
 public:
  /// At most `capacity` pairs, expired ones included until they are purged.
  replay_table(shared_database& db, std::size_t capacity) : db_(db), capacity_(capacity) {}

  /// True when (sender, jti) is remembered and not expired at `now`.
  [[nodiscard]] result<bool> contains(std::string_view sender, std::string_view jti, clock::time_point now);
  /// Remembers pairs in a transaction of their own (for a caller outside
  /// message_store::record). Failure conflict (a pair is remembered and live;
  /// nothing is remembered), full, and the database's.
  [[nodiscard]] result<void> remember(std::span<const replay_entry> entries, clock::time_point now);
  /// Forgets the pairs expired at `now`; returns how many.
  [[nodiscard]] result<std::size_t> purge(clock::time_point now);
  /// Number of remembered pairs (expired or not).
  [[nodiscard]] result<std::size_t> size();

  // Inside the caller's transaction, with its lock:

  /// Remembers pairs, overwriting expired ones, purging expired pairs first
  /// when the table would exceed its capacity. Failure conflict, full.
  [[nodiscard]] result<void> add(locked_database& db, std::span<const replay_entry> entries, clock::time_point now);

 private:
  shared_database& db_;
  std::size_t capacity_;
};

}  // namespace danemq::store
