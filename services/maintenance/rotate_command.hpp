#pragma once
// Key rotation and renewal (RFC 7671 section 8.1, "current + next"):
//   rotate begin [--key-type T] [--compromised]
//                        a next key and certificate (<name>.next.key.pem,
//                        .next.crt.pem), {current, next} published.
//                        --compromised: a new key at once, only its record
//                        published, the old key destroyed.
//   rotate commit        once DNS shows both records securely and TLSA_TTL
//                        has passed: next becomes current, the old key is
//                        kept as <name>.prev.key.pem (record still published).
//   rotate finish        once MESSAGE_MAX_AGE has passed since commit: the
//                        old record leaves DNS; run again one horizon plus
//                        TTL later, it destroys the previous key.
//   rotate status [--json]
//   renew                a new certificate for the same key, republished.
// A phase that is not due exits 4 (exit_not_yet) with one line saying what
// it waits for and until when; every phase is safe to run again.

#include <string>

#include "maintenance_app.hpp"

namespace danemq::maintenance {

/// Adds `rotate` (begin, commit, finish, status) and `renew` to the app's CLI.
void register_rotate_commands(maintenance_app& app);

/// What `watch` should run next for the rotation: "begin" (ROTATE_AFTER set
/// and the certificate that old), "commit", "finish", or empty (nothing to
/// do). Only reads files.
[[nodiscard]] std::string next_rotation_step(const settings& config, const rotation_settings& rotation);

}  // namespace danemq::maintenance
