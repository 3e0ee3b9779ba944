#include "danemq/store/sqlite.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "danemq/core/error_category.hpp"

namespace danemq::store {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::open_failed: return "cannot open database";
    case errc::read_only: return "database is read-only";
    case errc::corrupt: return "database file is corrupt";
    case errc::disk_full: return "disk full";
    case errc::io_error: return "database I/O error";
    case errc::busy: return "database is locked";
    case errc::schema_mismatch: return "database schema version not supported";
    case errc::statement_failed: return "database statement failed";
    case errc::not_found: return "no such row";
    case errc::full: return "bounded table is full";
    case errc::conflict: return "row with that key exists";
    case errc::over_quota: return "share of a bounded table used up";
  }
  return nullptr;
}

errc classify(int code) {
  switch (code & 0xff) {
    case SQLITE_CANTOPEN: return errc::open_failed;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return errc::read_only;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return errc::corrupt;
    case SQLITE_FULL: return errc::disk_full;
    case SQLITE_IOERR: return errc::io_error;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return errc::busy;
    case SQLITE_CONSTRAINT: return errc::conflict;
    default: return errc::statement_failed;
  }
}

/// Why `path` cannot be written (its directory holds the -wal and -shm files
/// too), or nothing when it can.
std::optional<std::string> unwritable(const std::filesystem::path& path) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  for (const auto& [file, what] : {std::pair{dir, "directory"}, std::pair{path, "file"}}) {
    if (what == std::string_view("file") && ::access(file.c_str(), F_OK) != 0) continue;
    if (::access(file.c_str(), W_OK) != 0) {
      return path.string() + " cannot be written: its " + what + " " + file.string() + ": " + std::strerror(errno) +
             " (the database writes its file and the -wal and -shm files beside it)";
    }
  }
  return std::nullopt;
}

}  // namespace

const std::error_category& store_category() noexcept {
  static const enum_error_category<errc> instance("store", describe);
  return instance;
}

failure sqlite_failure(int code, std::string_view what, sqlite3* db) {
  std::string detail(what);
  detail += ": ";
  // sqlite3_errmsg describes the last call on the connection, which is the
  // failing one for every caller here; errstr is the fallback without one.
  detail += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return fail(classify(code), std::move(detail));
}

std::int64_t to_millis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_millis(std::int64_t millis) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis));
}

// ---- statement ----

unique_sqlite_stmt statement_cache::take(std::string_view sql) {
  const auto found = idle_.find(std::string(sql));
  if (found == idle_.end() || found->second.empty()) return nullptr;
  auto stmt = std::move(found->second.back());
  found->second.pop_back();
  return stmt;
}

void statement_cache::give(std::string sql, unique_sqlite_stmt stmt) {
  auto& idle = idle_[std::move(sql)];
  if (idle.size() < 4) idle.push_back(std::move(stmt));  // more is a statement used recursively: let it go
}

statement::~statement() {
  if (!stmt_ || cache_ == nullptr) return;
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  cache_->give(std::move(sql_), std::move(stmt_));
}

void statement::note_bind(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) {
    bind_error_ = rc;
    bind_error_index_ = index;
  }
}

statement& statement::bind(int index, std::int64_t value) {
  note_bind(sqlite3_bind_int64(stmt_.get(), index, value), index);
  return *this;
}

