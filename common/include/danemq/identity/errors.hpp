#pragma once
// Errors of the identity module (names, keys, certificates, identity files).

#include <system_error>

namespace danemq::identity {

enum class errc {
  ok = 0,
  bad_dns_name,           ///< not a valid DNS name (label, length or character rules)
  bad_key_type,           ///< a key type we do not make or accept
  key_generation_failed,  ///< OpenSSL could not make a key
  certificate_failed,     ///< OpenSSL could not make or sign a certificate or CSR
  bad_tlsa_parameters,    ///< usage/selector/matching outside RFC 6698
  file_exists,            ///< refusing to overwrite an existing file without --force
  file_unreadable,        ///< a file could not be opened or read
  file_unwritable,        ///< a file or its directory could not be written
  bad_key_file,           ///< the key file is not an unencrypted private key we accept
  bad_certificate_file,   ///< the certificate file is not a PEM certificate
  key_mismatch,           ///< the certificate does not carry the private key's public key
  insecure_key_file,      ///< the key file is readable by group or others
};

const std::error_category& identity_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), identity_category()};
}

}  // namespace danemq::identity

template <>
struct std::is_error_code_enum<danemq::identity::errc> : std::true_type {};
