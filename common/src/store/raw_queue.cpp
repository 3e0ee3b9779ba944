#include "danemq/store/raw_queue.hpp"

#include <algorithm>

#include "danemq/crypto/openssl.hpp"

namespace danemq::store {
namespace {

bytes digest_of(const incoming_message& message) {
  if (message.refused) return message.refused->digest;
  const std::uint8_t separator = 0;
  return crypto::sha256_of_parts({{reinterpret_cast<const std::uint8_t*>(message.topic.data()), message.topic.size()},
                                  {&separator, 1},
                                  message.payload});
}

/// Stores a message refused on arrival: a raw row already out of the queue
/// (its digest, no payload) and its quarantine row without payload. Returns
/// the raw row and whether it is a copy of one stored before.
result<raw_outcome> store_refused(database& db, const incoming_message& message) {
  const auto& refused = *message.refused;
  auto insert = db.prepare(
      "INSERT INTO raw_messages (digest, topic, payload, received_at, next_attempt_at, state, last_error) "
      "VALUES (?1, ?2, NULL, ?3, ?3, ?4, ?5) "
      "ON CONFLICT (digest) DO UPDATE SET copies = copies + 1 RETURNING id, copies");
  if (!insert) return insert.error();
  insert->bind_blob(1, refused.digest).bind(2, std::string_view(message.topic));
  insert->bind(3, to_millis(message.received_at)).bind(4, static_cast<std::int64_t>(raw_fate::quarantined));
  insert->bind(5, refused.reason.line());
  auto row = insert->step();
  if (!row) return row.error();
  if (!*row) return fail(errc::statement_failed, "storing a refused message returned no row");
  const raw_outcome outcome{insert->column_int64(0), insert->column_int64(1) > 1, true};
  if (auto done = insert->step(); !done) return done.error();
  if (outcome.duplicate) return outcome;
  auto quarantine = db.prepare(
      "INSERT INTO quarantine (raw_id, topic, payload, received_at, quarantined_at, reason_category, reason_value, "
      "reason) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)");
  if (!quarantine) return quarantine.error();
  quarantine->bind(1, outcome.raw_id).bind(2, std::string_view(message.topic)).bind_blob(3, bytes{});
  quarantine->bind(4, to_millis(message.received_at)).bind(5, std::string_view(refused.reason.category));
  quarantine->bind(6, std::int64_t{refused.reason.value}).bind(7, std::string_view(refused.reason.text));
  if (auto done = quarantine->run(); !done) return done.error();
  return outcome;
}

constexpr std::string_view pending_columns =
    "id, topic, payload, received_at, attempts, first_failure_at, processing_started";

/// Reads the pending_columns.
pending_message pending_from(const statement& row) {
  pending_message message;
  message.raw_id = row.column_int64(0);
  message.topic = row.column_text(1);
  message.payload = row.column_blob(2);
  message.received_at = from_millis(row.column_int64(3));
  message.attempts = static_cast<int>(row.column_int64(4));
  if (auto first = row.column_optional_int64(5)) message.first_failure_at = from_millis(*first);
  message.unfinished = static_cast<int>(row.column_int64(6));
  return message;
}

result<std::size_t> count(database& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<std::size_t>(stmt->column_int64(0));
}

failure not_pending(std::int64_t raw_id) {
  return fail(errc::not_found, "raw message " + std::to_string(raw_id) + " is not pending");
}

}  // namespace

result<std::vector<raw_outcome>> raw_queue::store_raw(std::span<const incoming_message> messages) {
  auto db = db_.lock();
  std::vector<raw_outcome> outcomes;
  outcomes.reserve(messages.size());
  auto tx = transaction::begin(*db, durability::full);
  if (!tx) return tx.error();
  auto insert = db->prepare(
      "INSERT INTO raw_messages (digest, topic, payload, received_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?4) "
      "ON CONFLICT (digest) DO UPDATE SET copies = copies + 1 RETURNING id, copies");
  if (!insert) return insert.error();
  for (const auto& message : messages) {
    if (message.refused) {
      auto refused = store_refused(*db, message);
      if (!refused) return refused.error();
      outcomes.push_back(*refused);
      continue;
    }
    insert->reset();
    const auto digest = digest_of(message);
    insert->bind_blob(1, digest).bind(2, std::string_view(message.topic)).bind_blob(3, message.payload);
    insert->bind(4, to_millis(message.received_at));
    auto row = insert->step();
    if (!row) return row.error();
    if (!*row) return fail(errc::statement_failed, "storing a raw message returned no row");
    outcomes.push_back(raw_outcome{insert->column_int64(0), insert->column_int64(1) > 1});
    if (auto done = insert->step(); !done) return done.error();
  }
  if (auto committed = tx->commit(); !committed) return committed.error();
  return outcomes;
}

result<std::vector<pending_message>> raw_queue::due_pending(clock::time_point now, std::size_t limit,
                                                            std::span<const std::int64_t> exclude,
                                                            std::int64_t up_to_id) {
  auto db = db_.lock();
  std::vector<pending_message> out;
  if (limit == 0) return out;
  // Ordered by id (arrival) among the due ones, so that a restart processes the
  // backlog in the order the broker delivered it.
  auto stmt = db->prepare("SELECT " + std::string(pending_columns) +
                          " FROM raw_messages WHERE state = 0 AND next_attempt_at <= ?1 AND id <= ?3 "
                          "ORDER BY id LIMIT ?2");
  if (!stmt) return stmt.error();
  stmt->bind(1, to_millis(now)).bind(2, static_cast<std::int64_t>(limit + exclude.size())).bind(3, up_to_id);
  while (out.size() < limit) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    if (std::binary_search(exclude.begin(), exclude.end(), stmt->column_int64(0))) continue;
    out.push_back(pending_from(*stmt));
  }
  return out;
}

