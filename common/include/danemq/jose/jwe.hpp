#pragma once
// JWE (RFC 7516) as danemq uses it: one recipient, flattened JSON (the
// original's default) or compact serialization, and exactly two algorithm
// pairs, chosen by the recipient's key type:
//   RSA (>= 2048 bits): RSA-OAEP-256 key wrap + A256CBC-HS512 (the original's)
//   EC P-256:           ECDH-ES direct key agreement + A256GCM
// On input either content encryption is accepted with either key management.
// cjose encrypts and authenticates the content; the key management cjose 0.6
// lacks is filled with OpenSSL EVP (see common/src/jose/rsa_oaep.hpp and
// ecdh_es.hpp).

#include <openssl/evp.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"
#include "danemq/jose/errors.hpp"
#include "danemq/jose/jws.hpp"

namespace danemq::jose {

/// A JWE that passed the syntax and algorithm checks, not yet decrypted.
struct parsed_jwe {
  serialization form{serialization::flattened_json};
  std::string protected_b64;  ///< as received: the additional authenticated data
  protected_header header;
  crypto::bytes encrypted_key;  ///< RSA-OAEP-256: the wrapped key; ECDH-ES: empty
  crypto::bytes iv;
  crypto::bytes tag;
  std::string iv_b64;          ///< as received: canonical base64url of the above
  std::string ciphertext_b64;  ///< checked canonical base64url, decoded by cjose only
  std::string tag_b64;
  crypto::unique_evp_pkey ephemeral_key;  ///< ECDH-ES: the sender's `epk`, checked to be a P-256 point
  crypto::bytes party_u_info;             ///< ECDH-ES: `apu`, if any
  crypto::bytes party_v_info;             ///< ECDH-ES: `apv`, if any
};

/// Parses a flattened-JSON or compact JWE. Refuses, before any crypto: input
/// over `max_size` or a ciphertext that could only decrypt to more than
/// `max_plaintext_size` bytes (too_large); general JSON with `recipients`,
/// shared `unprotected` headers, `aad`, a per-recipient `header` with anything
/// but `epk`, unknown members, non-canonical base64url, duplicate header
/// members, an IV or authentication tag of the wrong length for `enc` (a
/// truncated GCM tag: CVE-2023-37464), a missing or misplaced `epk` or
/// encrypted key, a `typ` other than JWE (bad_format); an `alg` other than
/// RSA-OAEP-256 / ECDH-ES, an `enc` other than A256CBC-HS512 / A256GCM, and
/// `zip` (bad_algorithm); any `crit` (unsupported_extension).
[[nodiscard]] result<parsed_jwe> parse_jwe(std::string_view text, std::size_t max_size, std::size_t max_plaintext_size);

/// Decrypts with our private key (in the process or in a token). Failure
/// bad_algorithm when `alg` does not fit the key, decryption_failed when the
/// key does not unwrap or the content does not authenticate (one code for
/// both: no padding oracle), too_large when the plaintext exceeds
/// `max_plaintext_size`, key_unavailable when the key's token cannot be used now.
[[nodiscard]] result<std::string> decrypt_jwe(const parsed_jwe& jwe, const crypto::private_key& private_key,
                                              std::size_t max_plaintext_size);

/// Encrypts `plaintext` to `recipient_key` with the pair its type decides,
/// protected header {"alg","enc","typ":"JWE","x5u"} (plus cjose's `epk` for
/// ECDH-ES). Failure unsupported_key, internal_error.
[[nodiscard]] result<std::string> encrypt_jwe(std::string_view plaintext, const EVP_PKEY& recipient_key,
                                              std::string_view x5u, serialization form);

}  // namespace danemq::jose
