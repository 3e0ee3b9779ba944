#pragma once
// The content layer of a JWE with a known content key, done by cjose in its
// "dir" mode: the protected header (as received) is the additional
// authenticated data, the key management happened before (rsa_oaep.hpp, ecdh_es.hpp).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"

namespace danemq::jose::detail {

/// Content key length in bytes for A256CBC-HS512 / A256GCM / the others cjose
/// knows (A128GCM, A192GCM, A128CBC-HS256, A192CBC-HS384); 0 for unknown.
[[nodiscard]] std::size_t content_key_size(std::string_view enc) noexcept;

/// The fields cjose writes around the content: all base64url.
struct encrypted_content {
  std::string protected_b64;
  std::string iv_b64;
  std::string ciphertext_b64;
  std::string tag_b64;
};

/// Encrypts under `protected_header` (must name `enc`) with `cek`, a fresh
/// random IV. Failure internal_error.
[[nodiscard]] result<encrypted_content> encrypt_content(const nlohmann::json& protected_header,
                                                        std::span<const std::uint8_t> cek, std::string_view plaintext);

/// Authenticates and decrypts. The `enc` named in the protected header picks
/// the cipher; the caller has checked it and the IV and tag lengths.
/// Failure decryption_failed.
[[nodiscard]] result<std::string> decrypt_content(const encrypted_content& content, std::span<const std::uint8_t> cek);

}  // namespace danemq::jose::detail
