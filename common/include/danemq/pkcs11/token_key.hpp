#pragma once
// Identity keys that live in a PKCS#11 token (a secure element, a TPM through
// tpm2-pkcs11, SoftHSM in tests) and never leave it: the module is loaded
// with dlopen and driven through its C_GetFunctionList table, not through an
// OpenSSL engine. One logged-in session per token and process, its calls
// serialized by a mutex (the receiver's workers call from several threads).
// A session the token drops (removed, restarted) is reopened by the next
// operation; until then operations fail with crypto::errc::key_unavailable.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"
#include "danemq/pkcs11/errors.hpp"
#include "danemq/pkcs11/uri.hpp"

namespace danemq::pkcs11 {

/// p11-kit's proxy, found on the library path (Debian:
/// /usr/lib/<multiarch>/p11-kit-proxy.so): it reaches every module p11-kit
/// has registered (SoftHSM, tpm2-pkcs11, OpenSC).
inline constexpr const char* default_module = "p11-kit-proxy.so";

/// Where a token key is and how to log in.
struct token_settings {
  std::string key_uri;                           ///< IDENTITY_KEY_URI: empty, the key is a file
  std::filesystem::path module{default_module};  ///< PKCS11_MODULE
  std::filesystem::path pin_file;                ///< PKCS11_PIN_FILE: the user PIN, alone on its first line
};

/// A token key: its public half, and the operations of its private half.
struct token_key {
  crypto::unique_evp_pkey public_key;
  std::shared_ptr<const crypto::key_operations> operations;
};

/// Opens the key the URI names (a private key object and its public key
/// object, matched by label and id). Failure bad_uri, module_unavailable,
/// token_not_found, pin_unusable (naming the PIN file or saying the token
/// refused the PIN), key_not_found, unsupported_key.
[[nodiscard]] result<token_key> open_token_key(const token_settings& settings);

/// Generates a key pair of `kind` (RSA 2048 bits or EC P-256) inside the
/// token, labelled and identified as the URI says, the private key
/// CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and not CKA_EXTRACTABLE. An existing
/// key of that label or id is refused (key_exists) unless `replace`, which
/// destroys it first. Failures of open_token_key, plus operation_failed.
[[nodiscard]] result<token_key> generate_token_key(const token_settings& settings, crypto::key_kind kind, bool replace);

/// The URI of the key beside `key_uri`'s in a rotation: the same token, its
/// object label and id with `suffix` appended (".next" turns
/// `pkcs11:token=danemq;object=abc` into `...;object=abc.next`). Failure bad_uri.
[[nodiscard]] result<std::string> sibling_key_uri(std::string_view key_uri, std::string_view suffix);

/// Gives the private and public key objects the URI of `settings` names the
/// label and id of `to_uri` (C_SetAttributeValue): how a rotation switches
/// keys without a key leaving the token. Failures of open_token_key,
/// key_not_found when no object is named, key_exists when `to_uri` names
/// objects already, bad_uri, operation_failed.
[[nodiscard]] result<void> relabel_token_key(const token_settings& settings, std::string_view to_uri);

/// Destroys the private and public key objects the URI names
/// (C_DestroyObject); none named is success. Failures of open_token_key
/// before the key is looked for, operation_failed.
[[nodiscard]] result<void> destroy_token_key(const token_settings& settings);

/// What the token says of the private key object.
struct private_key_attributes {
  bool extractable{true};         ///< CKA_EXTRACTABLE
  bool sensitive{false};          ///< CKA_SENSITIVE
  bool never_extractable{false};  ///< CKA_NEVER_EXTRACTABLE
  bool on_token{false};           ///< CKA_TOKEN
};

/// Reads the attributes of the private key object the URI names (for checks
/// and tests). Failures of open_token_key.
[[nodiscard]] result<private_key_attributes> inspect_private_key(const token_settings& settings);

}  // namespace danemq::pkcs11
