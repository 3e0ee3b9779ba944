#pragma once
// The identity's private keys: during a key rotation (RFC 7671 section 8.1,
// "current + next") a device holds up to three, each with its certificate:
//   current   <name>.key.pem / <name>.crt.pem            (the original's names)
//   next      <name>.next.key.pem / <name>.next.crt.pem  (rotate begin .. commit)
//   previous  <name>.prev.key.pem / <name>.prev.crt.pem  (rotate commit .. destroyed)
// The receiver decrypts with any of them; the current one signs. Every
// service loads them through load_key_set(), and swaps a reloaded set in
// whole (shared_key_set) when the files change.

#include <sys/types.h>

#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/identity/errors.hpp"
#include "danemq/identity/identity_files.hpp"

namespace danemq::identity {

enum class key_role { current, next, previous };

/// "current", "next", "previous".
[[nodiscard]] std::string_view to_string(key_role role) noexcept;

/// The key and certificate files of a role; current's are identity_paths::of()'s.
[[nodiscard]] identity_paths key_paths(const std::filesystem::path& crypto_path, std::string_view name, key_role role);

/// One private key of the identity, with its certificate.
struct held_key {
  key_role role{key_role::current};
  identity_paths paths;
  /// The whole key for a key file; its public half for a token key.
  crypto::unique_evp_pkey key;
  crypto::unique_x509 certificate;
  /// The token object that does the private operations, or nullptr.
  std::shared_ptr<const crypto::key_operations> outside{};

  /// What decrypts (and, for current, signs) with this key; valid while it lives.
  [[nodiscard]] crypto::private_key private_key() const {
    return outside ? crypto::private_key(*key, *outside) : crypto::private_key(*key);
  }
};

/// The identity's private keys: current first, then next, then previous.
struct key_set {
  std::string name;
  std::vector<held_key> keys;

  /// The key of `role`, or null.
  [[nodiscard]] const held_key* find(key_role role) const;
  /// The current key (load_key_set never returns a set without one).
  [[nodiscard]] const held_key& current() const { return keys.front(); }
};

/// Loads the current key (required: failures as load_local_identity's) and
/// the next and previous ones whose key and certificate files both exist (a
/// pair half written by a rotation in progress is left out until complete).
/// A next or previous pair that is present but unreadable, corrupt or
/// mismatched fails the whole load, naming the file.
/// With `token.key_uri` set every key lives in that PKCS#11 token: the
/// current one as the URI names it, the next and previous ones beside it
/// (key_token); a next or previous certificate whose key the token does not
/// hold (a rotation step under way) is left out.
[[nodiscard]] result<key_set> load_key_set(const std::filesystem::path& crypto_path, std::string_view name,
                                           bool allow_insecure_permissions = false);
[[nodiscard]] result<key_set> load_key_set(const std::filesystem::path& crypto_path, std::string_view name,
                                           const pkcs11::token_settings& token,
                                           bool allow_insecure_permissions = false);

/// Where a role's key lives in the token of the current key `current`: the
/// same token and login, its object label and id with ".next" or ".prev"
/// appended (pkcs11::sibling_key_uri); `current` itself for the current role
/// and for keys in files (no URI).
/// Failure pkcs11 bad_uri.
[[nodiscard]] result<pkcs11::token_settings> key_token(const pkcs11::token_settings& current, key_role role);

/// A copy of the current key as a local_identity (for signing and for APIs
/// that take one); keys and certificates are shared by reference count.
[[nodiscard]] local_identity current_identity(const key_set& keys);

/// A key set of one current key, from a local identity (shared by reference count).
[[nodiscard]] key_set key_set_of(const local_identity& identity);

/// What the key files look like on disk (inode, size, modification time of
/// each of the six files): two equal stamps mean nothing to reload.
struct key_files_stamp {
  std::array<std::array<long long, 4>, 6> files{};
  friend bool operator==(const key_files_stamp&, const key_files_stamp&) = default;
};
[[nodiscard]] key_files_stamp stamp_key_files(const std::filesystem::path& crypto_path, std::string_view name);

/// The key set a running service uses, replaced whole when the files change:
/// a reader keeps the set it took for as long as it needs it. Thread-safe.
class shared_key_set {
 public:
  explicit shared_key_set(std::shared_ptr<const key_set> keys = {}) : keys_(std::move(keys)) {}
  [[nodiscard]] std::shared_ptr<const key_set> get() const {
    std::lock_guard lock(mutex_);
    return keys_;
  }
  void replace(std::shared_ptr<const key_set> keys) {
    std::lock_guard lock(mutex_);
    keys_.swap(keys);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const key_set> keys_;
};

/// Destroys a private key file: overwrites its bytes with zeros, fsyncs,
/// unlinks it and fsyncs the directory. A missing file is success. Failure
/// file_unwritable.
[[nodiscard]] result<void> destroy_key_file(const std::filesystem::path& path);

}  // namespace danemq::identity