statement& statement::bind(int index, std::string_view text) {
  note_bind(sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
  return *this;
}

statement& statement::bind_blob(int index, std::span<const std::uint8_t> data) {
  // A zero-length blob must still be a blob, not NULL: sqlite3_bind_blob64
  // treats a null pointer as NULL, so point at a static byte.
  static const std::uint8_t empty = 0;
  const void* pointer = data.empty() ? &empty : data.data();
  note_bind(sqlite3_bind_blob64(stmt_.get(), index, pointer, data.size(), SQLITE_TRANSIENT), index);
  return *this;
}

statement& statement::bind_null(int index) {
  note_bind(sqlite3_bind_null(stmt_.get(), index), index);
  return *this;
}

statement& statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

statement& statement::bind(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

result<bool> statement::step() {
  if (bind_error_ != SQLITE_OK) {
    return sqlite_failure(bind_error_, "binding parameter " + std::to_string(bind_error_index_));
  }
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_failure(rc, sqlite3_sql(stmt_.get()), db_);
}

result<void> statement::run() {
  auto stepped = step();
  if (!stepped) return stepped.error();
  return ok();
}

void statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_ = SQLITE_OK;
  bind_error_index_ = 0;
}

std::int64_t statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::optional<std::int64_t> statement::column_optional_int64(int column) const {
  if (column_is_null(column)) return std::nullopt;
  return column_int64(column);
}

std::string statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_.get(), column);
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::optional<std::string> statement::column_optional_text(int column) const {
  if (column_is_null(column)) return std::nullopt;
  return column_text(column);
}

std::vector<std::uint8_t> statement::column_blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), column));
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  if (data == nullptr || size <= 0) return {};
  return {data, data + size};
}

bool statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

// ---- database ----

namespace {

constexpr mode_t private_file_mode = 0600;
constexpr mode_t private_directory_mode = 0700;
constexpr mode_t group_and_others = 0077;

/// Creates the database file 0600 before SQLite does (SQLite would take the
/// umask's 0644, and its WAL and SHM files copy the database's mode); an
/// existing file, WAL or SHM open to group or others is tightened.
void make_database_files_private(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, private_file_mode);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path.string() + suffix;
    struct stat info {};
    if (::lstat(file.c_str(), &info) == 0 && S_ISREG(info.st_mode) && (info.st_mode & group_and_others) != 0) {
      (void)::chmod(file.c_str(), private_file_mode);  // not ours: SQLite's own open reports what matters
    }
  }
}

std::string octal_mode(mode_t mode) {
  char text[8];
  (void)std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

result<std::string> prepare_private_directory(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> missing;
  for (auto part = path.lexically_normal(); !part.empty() && !std::filesystem::exists(part);
       part = part.parent_path()) {
    missing.push_back(part);
    if (part == part.parent_path()) break;
  }
  // Outermost first.
  std::reverse(missing.begin(), missing.end());
  for (const auto& directory : missing) {
    if (::mkdir(directory.c_str(), private_directory_mode) != 0 && errno != EEXIST) {
      return fail(errc::open_failed, directory.string() + ": cannot create: " + std::strerror(errno));
    }
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return fail(errc::open_failed, path.string() + ": " + std::strerror(errno));
  if (!S_ISDIR(info.st_mode)) return fail(errc::open_failed, path.string() + " is not a directory");
  if ((info.st_mode & group_and_others) == 0) return std::string();
  const std::string was = octal_mode(info.st_mode);
  if (info.st_uid == ::geteuid() && ::chmod(path.c_str(), private_directory_mode) == 0) {
    return path.string() + " was open to group or others (" + was + "): tightened to 0700, it holds message contents";
  }
  return path.string() + " is open to group or others (" + was +
         ") and cannot be tightened by this user: its databases hold message contents; fix with: chmod 700 " +
         path.string();
}

result<database> database::open(const std::filesystem::path& path, const open_options& options) {
  if (!options.read_only) make_database_files_private(path);
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  unique_sqlite handle(raw);  // sqlite3_open_v2 may allocate a handle even on failure
  if (rc != SQLITE_OK) return sqlite_failure(rc, "opening " + path.string(), handle.get());
  sqlite3_extended_result_codes(handle.get(), 1);
  sqlite3_busy_timeout(handle.get(), static_cast<int>(options.busy_timeout.count()));
  database db(std::move(handle), path, options.read_only);
  // A file that is not a database fails on the first read, not at open: read
  // the schema now so that a corrupt file is reported as such at start.
  if (auto probe = db.exec("SELECT count(*) FROM sqlite_schema"); !probe) {
    // On a read-only file system SQLite only says "unable to open database file".
    if (auto why = unwritable(path); !options.read_only && why) return fail(errc::read_only, *why);
    return probe.error();
  }
  if (!options.read_only && sqlite3_db_readonly(db.db_.get(), "main") == 1) {
    return fail(errc::read_only, unwritable(path).value_or(path.string() + " was opened for reading only"));
  }
  if (!options.read_only) {
    if (auto wal = db.exec("PRAGMA journal_mode=WAL"); !wal) return wal.error();
    if (auto fk = db.exec("PRAGMA foreign_keys=ON"); !fk) return fk.error();
    if (auto sync = db.exec("PRAGMA synchronous=FULL"); !sync) return sync.error();
    if (options.keep_log_at_close) {
      const int rc = sqlite3_db_config(db.db_.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      if (rc != SQLITE_OK) return sqlite_failure(rc, "keeping the log at close", db.db_.get());
    }
  }
  return db;
}

result<void> database::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return ok();
  std::string detail = text.substr(0, 60);
  if (message != nullptr) {
    detail += ": ";
    detail += message;
    sqlite3_free(message);
  }
  return fail(sqlite_failure(rc, "").code, std::move(detail));
}

result<statement> database::prepare(std::string_view sql) {
  if (auto cached = cache_->take(sql)) return statement(std::move(cached), db_.get(), cache_.get(), std::string(sql));
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  unique_sqlite_stmt stmt(raw);
  if (rc != SQLITE_OK) return sqlite_failure(rc, "preparing " + std::string(sql.substr(0, 60)), db_.get());
  return statement(std::move(stmt), db_.get(), cache_.get(), std::string(sql));
}

result<void> database::set_durability(durability level) {
  if (level == durability_) return ok();
  auto set = exec(level == durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (set) durability_ = level;
  return set;
}

result<bool> database::has_table(std::string_view name) {
  auto stmt = prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, name);
  return stmt->step();
}

std::int64_t database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_.get());
}

