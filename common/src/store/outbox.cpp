#include "danemq/store/outbox.hpp"

#include <array>

#include "danemq/store/migrations.hpp"

namespace danemq::store {
namespace {

// Version 1 is the schema of the first release, which wrote user_version 1
// itself; IF NOT EXISTS also adopts a file with this table and version 0.
constexpr std::string_view version_1 = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
)sql";

// Version 2: requests to the running `run` (`outbox retry`), one row per kind.
// A table rather than a signal: the command may run in another container,
// as another user, without a pid to signal; the runner reads it at each poll.
constexpr std::string_view version_2 = R"sql(
CREATE TABLE runner_requests (
  name TEXT PRIMARY KEY,
  requested_at INTEGER NOT NULL
);
)sql";

// Version 3: the sent log. A queued message's row names its outbox entry
// until the broker acknowledges it.
constexpr std::string_view version_3 = R"sql(
CREATE TABLE sent_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT NOT NULL,
  text TEXT NOT NULL,
  jti TEXT,
  note_digest TEXT NOT NULL,
  receipt_requested INTEGER NOT NULL,
  outbox_id INTEGER,
  queued_at INTEGER NOT NULL,
  published_at INTEGER,
  delivered_at INTEGER
);
CREATE INDEX sent_log_by_jti ON sent_log (jti);
CREATE INDEX sent_log_by_outbox_id ON sent_log (outbox_id);
)sql";

constexpr std::array migrations = {migration{1, version_1}, migration{2, version_2}, migration{3, version_3}};
static_assert(migrations.size() == outbox::schema_version);

}  // namespace

result<outbox> outbox::open(const std::filesystem::path& path, const open_options& options) {
  // A one-off send opens, commits twice and closes: no checkpoint at close
  // (and so no new log at the next send) saves it three of its six fsyncs.
  auto keep_log = options;
  keep_log.keep_log_at_close = true;
  auto db = database::open(path, keep_log);
  if (!db) return db.error();
  if (auto version = migrate(*db, migrations); !version) return version.error();
  return outbox(std::move(*db));
}

