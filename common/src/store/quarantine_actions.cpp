#include "danemq/store/quarantine_actions.hpp"

#include "danemq/store/errors.hpp"
#include "quarantine_rows.hpp"

namespace danemq::store {

result<std::optional<quarantine_entry>> quarantine_actions::find(std::int64_t id) {
  auto db = db_.lock();
  auto stmt = db->prepare("SELECT " + std::string(detail::quarantine_columns) + " FROM quarantine WHERE id = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<quarantine_entry>{};
  return std::optional<quarantine_entry>{detail::read_quarantine_row(*stmt)};
}

result<void> quarantine_actions::release(std::int64_t id, clock::time_point now) {
  auto db = db_.lock();
  auto tx = transaction::begin(*db, durability::full);
  if (!tx) return tx.error();
  // The payload moves back to the raw row, which becomes pending (state 0)
  // with no attempts: the daemon decides it again from the start.
  auto pending = db->prepare(
      "UPDATE raw_messages SET state = 0, attempts = 0, next_attempt_at = ?2, first_failure_at = NULL, "
      "last_error = NULL, payload = (SELECT payload FROM quarantine WHERE id = ?1) "
      "WHERE id = (SELECT raw_id FROM quarantine WHERE id = ?1)");
  if (!pending) return pending.error();
  pending->bind(1, id).bind(2, to_millis(now));
  if (auto done = pending->run(); !done) return done.error();
  if (db->changes() != 1) return fail(errc::not_found, "quarantine entry #" + std::to_string(id));
  auto remove = db->prepare("DELETE FROM quarantine WHERE id = ?1");
  if (!remove) return remove.error();
  if (auto done = remove->bind(1, id).run(); !done) return done.error();
  return tx->commit();
}

result<std::vector<std::int64_t>> quarantine_actions::purge(std::span<const std::int64_t> ids) {
  auto db = db_.lock();
  auto tx = transaction::begin(*db, durability::full);
  if (!tx) return tx.error();
  std::vector<std::int64_t> missing;
  for (const auto id : ids) {
    auto remove = db->prepare("DELETE FROM quarantine WHERE id = ?1");
    if (!remove) return remove.error();
    if (auto done = remove->bind(1, id).run(); !done) return done.error();
    if (db->changes() != 1) missing.push_back(id);
  }
  if (auto committed = tx->commit(); !committed) return committed.error();
  return missing;
}

result<std::size_t> quarantine_actions::purge_before(clock::time_point before) {
  auto db = db_.lock();
  auto tx = transaction::begin(*db, durability::full);
  if (!tx) return tx.error();
  auto remove = db->prepare("DELETE FROM quarantine WHERE received_at < ?1");
  if (!remove) return remove.error();
  if (auto done = remove->bind(1, to_millis(before)).run(); !done) return done.error();
  const auto removed = static_cast<std::size_t>(db->changes());
  if (auto committed = tx->commit(); !committed) return committed.error();
  return removed;
}

}  // namespace danemq::store
