#pragma once
// Database upgrades. Each database carries the version of its schema in
// PRAGMA user_version and its program a list of migrations, the steps from
// one version to the next. Opening a database runs the steps it lacks, all in
// one transaction: a crash during an upgrade leaves the old version with every
// row in it, never half of the new one. A database written by a newer program
// is refused rather than misread.

#include <span>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store {

/// The statements that bring a schema from `version - 1` to `version`.
struct migration {
  int version{0};
  std::string_view statements;
};

/// Brings `db` to the last version of `steps` (ordered, versions 1, 2, ... with
/// no gap): reads PRAGMA user_version and, in one transaction, runs the steps
/// above it and sets the new version. A read-only database is checked, not
/// changed. Returns the version the database holds afterwards. Failure
/// schema_mismatch when the database is newer than the last step (one line
/// naming the file and both versions), and the database's errors.
[[nodiscard]] result<int> migrate(database& db, std::span<const migration> steps);

/// The version a database holds (PRAGMA user_version; 0 for a new file).
[[nodiscard]] result<int> schema_version(database& db);

}  // namespace danemq::store