result<std::vector<pending_message>> raw_queue::pending_after(std::int64_t after_id, clock::time_point now,
                                                              std::size_t limit) {
  auto db = db_.lock();
  std::vector<pending_message> out;
  if (limit == 0) return out;
  auto stmt = db->prepare("SELECT " + std::string(pending_columns) +
                          " FROM raw_messages WHERE id > ?1 AND state = 0 AND next_attempt_at <= ?2 "
                          "ORDER BY id LIMIT ?3");
  if (!stmt) return stmt.error();
  stmt->bind(1, after_id).bind(2, to_millis(now)).bind(3, static_cast<std::int64_t>(limit));
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(pending_from(*stmt));
  }
  return out;
}

result<std::optional<clock::time_point>> raw_queue::next_due(clock::time_point after) {
  auto db = db_.lock();
  auto stmt = db->prepare("SELECT min(next_attempt_at) FROM raw_messages WHERE state = 0 AND next_attempt_at > ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, to_millis(after));
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row || stmt->column_is_null(0)) return std::optional<clock::time_point>{};
  return std::optional<clock::time_point>{from_millis(stmt->column_int64(0))};
}

result<std::size_t> raw_queue::pending_count() {
  auto db = db_.lock();
  return count(*db, "SELECT count(*) FROM raw_messages WHERE state = 0");
}

result<std::size_t> raw_queue::untried_count() {
  auto db = db_.lock();
  return count(*db, "SELECT count(*) FROM raw_messages WHERE state = 0 AND attempts = 0");
}

result<int> raw_queue::begin_processing(std::int64_t raw_id) {
  auto db = db_.lock();
  // Not fsynced: a commit in the write-ahead log outlives the process, which
  // is what a crash loop kills.
  auto tx = transaction::begin(*db, durability::normal);
  if (!tx) return tx.error();
  auto mark = db->prepare(
      "UPDATE raw_messages SET processing_started = processing_started + 1 WHERE id = ?1 AND state = 0 "
      "RETURNING processing_started");
  if (!mark) return mark.error();
  auto row = mark->bind(1, raw_id).step();
  if (!row) return row.error();
  if (!*row) return not_pending(raw_id);
  const auto earlier = static_cast<int>(mark->column_int64(0)) - 1;
  if (auto done = mark->step(); !done) return done.error();
  if (auto committed = tx->commit(); !committed) return committed.error();
  return earlier;
}

