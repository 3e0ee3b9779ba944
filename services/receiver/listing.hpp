#pragma once
// What the receiver prints: the original's line for each accepted message,
// one JSON object per line with --json, and the rows of the `inbox` and
// `quarantine` listings. Pure: values in, text out.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "danemq/config/time_text.hpp"
#include "danemq/core/result.hpp"
#include "danemq/store/outcome_tables.hpp"

namespace danemq::receiver {

/// "<sender> says: <message>" — the original's line.
[[nodiscard]] std::string says_line(const store::inbox_entry& entry);
/// One JSON object: id, sender, recipient, received_at, iat, jti, message, dnssec_secure, legacy.
[[nodiscard]] std::string inbox_json(const store::inbox_entry& entry);
/// "<received_at> <sender> says: <message>" for `inbox`.
[[nodiscard]] std::string inbox_line(const store::inbox_entry& entry);
/// One JSON object: id, raw_id, topic, received_at, quarantined_at, reason {category, code, text}, payload_base64,
/// size.
[[nodiscard]] std::string quarantine_json(const store::quarantine_entry& entry);
/// "<received_at> #<id> <topic> <category>:<code> <text> (<n> bytes)" for `quarantine`: the id the
/// `quarantine show|release|purge` commands take (the JSON's `id`).
[[nodiscard]] std::string quarantine_line(const store::quarantine_entry& entry);
/// Everything known of one refused message for `quarantine show`, one fact per
/// line; the payload as base64 with `with_payload`.
[[nodiscard]] std::string quarantine_details(const store::quarantine_entry& entry, bool with_payload);

// Times in listings (shared with the sender's `sent`).
using config::iso_time;
using config::parse_since;

}  // namespace danemq::receiver
