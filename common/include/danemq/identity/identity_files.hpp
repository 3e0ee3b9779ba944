#pragma once
// The identity volume: <CRYPTO_PATH>/<name>.key.pem, .crt.pem, .csr.pem — the
// original's file names, so an existing volume keeps working.

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"
#include "danemq/identity/errors.hpp"
#include "danemq/pkcs11/token_key.hpp"

namespace danemq::identity {

struct identity_paths {
  std::filesystem::path key;          ///< <name>.key.pem, mode 0600
  std::filesystem::path certificate;  ///< <name>.crt.pem, mode 0644
  std::filesystem::path csr;          ///< <name>.csr.pem, mode 0600

  [[nodiscard]] static identity_paths of(const std::filesystem::path& crypto_path, std::string_view name);
};

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory, fsync, chmod `mode`, chown `owner` when given, rename, fsync of
/// the directory. A crash leaves either the old file or the new one, never a
/// half-written one. With `overwrite` false an existing file is refused
/// (failure file_exists) and left untouched. Failure file_unwritable otherwise.
[[nodiscard]] result<void> write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                                                 mode_t mode, std::optional<uid_t> owner, bool overwrite);

/// Reads a whole file of at most `max_size` bytes; failure file_unreadable.
[[nodiscard]] result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_size = 1 << 20);

/// Loads the private key at `path`. Refuses a key file readable by group or
/// others (failure insecure_key_file, saying to chmod 600) unless
/// `allow_insecure_permissions`, refuses keys outside the allow-list and
/// unreadable or corrupt files (bad_key_file / file_unreadable). The PEM text is
/// cleansed from memory after parsing.
[[nodiscard]] result<crypto::unique_evp_pkey> load_private_key(const std::filesystem::path& path,
                                                               bool allow_insecure_permissions = false);

/// An identity's private key wherever it lives.
struct identity_key {
  /// The whole key for a key file; the public half for a token key.
  crypto::unique_evp_pkey key;
  /// The token object's operations, or nullptr for a key file.
  std::shared_ptr<const crypto::key_operations> outside;
};

/// Loads an identity's private key: from the PKCS#11 token when
/// `token.key_uri` is set (the file is then not read), else from `key_file`
/// as load_private_key does. Failures of load_private_key, or of
/// pkcs11::open_token_key (pkcs11 category: bad_uri, module_unavailable,
/// token_not_found, pin_unusable, key_not_found, unsupported_key).
[[nodiscard]] result<identity_key> load_identity_key(const std::filesystem::path& key_file,
                                                     const pkcs11::token_settings& token,
                                                     bool allow_insecure_permissions = false);

/// Loads a PEM certificate; failure file_unreadable or bad_certificate_file.
[[nodiscard]] result<crypto::unique_x509> load_certificate(const std::filesystem::path& path);

/// A device's own identity: its name, key and certificate, checked to match.
struct local_identity {
  std::string name;
  identity_paths paths;
  /// The whole key when it lives in the process (a key file); its public half
  /// when it lives in a token (then `outside_key` holds the private half).
  crypto::unique_evp_pkey key;
  crypto::unique_x509 certificate;
  /// The token object that does the private operations, or nullptr.
  std::shared_ptr<const crypto::key_operations> outside_key{};

  /// What signs and decrypts for this identity; valid while it lives.
  [[nodiscard]] crypto::private_key private_key() const {
    return outside_key ? crypto::private_key(*key, *outside_key) : crypto::private_key(*key);
  }
};

/// Loads and cross-checks <crypto_path>/<name>.{key,crt}.pem; failure
/// key_mismatch when the certificate is not the key's, plus the loaders' errors.
[[nodiscard]] result<local_identity> load_local_identity(const std::filesystem::path& crypto_path,
                                                         std::string_view name,
                                                         bool allow_insecure_permissions = false);
/// The same with the key in a PKCS#11 token when `token.key_uri` is set
/// (load_identity_key); the certificate stays <crypto_path>/<name>.crt.pem.
[[nodiscard]] result<local_identity> load_local_identity(const std::filesystem::path& crypto_path,
                                                         std::string_view name, const pkcs11::token_settings& token,
                                                         bool allow_insecure_permissions = false);

}  // namespace danemq::identity
