#pragma once
// The private operations danemq needs of an identity key — an ES256 or RS256
// signature, the ECDH shared secret of ECDH-ES, the RSA-OAEP-256 unwrap —
// wherever the key lives: an EVP_PKEY in this process (a key file), or an
// object in a PKCS#11 token that never hands the key out (key_operations).
// The JOSE code and the certificate code ask a private_key and never see which.

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"

namespace danemq::crypto {

/// The primitive operations of a key held outside the process. Each may fail
/// with key_unavailable (the token is gone or not logged in: try again later),
/// key_refused, or openssl_failure. Called from several threads at once.
class key_operations {
 public:
  key_operations() = default;
  key_operations(const key_operations&) = delete;
  key_operations& operator=(const key_operations&) = delete;
  virtual ~key_operations() = default;

  /// EC: the raw r||s (2 x 32 bytes) ECDSA signature of a SHA-256 digest.
  /// RSA: the RSASSA-PKCS1-v1_5 signature of a SHA-256 digest.
  [[nodiscard]] virtual result<bytes> sign_sha256_digest(std::span<const std::uint8_t> digest) const = 0;
  /// EC: the ECDH shared secret Z (the x coordinate) with a public key on our curve.
  [[nodiscard]] virtual result<bytes> derive_shared_secret(const EVP_PKEY& peer) const = 0;
  /// RSA: the raw RSA decryption (m = c^d mod n, no padding removed), as
  /// many bytes as the modulus.
  [[nodiscard]] virtual result<bytes> decrypt_raw(std::span<const std::uint8_t> block) const = 0;
  /// Names the key for messages (a PKCS#11 URI without secrets).
  [[nodiscard]] virtual std::string describe() const = 0;
};

/// A view of a private key: an in-process EVP_PKEY, or a public key plus the
/// key_operations of the object that holds its private half. Cheap to copy;
/// whatever it refers to must outlive it.
class private_key {
 public:
  /// An in-process key (a loaded key file).
  // NOLINTNEXTLINE(google-explicit-constructor): every in-process private key is one
  private_key(const EVP_PKEY& key) noexcept : key_(&key) {}
  /// A key outside the process with its public half.
  private_key(const EVP_PKEY& public_key, const key_operations& outside) noexcept
      : key_(&public_key), outside_(&outside) {}

  /// The public key (for an in-process key, the whole key).
  [[nodiscard]] const EVP_PKEY& public_key() const noexcept { return *key_; }
  /// The key's operations outside the process, or nullptr for an in-process key.
  [[nodiscard]] const key_operations* outside() const noexcept { return outside_; }

  /// SHA-256 of `message` signed as JWS wants it: RS256 (RSASSA-PKCS1-v1_5)
  /// or ES256 (the raw 64 bytes r||s of RFC 7518 section 3.4). Failure
  /// unsupported_key for other keys, key_unavailable, openssl_failure.
  [[nodiscard]] result<bytes> sign_sha256(std::span<const std::uint8_t> message) const;
  /// The ECDH shared secret Z with `peer` (EC P-256 only). Failure
  /// key_refused when `peer` does not fit, key_unavailable, openssl_failure.
  [[nodiscard]] result<bytes> derive_shared_secret(const EVP_PKEY& peer) const;
  /// RSAES-OAEP with SHA-256 and MGF1-SHA-256 decryption (RSA only). Failure
  /// key_refused, with no detail on why (the reason must not leak),
  /// key_unavailable.
  [[nodiscard]] result<bytes> rsa_oaep256_decrypt(std::span<const std::uint8_t> encrypted) const;

 private:
  const EVP_PKEY* key_;
  const key_operations* outside_{nullptr};
};

/// An ECDSA raw r||s signature (two halves of equal size) as DER
/// ECDSA-Sig-Value, as X.509 wants it. Failure openssl_failure.
[[nodiscard]] result<bytes> ecdsa_raw_to_der(std::span<const std::uint8_t> raw);

}  // namespace danemq::crypto
