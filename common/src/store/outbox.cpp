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

constexpr std::array migrations = {migration{1, version_1}, migration{2, version_2}};
static_assert(migrations.size() == outbox::schema_version);

}  // namespace

result<outbox> outbox::open(const std::filesystem::path& path, const open_options& options) {
  auto db = database::open(path, options);
  if (!db) return db.error();
  if (auto version = migrate(*db, migrations); !version) return version.error();
  return outbox(std::move(*db));
}

result<std::int64_t> outbox::enqueue(const outbox_entry& entry) {
  std::lock_guard lock(mutex_);
  auto tx = transaction::begin(db_, durability::full);
  if (!tx) return tx.error();
  auto stmt = db_.prepare("INSERT INTO outbox (recipient, topic, payload, created_at) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt) return stmt.error();
  stmt->bind(1, std::string_view(entry.recipient)).bind(2, std::string_view(entry.topic)).bind_blob(3, entry.payload);
  stmt->bind(4, to_millis(entry.created_at));
  if (auto done = stmt->run(); !done) return done.error();
  const auto id = db_.last_insert_rowid();
  if (auto committed = tx->commit(); !committed) return committed.error();
  return id;
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

result<void> outbox::remove(std::int64_t id) {
  std::lock_guard lock(mutex_);
  // Losing this delete to a power cut only means one more publish of a message
  // the receiver recognises as a copy: no fsync needed.
  if (auto set = db_.set_durability(durability::normal); !set) return set.error();
  auto stmt = db_.prepare("DELETE FROM outbox WHERE id = ?1");
  if (!stmt) return stmt.error();
  if (auto done = stmt->bind(1, id).run(); !done) return done.error();
  if (db_.changes() != 1) return fail(errc::not_found, "outbox entry " + std::to_string(id));
  return ok();
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
