#include "danemq/store/outcome_tables.hpp"

#include "quarantine_rows.hpp"

#include <algorithm>

namespace danemq::store {
namespace {

std::optional<std::int64_t> since_millis(const listing_filter& filter) {
  if (!filter.since) return std::nullopt;
  return to_millis(*filter.since);
}

std::int64_t limit_of(const listing_filter& filter) {
  return filter.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(filter.limit);
}

}  // namespace

refusal refusal::of(const failure& reason) {
  return refusal{reason.code.category().name(), reason.code.value(), reason.message()};
}

std::string refusal::line() const {
  return category + ":" + std::to_string(value) + " " + text;
}

result<std::vector<inbox_entry>> outcome_tables::list_inbox(const listing_filter& filter) {
  auto db = db_.lock();
  std::vector<inbox_entry> out;
  auto known = db->has_table("inbox");
  if (!known) return known.error();
  if (!*known) return out;
  auto stmt = db->prepare(
      "SELECT * FROM (SELECT id, raw_id, sender, recipient, received_at, issued_at, jti, message, dnssec_secure, "
      "legacy FROM inbox WHERE (?1 IS NULL OR received_at >= ?1) AND (?2 IS NULL OR sender = ?2) AND "
      "(?4 IS NULL OR id > ?4) AND (?5 IS NULL OR id <= ?5) ORDER BY received_at DESC, raw_id DESC LIMIT ?3) "
      "ORDER BY received_at, raw_id");
  if (!stmt) return stmt.error();
  stmt->bind(1, since_millis(filter)).bind(2, filter.from).bind(3, limit_of(filter));
  stmt->bind(4, filter.after_id).bind(5, filter.up_to_id);
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    inbox_entry entry;
    entry.id = stmt->column_int64(0);
    entry.raw_id = stmt->column_int64(1);
    entry.sender = stmt->column_text(2);
    entry.recipient = stmt->column_text(3);
    entry.received_at = from_millis(stmt->column_int64(4));
    entry.issued_at = stmt->column_optional_int64(5);
    entry.jti = stmt->column_optional_text(6);
    entry.message = stmt->column_text(7);
    entry.dnssec_secure = stmt->column_int64(8) != 0;
    entry.legacy = stmt->column_int64(9) != 0;
    out.push_back(std::move(entry));
  }
  return out;
}

result<std::int64_t> outcome_tables::last_inbox_id() {
  auto db = db_.lock();
  auto known = db->has_table("inbox");
  if (!known) return known.error();
  if (!*known) return std::int64_t{0};
  auto stmt = db->prepare("SELECT coalesce(max(id), 0) FROM inbox");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? stmt->column_int64(0) : std::int64_t{0};
}

result<std::vector<quarantine_entry>> outcome_tables::list_quarantine(const listing_filter& filter) {
  auto db = db_.lock();
  std::vector<quarantine_entry> out;
  auto known = db->has_table("quarantine");
  if (!known) return known.error();
  if (!*known) return out;
  auto stmt = db->prepare("SELECT * FROM (SELECT " + std::string(detail::quarantine_columns) +
                          " FROM quarantine WHERE (?1 IS NULL OR received_at >= ?1) ORDER BY raw_id DESC LIMIT ?2) "
                          "ORDER BY raw_id");
  if (!stmt) return stmt.error();
  stmt->bind(1, since_millis(filter)).bind(2, limit_of(filter));
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    auto entry = detail::read_quarantine_row(*stmt);
    out.push_back(std::move(entry));
  }
  return out;
}

