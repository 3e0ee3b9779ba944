#pragma once
// The replay memory kept in the receiver's database: the (sender, jti) pairs
// of accepted messages, so that a copy of a message is refused also after a
// restart. A pair is never overwritten, and dropped only once no copy could
// still be accepted: expired before both now and the arrival of the oldest
// message still pending, less the clock-skew allowance. Bounded: such pairs
// are dropped when room is needed, and a table full of pairs that still
// matter refuses rather than forget one.
// The number of rows is kept by triggers in the same transactions that add
// and remove them, so it cannot drift from the table.

#include <chrono>
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
  /// At most `capacity` pairs, expired ones included until they are purged;
  /// `purge_margin` (the clock-skew allowance) is kept beyond the expiry.
  /// One sender holds at most `per_sender` of them (0: no share).
  replay_table(shared_database& db, std::size_t capacity,
               std::chrono::milliseconds purge_margin = std::chrono::seconds(60), std::size_t per_sender = 0)
      : db_(db), capacity_(capacity), purge_margin_(purge_margin), per_sender_(per_sender) {}

  /// True when (sender, jti) is remembered, expired or not (`now` is unused:
  /// what is kept still matters).
  [[nodiscard]] result<bool> contains(std::string_view sender, std::string_view jti, clock::time_point now);
  /// Remembers pairs in a transaction of their own (for a caller outside
  /// message_store::record). Failure conflict (a pair is remembered and live;
  /// nothing is remembered), full, and the database's.
  [[nodiscard]] result<void> remember(std::span<const replay_entry> entries, clock::time_point now);
  /// Forgets the pairs no message still to be judged can collide with
  /// (expired before the earlier of `now` and the oldest pending message's
  /// arrival, less the margin); returns how many.
  [[nodiscard]] result<std::size_t> purge(clock::time_point now);
  /// Number of remembered pairs (expired or not).
  [[nodiscard]] result<std::size_t> size();

  // Inside the caller's transaction, with its lock:

  /// Remembers pairs, never overwriting one (conflict), purging the pairs
  /// that no longer matter first when the table would exceed its capacity
  /// (full when that is not enough; over_quota when the sender's share is
  /// used up).
  [[nodiscard]] result<void> add(locked_database& db, std::span<const replay_entry> entries, clock::time_point now);

 private:
  shared_database& db_;
  std::size_t capacity_;
  std::chrono::milliseconds purge_margin_;
  std::size_t per_sender_;
};

}  // namespace danemq::store