result<std::int64_t> outbox::insert_entry(const outbox_entry& entry) {
  auto stmt = db_.prepare("INSERT INTO outbox (recipient, topic, payload, created_at) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt) return stmt.error();
  stmt->bind(1, std::string_view(entry.recipient)).bind(2, std::string_view(entry.topic)).bind_blob(3, entry.payload);
  stmt->bind(4, to_millis(entry.created_at));
  if (auto done = stmt->run(); !done) return done.error();
  return db_.last_insert_rowid();
}

result<std::int64_t> outbox::enqueue(const outbox_entry& entry) {
  std::lock_guard lock(mutex_);
  auto tx = transaction::begin(db_, durability::full);
  if (!tx) return tx.error();
  auto id = insert_entry(entry);
  if (!id) return id.error();
  if (auto committed = tx->commit(); !committed) return committed.error();
  return *id;
}

result<void> outbox::enqueue(std::span<const outbox_entry> entries) {
  if (entries.empty()) return ok();
  std::lock_guard lock(mutex_);
  auto tx = transaction::begin(db_, durability::full);
  if (!tx) return tx.error();
  for (const auto& entry : entries) {
    if (auto id = insert_entry(entry); !id) return id.error();
  }
  return tx->commit();
}

result<std::vector<outbox_entry>> outbox::oldest(std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<outbox_entry> out;
  auto stmt = db_.prepare(
      "SELECT id, recipient, topic, payload, created_at, attempts, last_error FROM outbox ORDER BY id "
      "LIMIT ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit));
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    outbox_entry entry;
    entry.id = stmt->column_int64(0);
    entry.recipient = stmt->column_text(1);
    entry.topic = stmt->column_text(2);
    entry.payload = stmt->column_blob(3);
    entry.created_at = from_millis(stmt->column_int64(4));
    entry.attempts = static_cast<int>(stmt->column_int64(5));
    entry.last_error = stmt->column_text(6);
    out.push_back(std::move(entry));
  }
  return out;
}

result<void> outbox::delete_entry(std::int64_t id) {
  auto stmt = db_.prepare("DELETE FROM outbox WHERE id = ?1");
  if (!stmt) return stmt.error();
  if (auto done = stmt->bind(1, id).run(); !done) return done.error();
  if (db_.changes() != 1) return fail(errc::not_found, "outbox entry " + std::to_string(id));
  return ok();
}

result<void> outbox::remove(std::int64_t id) {
  std::lock_guard lock(mutex_);
  // Losing this delete to a power cut only means one more publish of a message
  // the receiver recognises as a copy: no fsync needed.
  auto tx = transaction::begin(db_, durability::normal);
  if (!tx) return tx.error();
  if (auto deleted = delete_entry(id); !deleted) return deleted.error();
  auto published = db_.prepare("UPDATE sent_log SET published_at = ?2, outbox_id = NULL WHERE outbox_id = ?1");
  if (!published) return published.error();
  published->bind(1, id).bind(2, to_millis(std::chrono::system_clock::now()));
  if (auto done = published->run(); !done) return done.error();
  return tx->commit();
}

result<void> outbox::cancel(std::int64_t id) {
  std::lock_guard lock(mutex_);
  // In full: a cancel lost to a power cut would send what the user withdrew.
  auto tx = transaction::begin(db_, durability::full);
  if (!tx) return tx.error();
  if (auto deleted = delete_entry(id); !deleted) return deleted.error();
  auto logged = db_.prepare("DELETE FROM sent_log WHERE outbox_id = ?1");
  if (!logged) return logged.error();
  if (auto done = logged->bind(1, id).run(); !done) return done.error();
  return tx->commit();
}

std::string sent_entry::state() const {
  if (delivered_at) return "delivered";
  if (published_at) return "published";
  if (outbox_id) return "queued";
  return "unconfirmed";
}

result<std::int64_t> outbox::record_sent(sent_entry entry, const outbox_entry* queued, durability level) {
  std::lock_guard lock(mutex_);
  auto tx = transaction::begin(db_, queued != nullptr ? durability::full : level);
  if (!tx) return tx.error();
  std::optional<std::int64_t> outbox_id;
  if (queued != nullptr) {
    auto id = insert_entry(*queued);
    if (!id) return id.error();
    outbox_id = *id;
  }
  auto stmt = db_.prepare(
      "INSERT INTO sent_log (recipient, text, jti, note_digest, receipt_requested, outbox_id, queued_at, published_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!stmt) return stmt.error();
  // A queued message is published only once the broker acknowledged it.
  std::optional<std::int64_t> published;
  if (entry.published_at && !outbox_id) published = to_millis(*entry.published_at);
  stmt->bind(1, std::string_view(entry.recipient)).bind(2, std::string_view(entry.text)).bind(3, entry.jti);
  stmt->bind(4, std::string_view(entry.note_digest)).bind(5, std::int64_t{entry.receipt_requested ? 1 : 0});
  stmt->bind(6, outbox_id).bind(7, to_millis(entry.queued_at)).bind(8, published);
  if (auto done = stmt->run(); !done) return done.error();
  const auto id = db_.last_insert_rowid();
  if (auto committed = tx->commit(); !committed) return committed.error();
  return id;
}

result<void> outbox::mark_published(std::int64_t sent_id, std::chrono::system_clock::time_point at) {
  std::lock_guard lock(mutex_);
  if (auto set = db_.set_durability(durability::full); !set) return set.error();
  auto stmt = db_.prepare("UPDATE sent_log SET published_at = ?2 WHERE id = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, sent_id).bind(2, to_millis(at));
  return stmt->run();
}

result<std::int64_t> outbox::queue_sent(std::int64_t sent_id, const outbox_entry& entry) {
  std::lock_guard lock(mutex_);
  auto tx = transaction::begin(db_, durability::full);
  if (!tx) return tx.error();
  auto id = insert_entry(entry);
  if (!id) return id.error();
  auto linked = db_.prepare("UPDATE sent_log SET outbox_id = ?2 WHERE id = ?1");
  if (!linked) return linked.error();
  if (auto done = linked->bind(1, sent_id).bind(2, *id).run(); !done) return done.error();
  if (auto committed = tx->commit(); !committed) return committed.error();
  return *id;
}

result<void> outbox::forget_sent(std::int64_t sent_id) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("DELETE FROM sent_log WHERE id = ?1 AND published_at IS NULL AND outbox_id IS NULL");
  if (!stmt) return stmt.error();
  return stmt->bind(1, sent_id).run();
}

result<bool> outbox::mark_delivered(const std::string& signer, const std::string& jti, const std::string& note_digest,
                                    std::chrono::system_clock::time_point at) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(
      "UPDATE sent_log SET delivered_at = coalesce(delivered_at, ?4) "
      "WHERE recipient = ?1 AND jti = ?2 AND note_digest = ?3");
  if (!stmt) return stmt.error();
  stmt->bind(1, std::string_view(signer)).bind(2, std::string_view(jti)).bind(3, std::string_view(note_digest));
  stmt->bind(4, to_millis(at));
  if (auto done = stmt->run(); !done) return done.error();
  return db_.changes() > 0;
}

result<bool> outbox::was_sent(const std::string& recipient, const std::string& jti, const std::string& note_digest) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT 1 FROM sent_log WHERE recipient = ?1 AND jti = ?2 AND note_digest = ?3");
  if (!stmt) return stmt.error();
  stmt->bind(1, std::string_view(recipient)).bind(2, std::string_view(jti)).bind(3, std::string_view(note_digest));
  auto row = stmt->step();
  if (!row) return row.error();
  return *row;
}

