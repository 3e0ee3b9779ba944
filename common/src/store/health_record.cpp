#include "danemq/store/health_record.hpp"

namespace danemq::store {

result<void> health_record::save(const service_health& health) {
  auto db = db_.lock();
  if (auto set = db->set_durability(durability::normal); !set) return set.error();
  auto stmt = db->prepare(
      "INSERT INTO health (id, connected, identity_in_sync, updated_at, detail, processing_halted) "
      "VALUES (1, ?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (id) DO UPDATE SET connected = excluded.connected, identity_in_sync = excluded.identity_in_sync, "
      "updated_at = excluded.updated_at, detail = excluded.detail, processing_halted = excluded.processing_halted");
  if (!stmt) return stmt.error();
  stmt->bind(1, std::int64_t{health.connected ? 1 : 0}).bind(2, std::int64_t{health.identity_in_sync ? 1 : 0});
  stmt->bind(3, to_millis(health.updated_at)).bind(4, std::string_view(health.detail));
  stmt->bind(5, std::string_view(health.processing_halted));
  return stmt->run();
}

result<std::optional<service_health>> health_record::load() {
  auto db = db_.lock();
  auto known = db->has_table("health");
  if (!known) return known.error();
  if (!*known) return std::optional<service_health>{};
  auto stmt =
      db->prepare("SELECT connected, identity_in_sync, updated_at, detail, processing_halted FROM health WHERE id = 1");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<service_health>{};
  service_health health;
  health.connected = stmt->column_int64(0) != 0;
  health.identity_in_sync = stmt->column_int64(1) != 0;
  health.updated_at = from_millis(stmt->column_int64(2));
  health.detail = stmt->column_text(3);
  health.processing_halted = stmt->column_text(4);
  return std::optional<service_health>{std::move(health)};
}

}  // namespace danemq::store