result<std::int64_t> outcome_tables::add_to_inbox(locked_database& db, const inbox_entry& entry,
                                                  clock::time_point processed_at) {
  auto insert = db->prepare(
      "INSERT INTO inbox (raw_id, sender, recipient, received_at, processed_at, issued_at, jti, message, "
      "dnssec_secure, legacy) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!insert) return insert.error();
  insert->bind(1, entry.raw_id).bind(2, std::string_view(entry.sender)).bind(3, std::string_view(entry.recipient));
  insert->bind(4, to_millis(entry.received_at)).bind(5, to_millis(processed_at));
  insert->bind(6, entry.issued_at).bind(7, entry.jti).bind(8, std::string_view(entry.message));
  insert->bind(9, std::int64_t{entry.dnssec_secure ? 1 : 0}).bind(10, std::int64_t{entry.legacy ? 1 : 0});
  if (auto done = insert->run(); !done) return done.error();
  return db->last_insert_rowid();
}

result<std::int64_t> outcome_tables::add_to_quarantine(locked_database& db, const pending_message& raw,
                                                       const refusal& reason, clock::time_point quarantined_at) {
  auto insert = db->prepare(
      "INSERT INTO quarantine (raw_id, topic, payload, received_at, quarantined_at, reason_category, reason_value, "
      "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!insert) return insert.error();
  insert->bind(1, raw.raw_id).bind(2, std::string_view(raw.topic)).bind_blob(3, raw.payload);
  insert->bind(4, to_millis(raw.received_at)).bind(5, to_millis(quarantined_at));
  insert->bind(6, std::string_view(reason.category)).bind(7, std::int64_t{reason.value});
  insert->bind(8, std::string_view(reason.text));
  if (auto done = insert->run(); !done) return done.error();
  return db->last_insert_rowid();
}

result<std::uint64_t> outcome_tables::quarantine_bytes() {
  auto db = db_.lock();
  auto stmt = db->prepare("SELECT bytes FROM quarantine_size WHERE id = 1");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? static_cast<std::uint64_t>(std::max<std::int64_t>(stmt->column_int64(0), 0)) : std::uint64_t{0};
}

result<std::vector<quarantine_removal>> outcome_tables::trim_quarantine(const quarantine_limits& limits,
                                                                        clock::time_point now) {
  auto db = db_.lock();
  std::vector<quarantine_removal> removed;
  // The common case, a quarantine within its bounds, costs two reads and no write.
  auto oldest = db->prepare(
      "SELECT q.id, q.raw_id, q.received_at, "
      "length(q.payload) + 2 * (length(CAST(q.topic AS BLOB)) + length(CAST(q.reason AS BLOB))) + ?1 "
      "FROM quarantine q ORDER BY q.received_at, q.id LIMIT 1");
  auto size = db->prepare("SELECT bytes FROM quarantine_size WHERE id = 1");
  if (!oldest) return oldest.error();
  if (!size) return size.error();
  // A plain value and a flag: g++ 12 -O2 warns of an optional read here.
  const bool age_bound = limits.max_age.count() > 0;
  const std::int64_t cutoff = age_bound ? to_millis(now - limits.max_age) : 0;
  auto tx = std::optional<transaction>();
  auto remove = std::optional<statement>();
  auto forget = std::optional<statement>();
  for (;;) {
    oldest->reset();
    oldest->bind(1, static_cast<std::int64_t>(quarantine_row_allowance));
    auto row = oldest->step();
    if (!row) return row.error();
    if (!*row) break;
    const quarantine_removal candidate{oldest->column_int64(1), from_millis(oldest->column_int64(2)),
                                       static_cast<std::uint64_t>(oldest->column_int64(3)),
                                       age_bound && oldest->column_int64(2) < cutoff};
    const auto id = oldest->column_int64(0);
    oldest->reset();  // no read left open when the write transaction begins
    if (!candidate.too_old) {
      if (limits.max_bytes == 0) break;
      size->reset();
      auto counted = size->step();
      if (!counted) return counted.error();
      const auto bytes = *counted ? static_cast<std::uint64_t>(std::max<std::int64_t>(size->column_int64(0), 0)) : 0;
      size->reset();
      if (bytes <= limits.max_bytes) break;
    }
    if (!tx) {
      auto begun = transaction::begin(*db, durability::normal);
      if (!begun) return begun.error();
      tx.emplace(std::move(*begun));
      auto prepared_remove = db->prepare("DELETE FROM quarantine WHERE id = ?1");
      if (!prepared_remove) return prepared_remove.error();
      remove.emplace(std::move(*prepared_remove));
      // The digest goes too, except the newest raw row's: SQLite gives a new
      // row max(id) + 1, and the pipeline takes ids above the last it saw as new.
      auto prepared_forget = db->prepare(
          "DELETE FROM raw_messages WHERE id = ?1 AND state != 0 AND id < (SELECT max(id) FROM raw_messages)");
      if (!prepared_forget) return prepared_forget.error();
      forget.emplace(std::move(*prepared_forget));
    }
    remove->reset();
    if (auto done = remove->bind(1, id).run(); !done) return done.error();
    forget->reset();
    if (auto done = forget->bind(1, candidate.raw_id).run(); !done) return done.error();
    removed.push_back(candidate);
  }
  if (tx) {
    if (auto committed = tx->commit(); !committed) return committed.error();
  }
  return removed;
}

}  // namespace danemq::store
