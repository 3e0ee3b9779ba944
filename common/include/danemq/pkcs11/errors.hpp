#pragma once
// Errors of the PKCS#11 module: what a user must fix (a setting, the PIN, the
// token), each one line naming the setting or the object.

#include <system_error>

namespace danemq::pkcs11 {

enum class errc {
  ok = 0,
  bad_uri,             ///< IDENTITY_KEY_URI is not a PKCS#11 URI we accept (RFC 7512; no pin-value)
  module_unavailable,  ///< PKCS11_MODULE cannot be loaded or initialized
  token_not_found,     ///< no slot holds a token the URI names
  pin_unusable,        ///< PKCS11_PIN_FILE is missing, unreadable or open to others, or the token refuses the PIN
  key_not_found,       ///< the token holds no key object the URI names
  key_exists,          ///< the token already holds a key of that label or id (use --force)
  operation_failed,    ///< the token refused or failed an operation
  unsupported_key,     ///< a key type we do not use (RSA >= 2048 or EC P-256)
};

const std::error_category& pkcs11_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), pkcs11_category()};
}

}  // namespace danemq::pkcs11

template <>
struct std::is_error_code_enum<danemq::pkcs11::errc> : std::true_type {};
