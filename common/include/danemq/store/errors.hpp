#pragma once
// Errors of the storage module (SQLite): each way opening, writing or reading
// the service database can fail, named, so that a service can tell a full disk
// from a corrupt file from a programming error.

#include <system_error>

namespace danemq::store {

enum class errc {
  ok = 0,
  open_failed,       ///< the database file could not be opened or created
  read_only,         ///< the database (or its directory) is read-only
  corrupt,           ///< the file is not a database or is damaged
  disk_full,         ///< the disk or quota is full
  io_error,          ///< a read, write or fsync failed
  busy,              ///< another process holds the database locked beyond the timeout
  schema_mismatch,   ///< the file holds a schema of a newer or unknown version
  statement_failed,  ///< a statement could not be prepared or run (a bug, or SQLite out of memory)
  not_found,         ///< no row with that id
  full,              ///< a bounded table reached its limit
  conflict,          ///< a row with that key exists (a unique constraint)
  over_quota,        ///< one key's share of a bounded table is used up (the others may still fit)
};

const std::error_category& store_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

}  // namespace danemq::store

template <>
struct std::is_error_code_enum<danemq::store::errc> : std::true_type {};
