#include "danemq/store/outcome_tables.hpp"

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
      "SELECT id, raw_id, sender, recipient, received_at, issued_at, jti, message, dnssec_secure, legacy FROM inbox "
      "WHERE (?1 IS NULL OR received_at >= ?1) AND (?2 IS NULL OR sender = ?2) ORDER BY received_at, raw_id LIMIT ?3");
  if (!stmt) return stmt.error();
  stmt->bind(1, since_millis(filter)).bind(2, filter.from).bind(3, limit_of(filter));
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

result<std::vector<quarantine_entry>> outcome_tables::list_quarantine(const listing_filter& filter) {
  auto db = db_.lock();
  std::vector<quarantine_entry> out;
  auto known = db->has_table("quarantine");
  if (!known) return known.error();
  if (!*known) return out;
  auto stmt = db->prepare(
      "SELECT id, raw_id, topic, payload, received_at, quarantined_at, reason_category, reason_value, reason "
      "FROM quarantine WHERE (?1 IS NULL OR received_at >= ?1) ORDER BY raw_id LIMIT ?2");
  if (!stmt) return stmt.error();
  stmt->bind(1, since_millis(filter)).bind(2, limit_of(filter));
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    quarantine_entry entry;
    entry.id = stmt->column_int64(0);
    entry.raw_id = stmt->column_int64(1);
    entry.topic = stmt->column_text(2);
    entry.payload = stmt->column_blob(3);
    entry.received_at = from_millis(stmt->column_int64(4));
    entry.quarantined_at = from_millis(stmt->column_int64(5));
    entry.reason.category = stmt->column_text(6);
    entry.reason.value = static_cast<int>(stmt->column_int64(7));
    entry.reason.text = stmt->column_text(8);
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

}  // namespace danemq::store
