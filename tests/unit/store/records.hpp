#pragma once
// Rows for the store suite: incoming messages and the outcome records the
// receiver gives message_store::record, built the way it builds them.

#include <string>
#include <vector>

#include "danemq/store/message_store.hpp"

namespace danemq::store::test_records {

inline incoming_message incoming(std::string topic, std::string payload, clock::time_point at = clock::now()) {
  return incoming_message{std::move(topic), bytes(payload.begin(), payload.end()), at};
}

inline inbox_entry accepted(std::int64_t raw_id, std::string sender, std::string text) {
  inbox_entry entry;
  entry.raw_id = raw_id;
  entry.sender = std::move(sender);
  entry.recipient = "bob.example";
  entry.received_at = clock::now();
  entry.issued_at = 1700000000;
  entry.jti = "j-" + std::to_string(raw_id);
  entry.message = std::move(text);
  entry.dnssec_secure = true;
  return entry;
}

inline const refusal bad_signature{"jose", 7, "signature verification failed: x"};
inline const refusal dns_timeout{"dane", 5, "timeout"};

inline outcome_record accept(const inbox_entry& entry, std::vector<replay_entry> replay = {}) {
  outcome_record record;
  record.what = outcome_record::kind::accept;
  record.raw_id = entry.raw_id;
  record.entry = entry;
  record.replay = std::move(replay);
  return record;
}

inline outcome_record quarantine(std::int64_t raw_id, const refusal& reason = bad_signature) {
  outcome_record record;
  record.what = outcome_record::kind::quarantine;
  record.raw_id = raw_id;
  record.reason = reason;
  return record;
}

inline outcome_record defer(std::int64_t raw_id, int attempts, clock::time_point next_attempt_at,
                            clock::time_point first_failure_at, const refusal& reason = dns_timeout) {
  outcome_record record;
  record.what = outcome_record::kind::defer;
  record.raw_id = raw_id;
  record.attempts = attempts;
  record.next_attempt_at = next_attempt_at;
  record.first_failure_at = first_failure_at;
  record.reason = reason;
  return record;
}

/// Records one outcome in a transaction of its own; its result.
inline result<std::int64_t> record_alone(message_store& store, const outcome_record& one) {
  auto recorded = store.record(std::span(&one, 1));
  if (!recorded) return recorded.error();
  return recorded->front();
}

/// Stores messages and returns their raw ids.
inline std::vector<std::int64_t> store_all(message_store& store, const std::vector<incoming_message>& messages) {
  std::vector<std::int64_t> ids;
  auto stored = store.raw().store_raw(messages);
  if (!stored) return ids;
  for (const auto& outcome : *stored) ids.push_back(outcome.raw_id);
  return ids;
}

}  // namespace danemq::store::test_records
