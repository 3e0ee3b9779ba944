#include "danemq/store/inbox_follower.hpp"

namespace danemq::store {

inbox_follower::inbox_follower(std::filesystem::path path, listing_filter filter)
    : path_(std::move(path)), filter_(std::move(filter)) {}

result<std::vector<inbox_entry>> inbox_follower::poll() {
  if (!db_) {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) {
      // Not there yet: once it is, everything in it is new.
      if (!last_id_) last_id_ = 0;
      return std::vector<inbox_entry>{};
    }
    auto opened = message_store::open(path_, open_options{.read_only = true});
    if (!opened) return opened.error();
    db_.emplace(std::move(*opened));
  }
  // Each listing stops at the last id seen before it, so that a row added
  // meanwhile is printed once, by the next poll (and a row of another sender
  // is not read again).
  auto last = db_->outcomes().last_inbox_id();
  if (!last) return last.error();
  auto selected = filter_;
  if (last_id_) {
    selected.limit = 0;
    selected.after_id = *last_id_;
  }
  selected.up_to_id = *last;
  auto rows = db_->outcomes().list_inbox(selected);
  if (!rows) return rows.error();
  last_id_ = *last;
  return rows;
}

}  // namespace danemq::store
