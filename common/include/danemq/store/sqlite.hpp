#pragma once
// SQLite behind a thin edge: the connection and its prepared statements owned
// by std::unique_ptr with named deleters (declared here, once, for the whole
// project), SQLite's result codes turned into store::errc values, and a
// transaction that rolls back unless committed.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/store/errors.hpp"

namespace danemq::store {

/// The store's clock (times are kept as its milliseconds, see to_millis) and byte strings.
using clock = std::chrono::system_clock;
using bytes = std::vector<std::uint8_t>;

struct sqlite_deleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct sqlite_stmt_deleter {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using unique_sqlite = std::unique_ptr<sqlite3, sqlite_deleter>;
using unique_sqlite_stmt = std::unique_ptr<sqlite3_stmt, sqlite_stmt_deleter>;

/// How hard a commit insists on reaching the disk. `full` fsyncs the WAL on
/// every commit: used where an acknowledgement depends on the data (a raw
/// message before its PUBACK, an outbox entry before "queued"). `normal` may
/// lose the last commits on power loss but never corrupts: used where the data
/// can be derived again from something committed with `full`.
enum class durability { full, normal };

struct open_options {
  bool read_only{false};  ///< open for reading only (listing commands, health)
  std::chrono::milliseconds busy_timeout{std::chrono::seconds(5)};  ///< wait this long for another writer
  /// Leave the write-ahead log in place at close instead of checkpointing it
  /// into the database and deleting it: a short-lived process (a one-off
  /// send) then pays no checkpoint and, at its next start, no new log (each
  /// costs fsyncs). Nothing committed is less durable: the log is fsynced as
  /// before and checkpointed by a later commit.
  bool keep_log_at_close{false};
};

/// The failure for SQLite result code `code` (primary or extended), with `what`
/// and SQLite's message in the detail.
[[nodiscard]] failure sqlite_failure(int code, std::string_view what, sqlite3* db = nullptr);

/// Prepared statements not in use, by SQL text, so that the statements run
/// for every message are parsed once per connection.
class statement_cache {
 public:
  [[nodiscard]] unique_sqlite_stmt take(std::string_view sql);
  void give(std::string sql, unique_sqlite_stmt stmt);

 private:
  std::unordered_map<std::string, std::vector<unique_sqlite_stmt>> idle_;
};

/// A prepared statement. Binding indexes start at 1, columns at 0, as in SQLite.
/// A binding error (SQLITE_TOOBIG, SQLITE_NOMEM) is kept and reported by step().
/// It goes back to its connection's cache (reset) when destroyed, so it must
/// not outlive the database it came from.
class statement {
 public:
  statement(unique_sqlite_stmt stmt, sqlite3* db, statement_cache* cache = nullptr, std::string sql = {})
      : stmt_(std::move(stmt)), db_(db), cache_(cache), sql_(std::move(sql)) {}
  statement(statement&&) noexcept = default;
  statement& operator=(statement&&) = delete;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement();

  statement& bind(int index, std::int64_t value);
  statement& bind(int index, std::string_view text);
  statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  statement& bind_blob(int index, std::span<const std::uint8_t> data);
  statement& bind_null(int index);
  /// Binds the value, or NULL when empty.
  statement& bind(int index, const std::optional<std::int64_t>& value);
  statement& bind(int index, const std::optional<std::string>& text);

  /// Advances: true when a row is available, false when done; failure on error.
  [[nodiscard]] result<bool> step();
  /// Runs a statement that returns no row.
  [[nodiscard]] result<void> run();
  /// Resets the statement and its bindings for another use.
  void reset();

  [[nodiscard]] std::int64_t column_int64(int column) const;
  [[nodiscard]] std::optional<std::int64_t> column_optional_int64(int column) const;
  [[nodiscard]] std::string column_text(int column) const;
  [[nodiscard]] std::optional<std::string> column_optional_text(int column) const;
  [[nodiscard]] std::vector<std::uint8_t> column_blob(int column) const;
  [[nodiscard]] bool column_is_null(int column) const;

