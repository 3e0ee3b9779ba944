#include "danemq/store/message_store.hpp"

#include <array>

#include "danemq/store/migrations.hpp"

namespace danemq::store {
namespace {

// Raw messages keep their digest after processing (the payload is dropped once
// it lives in the inbox or quarantine) so that a broker redelivery of an old
// message is recognised as a copy for as long as the database lives.
//
// Version 1 is the schema of the first release, which wrote user_version 1
// itself; IF NOT EXISTS also adopts a file with these tables and version 0.
constexpr std::string_view version_1 = R"sql(
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

// Version 2: the replay memory's size, kept by triggers in the transactions
// that change the table (a count(*) per accepted message would grow with the
// memory; a count kept in the program drifted whenever a savepoint or a
// commit was undone).
constexpr std::string_view version_2 = R"sql(
CREATE TABLE replay_count (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  entries INTEGER NOT NULL
);
INSERT INTO replay_count (id, entries) SELECT 1, count(*) FROM replay;
CREATE TRIGGER replay_added AFTER INSERT ON replay BEGIN
  UPDATE replay_count SET entries = entries + 1 WHERE id = 1;
END;
CREATE TRIGGER replay_removed AFTER DELETE ON replay BEGIN
  UPDATE replay_count SET entries = entries - 1 WHERE id = 1;
END;
)sql";

// Version 3: each sender's number of replay entries, kept by triggers like the
// total, so that one sender's share (REPLAY_MEMORY_PER_SENDER) is checked
// without counting its rows; and the health row says why processing halted
// (a full replay memory), for `danemq-receiver health`.
constexpr std::string_view version_3 = R"sql(
CREATE TABLE replay_sender_count (
  sender TEXT PRIMARY KEY,
  entries INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO replay_sender_count (sender, entries) SELECT sender, count(*) FROM replay GROUP BY sender;
CREATE TRIGGER replay_sender_added AFTER INSERT ON replay BEGIN
  INSERT INTO replay_sender_count (sender, entries) VALUES (new.sender, 1)
    ON CONFLICT (sender) DO UPDATE SET entries = entries + 1;
END;
CREATE TRIGGER replay_sender_removed AFTER DELETE ON replay BEGIN
  UPDATE replay_sender_count SET entries = entries - 1 WHERE sender = old.sender;
END;
ALTER TABLE health ADD COLUMN processing_halted TEXT NOT NULL DEFAULT '';
)sql";

// Version 4: bounds against hostile input. The quarantine's size, kept by
// triggers like the replay memory's (QUARANTINE_MAX_BYTES is checked after
// every quarantined message), counted as outcome_tables.hpp says; and a mark
// per raw message of processing begun without an outcome, so that a message
// that crashes the receiver is quarantined after a few tries instead of
// crashing it at every start.
constexpr std::string_view version_4 = R"sql(
CREATE TABLE quarantine_size (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  entries INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
INSERT INTO quarantine_size (id, entries, bytes)
  SELECT 1, count(*), coalesce(sum(length(payload) + 2 * (length(CAST(topic AS BLOB)) + length(CAST(reason AS BLOB)))
                                   + 128), 0) FROM quarantine;
CREATE TRIGGER quarantine_added AFTER INSERT ON quarantine BEGIN
  UPDATE quarantine_size SET entries = entries + 1,
    bytes = bytes + length(new.payload) + 2 * (length(CAST(new.topic AS BLOB)) + length(CAST(new.reason AS BLOB))) + 128
    WHERE id = 1;
END;
CREATE TRIGGER quarantine_removed AFTER DELETE ON quarantine BEGIN
  UPDATE quarantine_size SET entries = entries - 1,
    bytes = bytes - (length(old.payload) + 2 * (length(CAST(old.topic AS BLOB)) + length(CAST(old.reason AS BLOB))) + 128)
    WHERE id = 1;
END;
ALTER TABLE raw_messages ADD COLUMN processing_started INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 5: the work an outcome leaves for the sender's database (a
// receipt to queue, a sent message to mark delivered), committed with the
// outcome and removed once done, so a crash between the two loses neither.
constexpr std::string_view version_5 = R"sql(
CREATE TABLE hand_off (
  id INTEGER PRIMARY KEY,
  what INTEGER NOT NULL,
  peer TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  jti TEXT NOT NULL,
  note_digest TEXT NOT NULL,
  at INTEGER NOT NULL
);
)sql";

constexpr std::array migrations = {migration{1, version_1}, migration{2, version_2}, migration{3, version_3},
                                   migration{4, version_4}, migration{5, version_5}};
static_assert(migrations.size() == message_store::schema_version);

/// PRAGMA quick_check: a writer must not start on damaged pages (it would
/// acknowledge messages it then cannot process). Linear in the file's size;
/// done once, at open.
result<void> check_pages(database& db) {
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
  return fail(errc::corrupt, db.path().string() + " is damaged (" + problems +
                                 "): restore it from a backup, or move it away to start with an empty one");
}

}  // namespace

message_store::message_store(std::unique_ptr<shared_database> db, const message_store_limits& limits)
    : db_(std::move(db)),
      raw_(*db_),
      outcomes_(*db_),
      replay_(*db_, limits.max_replay_entries, limits.replay_purge_margin, limits.replay_entries_per_sender),
      health_(*db_),
      quarantine_limits_(limits.quarantine),
      quarantine_(*db_) {}

