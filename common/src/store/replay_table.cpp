#include "danemq/store/replay_table.hpp"

namespace danemq::store {
namespace {

/// The row count the triggers keep (see message_store.cpp, schema version 2).
result<std::size_t> row_count(database& db) {
  auto stmt = db.prepare("SELECT entries FROM replay_count WHERE id = 1");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return fail(errc::statement_failed, "replay_count has no row");
  return static_cast<std::size_t>(stmt->column_int64(0));
}

/// The entries of one sender the triggers count (schema version 3).
result<std::size_t> sender_count(database& db, std::string_view sender) {
  auto stmt = db.prepare("SELECT entries FROM replay_sender_count WHERE sender = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, sender);
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? static_cast<std::size_t>(stmt->column_int64(0)) : std::size_t{0};
}

/// Drops the entries no message still to be judged can collide with: those
/// expired before the earlier of `now` and the arrival of the oldest pending
/// message (a copy that arrived in time but waits behind a DNS deferral, a
/// backlog or a restart is judged as of its arrival), less `margin`.
result<std::size_t> delete_expired(database& db, clock::time_point now, std::chrono::milliseconds margin) {
  auto oldest = db.prepare("SELECT min(received_at) FROM raw_messages WHERE state = 0");
  if (!oldest) return oldest.error();
  auto row = oldest->step();
  if (!row) return row.error();
  std::int64_t cutoff = to_millis(now);
  if (*row && !oldest->column_is_null(0)) cutoff = std::min(cutoff, oldest->column_int64(0));
  cutoff -= margin.count();
  auto purge = db.prepare("DELETE FROM replay WHERE expires_at < ?1");
  if (!purge) return purge.error();
  if (auto purged = purge->bind(1, cutoff).run(); !purged) return purged.error();
  return static_cast<std::size_t>(db.changes());
}

}  // namespace

result<bool> replay_table::contains(std::string_view sender, std::string_view jti, clock::time_point now) {
  auto db = db_.lock();
  static_cast<void>(now);  // kept means live: entries are purged only when no copy can be accepted
  auto stmt = db->prepare("SELECT 1 FROM replay WHERE sender = ?1 AND jti = ?2");
  if (!stmt) return stmt.error();
  stmt->bind(1, sender).bind(2, jti);
  return stmt->step();
}

result<void> replay_table::remember(std::span<const replay_entry> entries, clock::time_point now) {
  auto db = db_.lock();
  auto tx = transaction::begin(*db, durability::normal);
  if (!tx) return tx.error();
  if (auto added = add(db, entries, now); !added) return added.error();
  return tx->commit();
}

result<std::size_t> replay_table::purge(clock::time_point now) {
  auto db = db_.lock();
  if (auto set = db->set_durability(durability::normal); !set) return set.error();
  return delete_expired(*db, now, purge_margin_);
}

result<std::size_t> replay_table::size() {
  auto db = db_.lock();
  return row_count(*db);
}

result<void> replay_table::add(locked_database& db, std::span<const replay_entry> entries, clock::time_point now) {
  if (entries.empty()) return ok();
  auto size = row_count(*db);
  if (!size) return size.error();
  if (*size + entries.size() > capacity_) {
    auto purged = delete_expired(*db, now, purge_margin_);
    if (!purged) return purged.error();
    size = row_count(*db);
    if (!size) return size.error();
    if (*size + entries.size() > capacity_) {
      return fail(errc::full, "replay memory holds " + std::to_string(*size) + " unexpired entries (limit " +
                                  std::to_string(capacity_) + ")");
    }
  }
  if (per_sender_ != 0) {
    bool purged = false;
    for (const auto& entry : entries) {
      auto held = sender_count(*db, entry.sender);
      if (!held) return held.error();
      if (*held < per_sender_) continue;
      if (!purged) {
        if (auto dropped = delete_expired(*db, now, purge_margin_); !dropped) return dropped.error();
        purged = true;
        held = sender_count(*db, entry.sender);
        if (!held) return held.error();
        if (*held < per_sender_) continue;
      }
      return fail(errc::over_quota, entry.sender + " holds " + std::to_string(*held) +
                                        " replay entries (REPLAY_MEMORY_PER_SENDER " + std::to_string(per_sender_) +
                                        ")");
    }
  }
  // Never overwritten, expired or not: while the entry exists a second
  // accept of the pair is a replay.
  auto insert = db->prepare(
      "INSERT INTO replay (sender, jti, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (sender, jti) DO NOTHING");
  if (!insert) return insert.error();
  for (const auto& entry : entries) {
    insert->reset();
    insert->bind(1, std::string_view(entry.sender)).bind(2, std::string_view(entry.jti));
    insert->bind(3, to_millis(entry.expires_at));
    if (auto done = insert->run(); !done) return done.error();
    if (db->changes() != 1) return fail(errc::conflict, "(" + entry.sender + ", " + entry.jti + ") already remembered");
  }
  return ok();
}

}  // namespace danemq::store