namespace {

constexpr std::string_view sent_columns =
    "id, recipient, text, jti, note_digest, receipt_requested, queued_at, published_at, delivered_at, outbox_id";

sent_entry read_sent(statement& stmt) {
  sent_entry entry;
  entry.id = stmt.column_int64(0);
  entry.recipient = stmt.column_text(1);
  entry.text = stmt.column_text(2);
  if (!stmt.column_is_null(3)) entry.jti = stmt.column_text(3);
  entry.note_digest = stmt.column_text(4);
  entry.receipt_requested = stmt.column_int64(5) != 0;
  entry.queued_at = from_millis(stmt.column_int64(6));
  if (!stmt.column_is_null(7)) entry.published_at = from_millis(stmt.column_int64(7));
  if (!stmt.column_is_null(8)) entry.delivered_at = from_millis(stmt.column_int64(8));
  if (!stmt.column_is_null(9)) entry.outbox_id = stmt.column_int64(9);
  return entry;
}

}  // namespace

result<std::vector<sent_entry>> outbox::list_sent(const sent_filter& filter) {
  std::lock_guard lock(mutex_);
  // The newest `limit` rows, listed oldest first.
  auto stmt = db_.prepare("SELECT * FROM (SELECT " + std::string(sent_columns) +
                          " FROM sent_log WHERE (?1 IS NULL OR recipient = ?1) AND (?2 IS NULL OR queued_at >= ?2)"
                          " ORDER BY id DESC LIMIT ?3) ORDER BY id");
  if (!stmt) return stmt.error();
  std::optional<std::int64_t> since;
  if (filter.since) since = to_millis(*filter.since);
  stmt->bind(1, filter.to).bind(2, since);
  stmt->bind(3, filter.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(filter.limit));
  std::vector<sent_entry> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_sent(*stmt));
  }
  return out;
}

result<std::optional<sent_entry>> outbox::sent_by_id(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT " + std::string(sent_columns) + " FROM sent_log WHERE id = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<sent_entry>{};
  return std::optional<sent_entry>(read_sent(*stmt));
}

result<void> outbox::note_attempt(std::int64_t id, const std::string& error) {
  std::lock_guard lock(mutex_);
  if (auto set = db_.set_durability(durability::normal); !set) return set.error();
  auto stmt = db_.prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1");
  if (!stmt) return stmt.error();
  if (auto done = stmt->bind(1, id).bind(2, std::string_view(error)).run(); !done) return done.error();
  return ok();
}

result<std::size_t> outbox::size() {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT count(*) FROM outbox");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<std::size_t>(stmt->column_int64(0));
}

result<void> outbox::request_retry() {
  std::lock_guard lock(mutex_);
  if (auto set = db_.set_durability(durability::full); !set) return set.error();
  auto stmt = db_.prepare(
      "INSERT INTO runner_requests (name, requested_at) VALUES ('retry', ?1) "
      "ON CONFLICT (name) DO UPDATE SET requested_at = excluded.requested_at");
  if (!stmt) return stmt.error();
  if (auto done = stmt->bind(1, to_millis(std::chrono::system_clock::now())).run(); !done) return done.error();
  return ok();
}

result<bool> outbox::take_retry_request() {
  std::lock_guard lock(mutex_);
  if (auto set = db_.set_durability(durability::normal); !set) return set.error();
  auto stmt = db_.prepare("DELETE FROM runner_requests WHERE name = 'retry'");
  if (!stmt) return stmt.error();
  if (auto done = stmt->run(); !done) return done.error();
  return db_.changes() == 1;
}

}  // namespace danemq::store
