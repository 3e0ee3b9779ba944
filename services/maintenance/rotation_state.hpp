#pragma once
// Where a key rotation stands (RFC 7671 section 8.1, "current + next"), kept
// in <CRYPTO_PATH>/<name>.rotation.json beside the keys, written atomically
// (temporary file, fsync, rename), so every phase can be re-run after a
// crash and each refuses when the one before is not done:
//   begun      the next key exists and {current, next} is published; commit
//              waits until DNS shows both securely and TLSA_TTL has passed
//              since that was first seen (no sender encrypts from a cache
//              that lacks the next key any more).
//   committed  next became current, the old key is the previous one (kept
//              for decryption, its record still published); finish waits
//              for the acceptance horizon (MESSAGE_MAX_AGE) since commit.
//   finished   the old record is gone from DNS; the previous key is kept for
//              one more horizon plus TTL (a peer may have encrypted to the
//              old record until finish), then destroyed and the file removed.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"

namespace danemq::maintenance {

enum class rotation_phase { begun, committed, finished };

/// "begun", "committed", "finished".
[[nodiscard]] std::string_view to_string(rotation_phase phase) noexcept;

struct rotation_state {
  using time_point = std::chrono::system_clock::time_point;
  rotation_phase phase{rotation_phase::begun};
  time_point began_at{};
  std::optional<time_point> seen_published_at;  ///< first time DNS showed {current, next} securely
  std::optional<time_point> committed_at;
  std::optional<time_point> finished_at;
  unsigned ttl{3600};               ///< TLSA_TTL the records were published with
  std::chrono::seconds max_age{0};  ///< MESSAGE_MAX_AGE at commit (what finish waits for)
  std::string old_key;              ///< SHA-256 of the old key's SubjectPublicKeyInfo, hex
  std::string new_key;              ///< the same of the new key

  /// When commit may switch: seen published + TTL (unset until seen).
  [[nodiscard]] std::optional<time_point> commit_due() const;
  /// When finish may remove the old record: committed + horizon.
  [[nodiscard]] std::optional<time_point> finish_due() const;
  /// When the previous key is destroyed: finished + horizon + TTL.
  [[nodiscard]] std::optional<time_point> destroy_due() const;
};

/// <crypto_path>/<name>.rotation.json
[[nodiscard]] std::filesystem::path rotation_state_path(const std::filesystem::path& crypto_path,
                                                        std::string_view name);

/// The state as JSON, and back; failure file_unreadable naming what is wrong.
[[nodiscard]] std::string to_json(const rotation_state& state);
[[nodiscard]] result<rotation_state> rotation_state_from_json(std::string_view text);

/// The state in the file, or nothing when there is no rotation. Failure
/// file_unreadable (unreadable or corrupt file, naming it).
[[nodiscard]] result<std::optional<rotation_state>> load_rotation_state(const std::filesystem::path& path);
/// Writes the state atomically (mode 0600, owned by `owner` when given).
[[nodiscard]] result<void> save_rotation_state(const std::filesystem::path& path, const rotation_state& state,
                                               std::optional<uid_t> owner);

/// "2026-12-04 23:15:02 UTC"
[[nodiscard]] std::string utc_text(std::chrono::system_clock::time_point when);

}  // namespace danemq::maintenance
