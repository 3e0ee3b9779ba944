#pragma once
// Follows the inbox of a receiver database that the receiver daemon (another
// process) writes: `danemq-receiver inbox --follow` and `danemq-sender chat`
// read it like `tail -f` reads a file. The database is opened read-only once
// it exists; each poll is one short read transaction (WAL: the daemon is never
// blocked), and inbox ids only grow, so "added since" is "a larger id".

#include <filesystem>
#include <optional>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/store/message_store.hpp"
#include "danemq/store/outcome_tables.hpp"

namespace danemq::store {

class inbox_follower {
 public:
  /// Follows the database at `path` (DATA_PATH/receiver.db), the rows `filter` selects.
  inbox_follower(std::filesystem::path path, listing_filter filter);

  /// The first call: the rows the filter selects now (nothing while the
  /// database does not exist); each later call: the rows added since the
  /// previous call that match `from` and `since` (the limit is for the first
  /// listing only). Failure: the database cannot be opened or read.
  [[nodiscard]] result<std::vector<inbox_entry>> poll();
  /// Whether the database existed at the last poll.
  [[nodiscard]] bool found() const noexcept { return db_.has_value(); }

 private:
  std::filesystem::path path_;
  listing_filter filter_;
  std::optional<message_store> db_;
  std::optional<std::int64_t> last_id_;  ///< unset before the first listing
};

}  // namespace danemq::store
