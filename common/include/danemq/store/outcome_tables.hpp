#pragma once
// Where a processed message ends: the inbox (accepted, with what its
// signature proved) or the quarantine (refused, with its raw bytes and the
// typed reason), and their listings for the `inbox` and `quarantine` commands.
// Rows are added by message_store::record, in the transaction that takes the
// message out of the raw queue.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/store/raw_queue.hpp"
#include "danemq/store/shared_database.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

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

/// How long and how much the quarantine keeps (QUARANTINE_MAX_AGE,
/// QUARANTINE_MAX_BYTES); 0: no bound.
struct quarantine_limits {
  std::chrono::milliseconds max_age{0};
  std::uint64_t max_bytes{0};
};

/// A quarantine row removed by retention.
struct quarantine_removal {
  std::int64_t raw_id{};
  clock::time_point received_at{};
  std::uint64_t bytes{0};  ///< as counted against max_bytes
  bool too_old{false};     ///< false: removed for room
};

/// Bytes one quarantine row counts against QUARANTINE_MAX_BYTES: its payload,
/// its topic and reason twice (the raw row keeps them too) and an allowance for
/// the rows, the digest and the indexes.
inline constexpr std::uint64_t quarantine_row_allowance = 128;

/// Selects rows for the listing commands.
struct listing_filter {
  std::optional<clock::time_point> since{};  ///< received at or after
  std::optional<std::string> from{};         ///< sender (inbox only)
  std::size_t limit{0};                      ///< 0: no limit; else the newest `limit`, oldest first
  std::optional<std::int64_t> after_id{};    ///< inbox only: rows with a larger id (added later)
  std::optional<std::int64_t> up_to_id{};    ///< inbox only: rows with this id or a smaller one
};

class outcome_tables {
 public:
  explicit outcome_tables(shared_database& db) : db_(db) {}

  /// Inbox rows in arrival order: by arrival time, then arrival sequence (raw
  /// id) among messages stored together (none from a database the daemon never wrote).
  [[nodiscard]] result<std::vector<inbox_entry>> list_inbox(const listing_filter& filter = {});
  /// The largest inbox id (0 when the inbox is empty): ids only grow, so rows
  /// with a larger one were added since (what `inbox --follow` prints).
  [[nodiscard]] result<std::int64_t> last_inbox_id();
  /// Quarantine rows in arrival order (`from` is ignored: a refused message has no verified sender).
  [[nodiscard]] result<std::vector<quarantine_entry>> list_quarantine(const listing_filter& filter = {});
  /// Bytes the quarantine counts against QUARANTINE_MAX_BYTES.
  [[nodiscard]] result<std::uint64_t> quarantine_bytes();

  /// Removes, oldest first, the quarantine rows received before now - max_age
  /// and then as many as bring it within max_bytes, each with its raw row
  /// (its digest) unless that row is the newest (so that raw ids never come
  /// back); returns what it removed. One transaction.
  [[nodiscard]] result<std::vector<quarantine_removal>> trim_quarantine(const quarantine_limits& limits,
                                                                        clock::time_point now);

  // Inside the caller's transaction, with its lock:

  /// Adds an inbox row processed at `processed_at`; returns its id.
  [[nodiscard]] result<std::int64_t> add_to_inbox(locked_database& db, const inbox_entry& entry,
                                                  clock::time_point processed_at);
  /// Adds a quarantine row with the raw message's bytes; returns its id.
  [[nodiscard]] result<std::int64_t> add_to_quarantine(locked_database& db, const pending_message& raw,
                                                       const refusal& reason, clock::time_point quarantined_at);

 private:
  shared_database& db_;
};

}  // namespace danemq::store