 private:
  void note_bind(int rc, int index);
  unique_sqlite_stmt stmt_;
  sqlite3* db_;
  statement_cache* cache_;
  std::string sql_;
  int bind_error_{SQLITE_OK};
  int bind_error_index_{0};
};

/// One connection to a database file in WAL mode.
class database {
 public:
  /// Opens (and with !read_only creates) the file; sets WAL, foreign keys and
  /// the busy timeout. The file holds message contents: it is created 0600
  /// (SQLite gives its WAL and SHM files the same mode), and with !read_only an
  /// existing file, WAL or SHM that group or others can access is tightened to
  /// 0600. Failure open_failed, read_only, corrupt, io_error, busy.
  [[nodiscard]] static result<database> open(const std::filesystem::path& path, const open_options& options = {});

  /// Runs one or more statements with no result rows.
  [[nodiscard]] result<void> exec(std::string_view sql);
  /// Prepares one statement (or takes it, reset, from the cache).
  [[nodiscard]] result<statement> prepare(std::string_view sql);
  /// Sets PRAGMA synchronous for the following commits.
  [[nodiscard]] result<void> set_durability(durability level);
  /// True when the database holds a table called `name`.
  [[nodiscard]] result<bool> has_table(std::string_view name);

  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  [[nodiscard]] bool read_only() const { return read_only_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  database(unique_sqlite db, std::filesystem::path path, bool read_only)
      : db_(std::move(db)),
        cache_(std::make_unique<statement_cache>()),
        path_(std::move(path)),
        read_only_(read_only) {}
  unique_sqlite db_;
  std::unique_ptr<statement_cache> cache_;  // after db_: finalized before the connection closes
  std::filesystem::path path_;
  bool read_only_{false};
  durability durability_{durability::full};
};

/// BEGIN IMMEDIATE on construction through begin(); ROLLBACK on destruction
/// unless commit() succeeded.
class transaction {
 public:
  [[nodiscard]] static result<transaction> begin(database& db, durability level);
  transaction(transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();

  /// COMMIT; on failure the transaction is rolled back.
  [[nodiscard]] result<void> commit();

 private:
  explicit transaction(database& db) : db_(&db) {}
  database* db_;
};

/// SAVEPOINT inside a transaction: a part of it that can be undone alone.
/// Rolled back (and released) on destruction unless release() or roll_back() was called.
class savepoint {
 public:
  /// `name` is an SQL identifier chosen by the caller, never user input.
  [[nodiscard]] static result<savepoint> begin(database& db, std::string_view name);
  savepoint(savepoint&& other) noexcept : db_(std::exchange(other.db_, nullptr)), name_(std::move(other.name_)) {}
  savepoint& operator=(savepoint&&) = delete;
  savepoint(const savepoint&) = delete;
  savepoint& operator=(const savepoint&) = delete;
  ~savepoint();

  /// Keeps what was done since begin() as part of the transaction.
  [[nodiscard]] result<void> release();
  /// Undoes what was done since begin(); the transaction goes on.
  [[nodiscard]] result<void> roll_back();

 private:
  savepoint(database& db, std::string name) : db_(&db), name_(std::move(name)) {}
  database* db_;
  std::string name_;
};

/// Creates `path` and its parents for databases with message contents: the
/// directories it creates are 0700, and an existing `path` that group or
/// others can enter is tightened to 0700. Returns what the caller should log
/// as a warning (empty: nothing to say): the directory was tightened, or it is
/// not ours and stays open to others. Failure open_failed naming the directory.
[[nodiscard]] result<std::string> prepare_private_directory(const std::filesystem::path& path);

/// Milliseconds since the Unix epoch, the form every time takes in the database.
[[nodiscard]] std::int64_t to_millis(std::chrono::system_clock::time_point time);
[[nodiscard]] std::chrono::system_clock::time_point from_millis(std::int64_t millis);

}  // namespace danemq::store
