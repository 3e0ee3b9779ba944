#include "danemq/store/migrations.hpp"

#include <stdexcept>
#include <string>

namespace danemq::store {
namespace {

result<void> refuse_if_newer(const database& db, int version, int latest) {
  if (version <= latest) return ok();
  return fail(errc::schema_mismatch, db.path().string() + " has schema version " + std::to_string(version) +
                                         ", written by a newer danemq; this one knows up to version " +
                                         std::to_string(latest));
}

}  // namespace

result<int> schema_version(database& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<int>(stmt->column_int64(0));
}

result<int> migrate(database& db, std::span<const migration> steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].version != static_cast<int>(i) + 1) throw std::logic_error("migrations out of order");
  }
  const int latest = static_cast<int>(steps.size());
  auto before = schema_version(db);
  if (!before) return before.error();
  if (auto newer = refuse_if_newer(db, *before, latest); !newer) return newer.error();
  if (*before == latest || db.read_only()) return *before;

  auto tx = transaction::begin(db, durability::full);
  if (!tx) return tx.error();
  // Read again under the write lock: another process may have upgraded the
  // file between the first read and BEGIN IMMEDIATE.
  auto version = schema_version(db);
  if (!version) return version.error();
  if (auto newer = refuse_if_newer(db, *version, latest); !newer) return newer.error();
  for (const auto& step : steps.subspan(static_cast<std::size_t>(*version))) {
    if (auto applied = db.exec(step.statements); !applied) {
      return fail(applied.error().code, db.path().string() + ": upgrading to schema version " +
                                            std::to_string(step.version) + ": " + applied.error().detail);
    }
  }
  if (auto set = db.exec("PRAGMA user_version = " + std::to_string(latest)); !set) return set.error();
  if (auto committed = tx->commit(); !committed) return committed.error();
  return latest;
}

}  // namespace danemq::store