result<void> raw_queue::begin_processing_all(std::span<const std::int64_t> raw_ids) {
  return update_each(raw_ids,
                     "UPDATE raw_messages SET processing_started = processing_started + 1 WHERE id = ?1 AND state = 0");
}

result<void> raw_queue::abandon_processing(std::int64_t raw_id) {
  return abandon_processing_all(std::span<const std::int64_t>(&raw_id, 1));
}

result<void> raw_queue::abandon_processing_all(std::span<const std::int64_t> raw_ids) {
  return update_each(
      raw_ids,
      "UPDATE raw_messages SET processing_started = max(processing_started - 1, 0) WHERE id = ?1 AND state = 0");
}

result<void> raw_queue::update_each(std::span<const std::int64_t> raw_ids, std::string_view sql) {
  if (raw_ids.empty()) return ok();
  auto db = db_.lock();
  // Not fsynced, as begin_processing.
  auto tx = transaction::begin(*db, durability::normal);
  if (!tx) return tx.error();
  auto update = db->prepare(sql);
  if (!update) return update.error();
  for (const auto raw_id : raw_ids) {
    update->reset();
    if (auto done = update->bind(1, raw_id).run(); !done) return done.error();
  }
  return tx->commit();
}

result<std::size_t> raw_queue::restamp_untried(clock::time_point at) {
  auto db = db_.lock();
  auto update =
      db->prepare("UPDATE raw_messages SET received_at = ?1, next_attempt_at = ?1 WHERE state = 0 AND attempts = 0");
  if (!update) return update.error();
  update->bind(1, to_millis(at));
  if (auto done = update->run(); !done) return done.error();
  return static_cast<std::size_t>(db->changes());
}

result<pending_message> raw_queue::pending(locked_database& db, std::int64_t raw_id) {
  auto stmt = db->prepare("SELECT " + std::string(pending_columns) + " FROM raw_messages WHERE id = ?1 AND state = 0");
  if (!stmt) return stmt.error();
  auto row = stmt->bind(1, raw_id).step();
  if (!row) return row.error();
  if (!*row) return not_pending(raw_id);
  return pending_from(*stmt);
}

result<void> raw_queue::finish(locked_database& db, std::int64_t raw_id, raw_fate fate,
                               const std::optional<std::string>& note) {
  auto mark = db->prepare(
      "UPDATE raw_messages SET state = ?2, payload = NULL, last_error = coalesce(?3, last_error), "
      "processing_started = 0 WHERE id = ?1 AND state = 0");
  if (!mark) return mark.error();
  mark->bind(1, raw_id).bind(2, static_cast<std::int64_t>(fate)).bind(3, note);
  if (auto done = mark->run(); !done) return done.error();
  if (db->changes() != 1) return not_pending(raw_id);
  return ok();
}

result<void> raw_queue::park(locked_database& db, std::int64_t raw_id, int attempts, clock::time_point next_attempt_at,
                             clock::time_point first_failure_at, const std::string& last_error) {
  auto update = db->prepare(
      "UPDATE raw_messages SET attempts = ?2, next_attempt_at = ?3, first_failure_at = ?4, last_error = ?5, "
      "processing_started = 0 WHERE id = ?1 AND state = 0");
  if (!update) return update.error();
  update->bind(1, raw_id).bind(2, std::int64_t{attempts}).bind(3, to_millis(next_attempt_at));
  update->bind(4, to_millis(first_failure_at)).bind(5, std::string_view(last_error));
  if (auto done = update->run(); !done) return done.error();
  if (db->changes() != 1) return not_pending(raw_id);
  return ok();
}

}  // namespace danemq::store
