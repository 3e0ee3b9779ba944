#include "danemq/store/message_store.hpp"

#include <algorithm>

#include "danemq/crypto/openssl.hpp"

namespace danemq::store {
namespace {

constexpr int schema_version = 1;

// Raw messages keep their digest after processing (the payload is dropped once
// it lives in the inbox or quarantine) so that a broker redelivery of an old
// message is recognised as a copy for as long as the database lives.
constexpr std::string_view schema = R"sql(
CREATE TABLE IF NOT EXISTS raw_messages (
  id INTEGER PRIMARY KEY,
  digest BLOB NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  payload BLOB,
  received_at INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  copies INTEGER NOT NULL DEFAULT 1,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  first_failure_at INTEGER,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS raw_pending ON raw_messages(next_attempt_at, id) WHERE state = 0;
CREATE INDEX IF NOT EXISTS raw_pending_by_id ON raw_messages(id) WHERE state = 0;
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY,
  raw_id INTEGER NOT NULL UNIQUE REFERENCES raw_messages(id),
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  processed_at INTEGER NOT NULL,
  issued_at INTEGER,
  jti TEXT,
  message TEXT NOT NULL,
  dnssec_secure INTEGER NOT NULL,
  legacy INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_sender ON inbox(sender, raw_id);
CREATE INDEX IF NOT EXISTS inbox_received ON inbox(received_at);
CREATE TABLE IF NOT EXISTS quarantine (
  id INTEGER PRIMARY KEY,
  raw_id INTEGER NOT NULL UNIQUE REFERENCES raw_messages(id),
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  quarantined_at INTEGER NOT NULL,
  reason_category TEXT NOT NULL,
  reason_value INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_received ON quarantine(received_at);
CREATE TABLE IF NOT EXISTS replay (
  sender TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (sender, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_expiry ON replay(expires_at);
CREATE TABLE IF NOT EXISTS health (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  connected INTEGER NOT NULL,
  identity_in_sync INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  detail TEXT NOT NULL
);
)sql";

enum raw_state : std::int64_t { pending = 0, accepted = 1, quarantined = 2 };

bytes digest_of(const incoming_message& message) {
  bytes material(message.topic.begin(), message.topic.end());
  material.push_back(0);
  material.insert(material.end(), message.payload.begin(), message.payload.end());
  return crypto::sha256(material);
}

std::string reason_line(const refusal& reason) {
  return reason.category + ":" + std::to_string(reason.value) + " " + reason.text;
}

result<int> user_version(database& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<int>(stmt->column_int64(0));
}

result<bool> has_table(database& db, std::string_view name) {
  auto stmt = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, name);
  return stmt->step();
}

/// PRAGMA quick_check: a writer must not start on damaged pages (it would
/// acknowledge messages it then cannot process). Linear in the file's size;
/// done once, at open.
result<void> check_pages(database& db, const std::filesystem::path& path) {
  auto check = db.prepare("PRAGMA quick_check(3)");
  if (!check) return check.error();
  std::string problems;
  for (;;) {
    auto row = check->step();
    if (!row) {
      problems += (problems.empty() ? "" : "; ") + row.error().detail;
      break;
    }
    if (!*row) break;
    const auto line = check->column_text(0);
    if (line == "ok") return ok();
    problems += (problems.empty() ? "" : "; ") + line;
  }
  return fail(errc::corrupt, path.string() + " is damaged (" + problems +
                                 "): restore it from a backup, or move it away to start with an empty one");
}

}  // namespace

refusal refusal::of(const failure& reason) {
  return refusal{reason.code.category().name(), reason.code.value(), reason.message()};
}

message_store::message_store(message_store&& other) noexcept : db_(std::move(other.db_)), limits_(other.limits_) {}

result<message_store> message_store::open(const std::filesystem::path& path, const open_options& options,
                                          const message_store_limits& limits) {
  auto db = database::open(path, options);
  if (!db) return db.error();
  auto version = user_version(*db);
  if (!version) return version.error();
  if (*version > schema_version) {
    return fail(errc::schema_mismatch, path.string() + " has schema version " + std::to_string(*version) +
                                           ", this build knows up to " + std::to_string(schema_version));
  }
  if (options.read_only) {
    // A listing before the daemon ever ran: an empty database is not an error,
    // but a file with other tables is not ours.
    auto known = has_table(*db, "raw_messages");
    if (!known) return known.error();
    if (!*known && *version != 0) return fail(errc::schema_mismatch, path.string() + " is not a receiver database");
  } else if (auto sound = check_pages(*db, path); !sound) {
    return sound.error();
  } else if (*version < schema_version) {
    auto tx = transaction::begin(*db, durability::full);
    if (!tx) return tx.error();
    if (auto created = db->exec(schema); !created) return created.error();
    if (auto set = db->exec("PRAGMA user_version = " + std::to_string(schema_version)); !set) return set.error();
    if (auto committed = tx->commit(); !committed) return committed.error();
  }
  return message_store(std::move(*db), limits);
}

result<std::vector<raw_outcome>> message_store::store_raw(std::span<const incoming_message> messages) {
  std::lock_guard lock(mutex_);
  std::vector<raw_outcome> outcomes;
  outcomes.reserve(messages.size());
  auto tx = transaction::begin(db_, durability::full);
  if (!tx) return tx.error();
  auto insert = db_.prepare(
      "INSERT INTO raw_messages (digest, topic, payload, received_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?4) "
      "ON CONFLICT (digest) DO UPDATE SET copies = copies + 1 RETURNING id, copies");
  if (!insert) return insert.error();
  for (const auto& message : messages) {
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

namespace {

/// Reads the pending_message columns (id, topic, payload, received_at, attempts, first_failure_at).
pending_message pending_from(const statement& row) {
  pending_message message;
  message.raw_id = row.column_int64(0);
  message.topic = row.column_text(1);
  message.payload = row.column_blob(2);
  message.received_at = from_millis(row.column_int64(3));
  message.attempts = static_cast<int>(row.column_int64(4));
  if (auto first = row.column_optional_int64(5)) message.first_failure_at = from_millis(*first);
  return message;
}

}  // namespace

result<std::vector<pending_message>> message_store::due_pending(clock::time_point now, std::size_t limit,
                                                                std::span<const std::int64_t> exclude,
                                                                std::int64_t up_to_id) {
  std::lock_guard lock(mutex_);
  std::vector<pending_message> out;
  if (limit == 0) return out;
  // Ordered by id (arrival) among the due ones, so that a restart processes the
  // backlog in the order the broker delivered it.
  auto stmt = db_.prepare(
      "SELECT id, topic, payload, received_at, attempts, first_failure_at FROM raw_messages "
      "WHERE state = 0 AND next_attempt_at <= ?1 AND id <= ?3 ORDER BY id LIMIT ?2");
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

result<std::vector<pending_message>> message_store::pending_after(std::int64_t after_id, clock::time_point now,
                                                                  std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<pending_message> out;
  if (limit == 0) return out;
  auto stmt = db_.prepare(
      "SELECT id, topic, payload, received_at, attempts, first_failure_at FROM raw_messages "
      "WHERE id > ?1 AND state = 0 AND next_attempt_at <= ?2 ORDER BY id LIMIT ?3");
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

result<std::optional<clock::time_point>> message_store::next_due(clock::time_point after) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT min(next_attempt_at) FROM raw_messages WHERE state = 0 AND next_attempt_at > ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, to_millis(after));
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row || stmt->column_is_null(0)) return std::optional<clock::time_point>{};
  return std::optional<clock::time_point>{from_millis(stmt->column_int64(0))};
}

result<std::size_t> message_store::pending_count() {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT count(*) FROM raw_messages WHERE state = 0");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<std::size_t>(stmt->column_int64(0));
}

result<std::size_t> message_store::untried_count() {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT count(*) FROM raw_messages WHERE state = 0 AND attempts = 0");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<std::size_t>(stmt->column_int64(0));
}

result<void> message_store::insert_replay(std::span<const replay_entry> entries, clock::time_point now) {
  if (entries.empty()) return ok();
  if (!tx_replay_count_) {
    if (replay_count_) {
      tx_replay_count_ = replay_count_;
    } else {
      // Counted once, then kept up to date: a count(*) per message would
      // grow with the memory.
      auto count = db_.prepare("SELECT count(*) FROM replay");
      if (!count) return count.error();
      auto counted = count->step();
      if (!counted) return counted.error();
      tx_replay_count_ = static_cast<std::size_t>(count->column_int64(0));
    }
  }
  auto& size = *tx_replay_count_;
  if (size + entries.size() > limits_.max_replay_entries) {
    auto purge = db_.prepare("DELETE FROM replay WHERE expires_at <= ?1");
    if (!purge) return purge.error();
    if (auto purged = purge->bind(1, to_millis(now)).run(); !purged) return purged.error();
    size -= std::min(size, static_cast<std::size_t>(db_.changes()));
    if (size + entries.size() > limits_.max_replay_entries) {
      return fail(errc::full, "replay memory holds " + std::to_string(size) + " unexpired entries (limit " +
                                  std::to_string(limits_.max_replay_entries) + ")");
    }
  }
  // An expired entry for the same pair may be overwritten (and counted once
  // more: the count errs on the full side); a live one is a replay.
  auto insert = db_.prepare(
      "INSERT INTO replay (sender, jti, expires_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (sender, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?4");
  if (!insert) return insert.error();
  for (const auto& entry : entries) {
    insert->reset();
    insert->bind(1, std::string_view(entry.sender)).bind(2, std::string_view(entry.jti));
    insert->bind(3, to_millis(entry.expires_at)).bind(4, to_millis(now));
    if (auto done = insert->run(); !done) return done.error();
    if (db_.changes() != 1) return fail(errc::conflict, "(" + entry.sender + ", " + entry.jti + ") already remembered");
    ++size;
  }
  return ok();
}

void message_store::begin_replay_tracking() {
  tx_replay_count_.reset();
  replay_count_uncertain_ = false;
}

void message_store::end_replay_tracking(bool committed) {
  if (!committed || replay_count_uncertain_) {
    replay_count_.reset();
  } else if (tx_replay_count_) {
    replay_count_ = tx_replay_count_;
  }
  tx_replay_count_.reset();
}

result<std::int64_t> message_store::accept_in_transaction(const inbox_entry& entry,
                                                          std::span<const replay_entry> replay, clock::time_point now) {
  auto mark = db_.prepare("UPDATE raw_messages SET state = 1, payload = NULL WHERE id = ?1 AND state = 0");
  if (!mark) return mark.error();
  if (auto done = mark->bind(1, entry.raw_id).run(); !done) return done.error();
  if (db_.changes() != 1) {
    return fail(errc::not_found, "raw message " + std::to_string(entry.raw_id) + " is not pending");
  }
  if (auto remembered = insert_replay(replay, now); !remembered) return remembered.error();
  auto insert = db_.prepare(
      "INSERT INTO inbox (raw_id, sender, recipient, received_at, processed_at, issued_at, jti, message, "
      "dnssec_secure, legacy) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!insert) return insert.error();
  insert->bind(1, entry.raw_id).bind(2, std::string_view(entry.sender)).bind(3, std::string_view(entry.recipient));
  insert->bind(4, to_millis(entry.received_at)).bind(5, to_millis(now)).bind(6, entry.issued_at).bind(7, entry.jti);
  insert->bind(8, std::string_view(entry.message));
  insert->bind(9, std::int64_t{entry.dnssec_secure ? 1 : 0}).bind(10, std::int64_t{entry.legacy ? 1 : 0});
  if (auto done = insert->run(); !done) return done.error();
  return db_.last_insert_rowid();
}

result<std::int64_t> message_store::quarantine_in_transaction(std::int64_t raw_id, const refusal& reason,
                                                              clock::time_point now) {
  auto insert = db_.prepare(
      "INSERT INTO quarantine (raw_id, topic, payload, received_at, quarantined_at, reason_category, reason_value, "
      "reason) SELECT id, topic, payload, received_at, ?2, ?3, ?4, ?5 FROM raw_messages WHERE id = ?1 AND state = 0");
  if (!insert) return insert.error();
  insert->bind(1, raw_id).bind(2, to_millis(now)).bind(3, std::string_view(reason.category));
  insert->bind(4, std::int64_t{reason.value}).bind(5, std::string_view(reason.text));
  if (auto done = insert->run(); !done) return done.error();
  if (db_.changes() != 1) return fail(errc::not_found, "raw message " + std::to_string(raw_id) + " is not pending");
  const auto id = db_.last_insert_rowid();
  auto mark = db_.prepare("UPDATE raw_messages SET state = 2, payload = NULL, last_error = ?2 WHERE id = ?1");
  if (!mark) return mark.error();
  if (auto done = mark->bind(1, raw_id).bind(2, reason_line(reason)).run(); !done) return done.error();
  return id;
}

result<std::int64_t> message_store::defer_in_transaction(std::int64_t raw_id, int attempts,
                                                         clock::time_point next_attempt_at,
                                                         clock::time_point first_failure_at,
                                                         const refusal& last_error) {
  auto update = db_.prepare(
      "UPDATE raw_messages SET attempts = ?2, next_attempt_at = ?3, first_failure_at = ?4, last_error = ?5 "
      "WHERE id = ?1 AND state = 0");
  if (!update) return update.error();
  update->bind(1, raw_id).bind(2, std::int64_t{attempts}).bind(3, to_millis(next_attempt_at));
  update->bind(4, to_millis(first_failure_at)).bind(5, reason_line(last_error));
  if (auto done = update->run(); !done) return done.error();
  if (db_.changes() != 1) return fail(errc::not_found, "raw message " + std::to_string(raw_id) + " is not pending");
  return raw_id;
}

result<std::int64_t> message_store::record_in_transaction(const outcome_record& record, clock::time_point now) {
  switch (record.what) {
    case outcome_record::kind::accept: return accept_in_transaction(record.entry, record.replay, now);
    case outcome_record::kind::quarantine: return quarantine_in_transaction(record.raw_id, record.reason, now);
    case outcome_record::kind::defer:
      return defer_in_transaction(record.raw_id, record.attempts, record.next_attempt_at, record.first_failure_at,
                                  record.reason);
  }
  return fail(errc::statement_failed, "unknown outcome");
}

result<std::vector<result<std::int64_t>>> message_store::record(std::span<const outcome_record> records) {
  std::lock_guard lock(mutex_);
  const auto now = clock::now();
  // The raw messages were fsynced before their acknowledgement; this commit
  // can be redone from them after a power loss, so it need not wait for the disk.
  auto tx = transaction::begin(db_, durability::normal);
  if (!tx) return tx.error();
  begin_replay_tracking();
  std::vector<result<std::int64_t>> outcomes;
  outcomes.reserve(records.size());
  for (const auto& one : records) {
    // A savepoint per outcome: one that fails (a replay entry already
    // remembered) is undone alone, the others commit together.
    auto savepoint = db_.prepare("SAVEPOINT outcome");
    if (!savepoint) return savepoint.error();
    if (auto set = savepoint->run(); !set) return set.error();
    const auto before = tx_replay_count_;
    auto recorded = record_in_transaction(one, now);
    if (!recorded) {
      auto undo = db_.prepare("ROLLBACK TO outcome");
      if (!undo) return undo.error();
      if (auto undone = undo->run(); !undone) return undone.error();
      if (tx_replay_count_ != before) replay_count_uncertain_ = true;
    }
    auto release = db_.prepare("RELEASE outcome");
    if (!release) return release.error();
    if (auto released = release->run(); !released) return released.error();
    outcomes.push_back(std::move(recorded));
  }
  auto committed = tx->commit();
  end_replay_tracking(committed.has_value());
  if (!committed) return committed.error();
  return outcomes;
}

result<std::int64_t> message_store::record_one(const outcome_record& one) {
  auto recorded = record(std::span(&one, 1));
  if (!recorded) return recorded.error();
  return recorded->front();
}

result<std::int64_t> message_store::accept(const inbox_entry& entry, std::span<const replay_entry> replay) {
  outcome_record one;
  one.what = outcome_record::kind::accept;
  one.raw_id = entry.raw_id;
  one.entry = entry;
  one.replay.assign(replay.begin(), replay.end());
  return record_one(one);
}

result<std::int64_t> message_store::quarantine(std::int64_t raw_id, const refusal& reason, clock::time_point) {
  outcome_record one;
  one.what = outcome_record::kind::quarantine;
  one.raw_id = raw_id;
  one.reason = reason;
  return record_one(one);
}

result<void> message_store::defer(std::int64_t raw_id, int attempts, clock::time_point next_attempt_at,
                                  clock::time_point first_failure_at, const refusal& last_error) {
  outcome_record one;
  one.what = outcome_record::kind::defer;
  one.raw_id = raw_id;
  one.attempts = attempts;
  one.next_attempt_at = next_attempt_at;
  one.first_failure_at = first_failure_at;
  one.reason = last_error;
  auto recorded = record_one(one);
  if (!recorded) return recorded.error();
  return ok();
}

result<std::vector<inbox_entry>> message_store::list_inbox(const listing_filter& filter) {
  std::lock_guard lock(mutex_);
  std::vector<inbox_entry> out;
  auto known = has_table(db_, "inbox");
  if (!known) return known.error();
  if (!*known) return out;
  auto stmt = db_.prepare(
      "SELECT id, raw_id, sender, recipient, received_at, issued_at, jti, message, dnssec_secure, legacy FROM inbox "
      "WHERE (?1 IS NULL OR received_at >= ?1) AND (?2 IS NULL OR sender = ?2) ORDER BY raw_id LIMIT ?3");
  if (!stmt) return stmt.error();
  stmt->bind(1, filter.since ? std::optional<std::int64_t>(to_millis(*filter.since)) : std::nullopt);
  stmt->bind(2, filter.from);
  stmt->bind(3, filter.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(filter.limit));
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

result<std::vector<quarantine_entry>> message_store::list_quarantine(const listing_filter& filter) {
  std::lock_guard lock(mutex_);
  std::vector<quarantine_entry> out;
  auto known = has_table(db_, "quarantine");
  if (!known) return known.error();
  if (!*known) return out;
  auto stmt = db_.prepare(
      "SELECT id, raw_id, topic, payload, received_at, quarantined_at, reason_category, reason_value, reason "
      "FROM quarantine WHERE (?1 IS NULL OR received_at >= ?1) ORDER BY raw_id LIMIT ?2");
  if (!stmt) return stmt.error();
  stmt->bind(1, filter.since ? std::optional<std::int64_t>(to_millis(*filter.since)) : std::nullopt);
  stmt->bind(2, filter.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(filter.limit));
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

result<bool> message_store::replay_contains(std::string_view sender, std::string_view jti, clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT 1 FROM replay WHERE sender = ?1 AND jti = ?2 AND expires_at > ?3");
  if (!stmt) return stmt.error();
  stmt->bind(1, sender).bind(2, jti).bind(3, to_millis(now));
  return stmt->step();
}

result<void> message_store::replay_remember(std::span<const replay_entry> entries, clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto tx = transaction::begin(db_, durability::normal);
  if (!tx) return tx.error();
  begin_replay_tracking();
  if (auto inserted = insert_replay(entries, now); !inserted) {
    end_replay_tracking(false);
    return inserted.error();
  }
  auto committed = tx->commit();
  end_replay_tracking(committed.has_value());
  return committed;
}

result<std::size_t> message_store::purge_replay(clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (auto set = db_.set_durability(durability::normal); !set) return set.error();
  auto stmt = db_.prepare("DELETE FROM replay WHERE expires_at <= ?1");
  if (!stmt) return stmt.error();
  if (auto done = stmt->bind(1, to_millis(now)).run(); !done) return done.error();
  const auto purged = static_cast<std::size_t>(db_.changes());
  if (replay_count_) *replay_count_ -= std::min(*replay_count_, purged);
  return purged;
}

result<std::size_t> message_store::replay_size() {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT count(*) FROM replay");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<std::size_t>(stmt->column_int64(0));
}

result<void> message_store::save_health(const service_health& health) {
  std::lock_guard lock(mutex_);
  if (auto set = db_.set_durability(durability::normal); !set) return set.error();
  auto stmt = db_.prepare(
      "INSERT INTO health (id, connected, identity_in_sync, updated_at, detail) VALUES (1, ?1, ?2, ?3, ?4) "
      "ON CONFLICT (id) DO UPDATE SET connected = excluded.connected, identity_in_sync = excluded.identity_in_sync, "
      "updated_at = excluded.updated_at, detail = excluded.detail");
  if (!stmt) return stmt.error();
  stmt->bind(1, std::int64_t{health.connected ? 1 : 0}).bind(2, std::int64_t{health.identity_in_sync ? 1 : 0});
  stmt->bind(3, to_millis(health.updated_at)).bind(4, std::string_view(health.detail));
  return stmt->run();
}

result<std::optional<service_health>> message_store::load_health() {
  std::lock_guard lock(mutex_);
  auto known = has_table(db_, "health");
  if (!known) return known.error();
  if (!*known) return std::optional<service_health>{};
  auto stmt = db_.prepare("SELECT connected, identity_in_sync, updated_at, detail FROM health WHERE id = 1");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<service_health>{};
  service_health health;
  health.connected = stmt->column_int64(0) != 0;
  health.identity_in_sync = stmt->column_int64(1) != 0;
  health.updated_at = from_millis(stmt->column_int64(2));
  health.detail = stmt->column_text(3);
  return std::optional<service_health>{std::move(health)};
}

}  // namespace danemq::store
