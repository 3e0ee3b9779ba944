#pragma once
// How a quarantine row is read: the columns to select, in order, and the
// entry they make (shared by the listing and by `quarantine show`).

#include <string_view>

#include "danemq/store/outcome_tables.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::store::detail {

inline constexpr std::string_view quarantine_columns =
    "id, raw_id, topic, payload, received_at, quarantined_at, reason_category, reason_value, reason";

/// The entry of the current row of a statement that selected quarantine_columns first.
[[nodiscard]] inline quarantine_entry read_quarantine_row(const statement& stmt) {
  quarantine_entry entry;
  entry.id = stmt.column_int64(0);
  entry.raw_id = stmt.column_int64(1);
  entry.topic = stmt.column_text(2);
  entry.payload = stmt.column_blob(3);
  entry.received_at = from_millis(stmt.column_int64(4));
  entry.quarantined_at = from_millis(stmt.column_int64(5));
  entry.reason.category = stmt.column_text(6);
  entry.reason.value = static_cast<int>(stmt.column_int64(7));
  entry.reason.text = stmt.column_text(8);
  return entry;
}

}  // namespace danemq::store::detail
