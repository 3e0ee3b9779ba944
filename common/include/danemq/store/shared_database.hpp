#pragma once
// One connection shared by the tables of a database and used from several
// threads at once (the receiver's network thread stores, its workers read the
// replay table, its committer records outcomes): every use holds the
// connection's lock, and what must run inside another's transaction takes the
// held lock as its argument, so that it cannot be called without it.

#include <filesystem>
#include <mutex>
#include <utility>

#include "danemq/store/sqlite.hpp"

namespace danemq::store {

/// The connection, locked for as long as this lives.
class locked_database {
 public:
  locked_database(locked_database&&) noexcept = default;
  locked_database& operator=(locked_database&&) = delete;
  locked_database(const locked_database&) = delete;
  locked_database& operator=(const locked_database&) = delete;
  ~locked_database() = default;

  [[nodiscard]] database& operator*() const { return db_; }
  [[nodiscard]] database* operator->() const { return &db_; }

 private:
  friend class shared_database;
  locked_database(std::mutex& mutex, database& db) : lock_(mutex), db_(db) {}
  std::unique_lock<std::mutex> lock_;
  database& db_;
};

class shared_database {
 public:
  explicit shared_database(database db) : db_(std::move(db)) {}
  shared_database(const shared_database&) = delete;
  shared_database& operator=(const shared_database&) = delete;
  shared_database(shared_database&&) = delete;
  shared_database& operator=(shared_database&&) = delete;
  ~shared_database() = default;

  /// Waits for the connection and holds it until the result is destroyed.
  [[nodiscard]] locked_database lock() { return locked_database(mutex_, db_); }
  [[nodiscard]] const std::filesystem::path& path() const { return db_.path(); }

 private:
  database db_;
  std::mutex mutex_;
};

}  // namespace danemq::store
