// message_store::summary(), for `danemq-receiver stats`.
#include "danemq/store/message_store.hpp"

namespace danemq::store {

result<message_summary> message_store::summary(std::optional<clock::time_point> since) {
  auto db = db_->lock();
  const std::optional<std::int64_t> from = since ? std::optional<std::int64_t>(to_millis(*since)) : std::nullopt;
  message_summary out;
  auto raw = db->prepare(
      "SELECT count(*), coalesce(sum(copies - 1), 0), coalesce(sum(state = 0), 0) FROM raw_messages "
      "WHERE ?1 IS NULL OR received_at >= ?1");
  if (!raw) return raw.error();
  raw->bind(1, from);
  if (auto row = raw->step(); !row) return row.error();
  out.received = static_cast<std::uint64_t>(raw->column_int64(0));
  out.copies = static_cast<std::uint64_t>(raw->column_int64(1));
  out.pending = static_cast<std::uint64_t>(raw->column_int64(2));
  auto inbox = db->prepare("SELECT count(*) FROM inbox WHERE ?1 IS NULL OR received_at >= ?1");
  if (!inbox) return inbox.error();
  inbox->bind(1, from);
  if (auto row = inbox->step(); !row) return row.error();
  out.accepted = static_cast<std::uint64_t>(inbox->column_int64(0));
  auto reasons = db->prepare(
      "SELECT reason_category, reason_value, count(*), min(reason) FROM quarantine "
      "WHERE ?1 IS NULL OR received_at >= ?1 GROUP BY reason_category, reason_value ORDER BY count(*) DESC");
  if (!reasons) return reasons.error();
  reasons->bind(1, from);
  for (;;) {
    auto row = reasons->step();
    if (!row) return row.error();
    if (!*row) break;
    const auto count = static_cast<std::uint64_t>(reasons->column_int64(2));
    out.reasons[reasons->column_text(0) + ":" + std::to_string(reasons->column_int64(1))] = {count,
                                                                                             reasons->column_text(3)};
    out.quarantined += count;
  }
  return out;
}

}  // namespace danemq::store
