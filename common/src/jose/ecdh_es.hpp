#pragma once
// ECDH-ES key agreement on receipt (JWA 4.6, direct key agreement), with
// OpenSSL EVP: cjose 0.6 reads `epk` only from the protected header, but
// jwcrypto writes it in the per-recipient header, and cjose 0.6.2.1's ECDH-ES
// decryption leaks its encrypted-key buffer (fixed upstream after Debian
// 12's release). The Concat KDF is OpenSSL's SSKDF (NIST SP 800-56C
// single-step, the JWA construction). cjose still does ECDH-ES on sending.

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"

namespace danemq::jose::detail {

/// JWA 4.6 ECDH-ES in direct key agreement mode: Z = ECDH(our key, epk),
/// CEK = ConcatKDF-SHA256(Z, AlgorithmID = enc, apu, apv, key_bits). Both
/// keys on the same curve; `ephemeral_key` must come from
/// p256_public_key_from_jwk (which validates it). Our key may live in a
/// token. Failure decryption_failed, key_unavailable, internal_error.
[[nodiscard]] result<crypto::bytes> ecdh_es_content_key(const crypto::private_key& private_key,
                                                        const EVP_PKEY& ephemeral_key, std::string_view enc,
                                                        std::size_t key_bits, std::span<const std::uint8_t> apu = {},
                                                        std::span<const std::uint8_t> apv = {});

/// A P-256 public key from a JWK `epk` object (kty EC, crv P-256, x and y of
/// 32 bytes each, the point on the curve). Failure bad_format.
[[nodiscard]] result<crypto::unique_evp_pkey> p256_public_key_from_jwk(std::string_view jwk_json);

}  // namespace danemq::jose::detail