int database::changes() const {
  return sqlite3_changes(db_.get());
}

// ---- transaction ----

result<transaction> transaction::begin(database& db, durability level) {
  if (auto set = db.set_durability(level); !set) return set.error();
  auto begin = db.prepare("BEGIN IMMEDIATE");
  if (!begin) return begin.error();
  if (auto begun = begin->run(); !begun) return begun.error();
  return transaction(db);
}

result<void> transaction::commit() {
  if (db_ == nullptr) throw std::logic_error("transaction already finished");
  auto commit = db_->prepare("COMMIT");
  auto committed = commit ? commit->run() : result<void>(commit.error());
  if (!committed) {
    // A failed COMMIT (disk full, I/O error) may leave the transaction open.
    (void)db_->exec("ROLLBACK");
  }
  db_ = nullptr;
  return committed;
}

transaction::~transaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

// ---- savepoint ----

result<savepoint> savepoint::begin(database& db, std::string_view name) {
  auto begin = db.prepare("SAVEPOINT " + std::string(name));
  if (!begin) return begin.error();
  if (auto begun = begin->run(); !begun) return begun.error();
  return savepoint(db, std::string(name));
}

result<void> savepoint::release() {
  if (db_ == nullptr) throw std::logic_error("savepoint already finished");
  auto release = std::exchange(db_, nullptr)->prepare("RELEASE " + name_);
  if (!release) return release.error();
  return release->run();
}

result<void> savepoint::roll_back() {
  if (db_ == nullptr) throw std::logic_error("savepoint already finished");
  // ROLLBACK TO leaves the savepoint open: RELEASE ends it.
  auto undo = db_->prepare("ROLLBACK TO " + name_);
  if (!undo) return undo.error();
  if (auto undone = undo->run(); !undone) return undone.error();
  return release();
}

savepoint::~savepoint() {
  if (db_ == nullptr) return;
  try {
    (void)roll_back();
  } catch (...) {
    // Nothing may leave a destructor; the enclosing transaction's rollback undoes it anyway.
  }
}

}  // namespace danemq::store
