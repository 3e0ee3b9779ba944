#pragma once
// `danemq-sender outbox`: the waiting messages as a user reads them (one line
// each, the id after `#`) or as a program does (one JSON object per line,
// with the same `id` that `outbox cancel` takes).

#include <chrono>
#include <string>

#include "danemq/store/outbox.hpp"

namespace danemq::sender {

/// "#12 2024-05-01T12:00:00.000Z bob.example waiting 5m, 3 attempts, last error: <why>".
/// `horizon`: MESSAGE_MAX_AGE; an older entry is flagged (receivers would refuse it).
[[nodiscard]] std::string outbox_line(const store::outbox_entry& entry, std::chrono::system_clock::time_point now,
                                      std::chrono::seconds horizon);

/// {"id":12,"recipient":"bob.example","created_at":"...","age_seconds":300,"attempts":3,"last_error":"...","size":812}
[[nodiscard]] std::string outbox_json(const store::outbox_entry& entry, std::chrono::system_clock::time_point now,
                                      std::chrono::seconds horizon);

}  // namespace danemq::sender
