#pragma once
// RSA-OAEP-256 key management (RSAES-OAEP with SHA-256 and MGF1-SHA-256),
// which cjose 0.6 does not have: the original's only key management, done
// with OpenSSL EVP. The content encryption stays cjose's (its "dir" mode
// with our content key, content_encryption.hpp).

#include <openssl/evp.h>

#include <cstdint>
#include <span>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"

namespace danemq::jose::detail {

/// RSAES-OAEP with SHA-256 and MGF1-SHA-256 (JWA "RSA-OAEP-256") of a
/// content key to an RSA public key. Failure unsupported_key, internal_error.
[[nodiscard]] result<crypto::bytes> rsa_oaep256_wrap(const EVP_PKEY& recipient, std::span<const std::uint8_t> cek);
/// The inverse with our private key. Failure decryption_failed (no detail
/// beyond that: the reason must not leak), key_unavailable when the key's
/// token cannot be used now.
[[nodiscard]] result<crypto::bytes> rsa_oaep256_unwrap(const crypto::private_key& private_key,
                                                       std::span<const std::uint8_t> encrypted_key);

}  // namespace danemq::jose::detail