result<message_store> message_store::open(const std::filesystem::path& path, const open_options& options,
                                          const message_store_limits& limits) {
  auto db = database::open(path, options);
  if (!db) return db.error();
  if (!options.read_only) {
    if (auto sound = check_pages(*db); !sound) return sound.error();
  }
  auto version = migrate(*db, migrations);
  if (!version) return version.error();
  if (!options.read_only) {
    // Half SQLite's default page cache: what the daemon touches per message
    // is the end of a few tables and indexes, and a page it misses is in the
    // kernel's cache. Measured by bench/e2e: 1 MiB less peak RSS, no slower.
    if (auto cache = db->exec("PRAGMA cache_size=-1024"); !cache) return cache.error();
  }
  if (options.read_only) {
    // A listing before the daemon ever ran: an empty database is not an error,
    // but a file with other tables is not ours.
    auto known = db->has_table("raw_messages");
    if (!known) return known.error();
    if (!*known && *version != 0) return fail(errc::schema_mismatch, path.string() + " is not a receiver database");
  }
  return message_store(std::make_unique<shared_database>(std::move(*db)), limits);
}

result<std::int64_t> message_store::record_one(locked_database& db, const outcome_record& record,
                                               clock::time_point now) {
  switch (record.what) {
    case outcome_record::kind::accept: {
      if (auto taken = raw_.finish(db, record.entry.raw_id, raw_fate::accepted, std::nullopt); !taken) {
        return taken.error();
      }
      if (auto remembered = replay_.add(db, record.replay, now); !remembered) return remembered.error();
      return outcomes_.add_to_inbox(db, record.entry, now);
    }
    case outcome_record::kind::receipt: {
      if (auto taken = raw_.finish(db, record.raw_id, raw_fate::accepted, std::nullopt); !taken) {
        return taken.error();
      }
      if (auto remembered = replay_.add(db, record.replay, now); !remembered) return remembered.error();
      return record.raw_id;
    }
    case outcome_record::kind::quarantine: {
      auto raw = raw_.pending(db, record.raw_id);
      if (!raw) return raw.error();
      auto id = outcomes_.add_to_quarantine(db, *raw, record.reason, now);
      if (!id) return id.error();
      if (auto taken = raw_.finish(db, record.raw_id, raw_fate::quarantined, record.reason.line()); !taken) {
        return taken.error();
      }
      return id;
    }
    case outcome_record::kind::defer: {
      auto parked = raw_.park(db, record.raw_id, record.attempts, record.next_attempt_at, record.first_failure_at,
                              record.reason.line());
      if (!parked) return parked.error();
      return record.raw_id;
    }
  }
  return fail(errc::statement_failed, "unknown outcome");
}

result<std::vector<result<std::int64_t>>> message_store::record(std::span<const outcome_record> records) {
  auto db = db_->lock();
  const auto now = clock::now();
  // The raw messages were fsynced before their acknowledgement; this commit
  // can be redone from them after a power loss, so it need not wait for the disk.
  auto tx = transaction::begin(*db, durability::normal);
  if (!tx) return tx.error();
  std::vector<result<std::int64_t>> outcomes;
  outcomes.reserve(records.size());
  for (const auto& one : records) {
    // A savepoint per outcome: one that fails (a replay entry already
    // remembered) is undone alone, the others commit together.
    auto part = savepoint::begin(*db, "outcome");
    if (!part) return part.error();
    auto recorded = record_one(db, one, now);
    if (recorded && one.then) {
      if (auto noted = add_hand_off(db, *one.then); !noted) recorded = noted.error();
    }
    if (auto ended = recorded ? part->release() : part->roll_back(); !ended) return ended.error();
    outcomes.push_back(std::move(recorded));
  }
  if (auto committed = tx->commit(); !committed) return committed.error();
  return outcomes;
}

result<void> message_store::add_hand_off(locked_database& db, const hand_off& work) {
  auto stmt = db->prepare(
      "INSERT INTO hand_off (what, peer, topic, payload, jti, note_digest, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!stmt) return stmt.error();
  stmt->bind(1, std::int64_t{work.what == hand_off::kind::send_receipt ? 1 : 2}).bind(2, std::string_view(work.peer));
  stmt->bind(3, std::string_view(work.topic)).bind_blob(4, work.payload).bind(5, std::string_view(work.jti));
  stmt->bind(6, std::string_view(work.note_digest)).bind(7, to_millis(work.at));
  return stmt->run();
}

result<std::vector<hand_off>> message_store::hand_offs(std::size_t limit) {
  auto db = db_->lock();
  auto stmt =
      db->prepare("SELECT id, what, peer, topic, payload, jti, note_digest, at FROM hand_off ORDER BY id LIMIT ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, static_cast<std::int64_t>(limit));
  std::vector<hand_off> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    hand_off work;
    work.id = stmt->column_int64(0);
    work.what = stmt->column_int64(1) == 1 ? hand_off::kind::send_receipt : hand_off::kind::mark_delivered;
    work.peer = stmt->column_text(2);
    work.topic = stmt->column_text(3);
    work.payload = stmt->column_blob(4);
    work.jti = stmt->column_text(5);
    work.note_digest = stmt->column_text(6);
    work.at = from_millis(stmt->column_int64(7));
    out.push_back(std::move(work));
  }
  return out;
}

result<void> message_store::finish_hand_offs(std::span<const std::int64_t> ids) {
  if (ids.empty()) return ok();
  auto db = db_->lock();
  auto tx = transaction::begin(*db, durability::normal);
  if (!tx) return tx.error();
  auto stmt = db->prepare("DELETE FROM hand_off WHERE id = ?1");
  if (!stmt) return stmt.error();
  for (const auto id : ids) {
    stmt->reset();
    if (auto done = stmt->bind(1, id).run(); !done) return done.error();
  }
  return tx->commit();
}

}  // namespace danemq::store
