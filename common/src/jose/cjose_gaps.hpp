#pragma once
// What cjose 0.6.2 lacks, filled with OpenSSL EVP — and nothing else:
//
//  1. Serialization: cjose reads and writes only compact JWS, and writes
//     flattened JWE only with its own member set. The original sends
//     jwcrypto's flattened JSON at both layers. split_* turn either form
//     into the base64url parts (strictly: nothing unknown is let through),
//     join_* write either form (members in lexical order, as jwcrypto).
//  2. RSA-OAEP-256 key management (OAEP with SHA-256 and MGF1-SHA-256),
//     which cjose 0.6 does not have: the original's only key management.
//     The content encryption stays cjose's (its "dir" mode with our CEK).
//  3. ECDH-ES key agreement on receipt: cjose 0.6 reads `epk` only from the
//     protected header, but jwcrypto writes it in the per-recipient header,
//     and cjose 0.6.2.1's ECDH-ES decryption leaks its encrypted-key buffer
//     (fixed upstream after Debian 12's release). The Concat KDF is
//     OpenSSL's SSKDF (NIST SP 800-56C single-step, the JWA construction).
//     cjose still does ECDH-ES on sending.

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/jose/jws.hpp"

namespace danemq::jose::detail {

/// The three base64url parts of a JWS, as written.
struct jws_parts {
  serialization form{serialization::flattened_json};
  std::string protected_b64;
  std::string payload_b64;
  std::string signature_b64;
};

/// The five base64url parts of a single-recipient JWE, as written, plus the
/// per-recipient unprotected header of the flattened form (JSON text), if any.
struct jwe_parts {
  serialization form{serialization::flattened_json};
  std::string protected_b64;
  std::string encrypted_key_b64;
  std::string iv_b64;
  std::string ciphertext_b64;
  std::string tag_b64;
  std::optional<std::string> recipient_header_json;
};

/// A JSON object (first non-blank character '{') is read as flattened JSON with
/// exactly the members payload, protected, signature; anything else as
/// compact: three parts of base64url characters. Failure bad_format (also for
/// general JSON, an unprotected `header`, unknown members).
[[nodiscard]] result<jws_parts> split_jws(std::string_view text);
[[nodiscard]] std::string join_jws(const jws_parts& parts, serialization form);

/// Flattened JSON with members protected, iv, ciphertext, tag, optional
/// encrypted_key and optional per-recipient `header` (an object); or compact
/// with five parts. Failure bad_format (also for `recipients`, `unprotected`,
/// `aad`, unknown members).
[[nodiscard]] result<jwe_parts> split_jwe(std::string_view text);
/// Writes the parts; an empty encrypted key is left out of flattened JSON
/// (as jwcrypto does), the per-recipient header is never written.
[[nodiscard]] std::string join_jwe(const jwe_parts& parts, serialization form);

/// RSAES-OAEP with SHA-256 and MGF1-SHA-256 (JWA "RSA-OAEP-256") of a
/// content key to an RSA public key. Failure unsupported_key, internal_error.
[[nodiscard]] result<crypto::bytes> rsa_oaep256_wrap(const EVP_PKEY& recipient, std::span<const std::uint8_t> cek);
/// The inverse with our private key. Failure decryption_failed (no detail
/// beyond that: the reason must not leak).
[[nodiscard]] result<crypto::bytes> rsa_oaep256_unwrap(const EVP_PKEY& private_key,
                                                       std::span<const std::uint8_t> encrypted_key);

/// JWA 4.6 ECDH-ES in direct key agreement mode: Z = ECDH(our key, epk),
/// CEK = ConcatKDF-SHA256(Z, AlgorithmID = enc, apu, apv, key_bits). Both
/// keys on the same curve; `ephemeral_key` must come from
/// p256_public_key_from_jwk (which validates it). Failure
/// decryption_failed, internal_error.
[[nodiscard]] result<crypto::bytes> ecdh_es_content_key(const EVP_PKEY& private_key, const EVP_PKEY& ephemeral_key,
                                                        std::string_view enc, std::size_t key_bits,
                                                        std::span<const std::uint8_t> apu = {},
                                                        std::span<const std::uint8_t> apv = {});

/// A P-256 public key from a JWK `epk` object (kty EC, crv P-256, x and y of
/// 32 bytes each, the point on the curve). Failure bad_format.
[[nodiscard]] result<crypto::unique_evp_pkey> p256_public_key_from_jwk(std::string_view jwk_json);

}  // namespace danemq::jose::detail
