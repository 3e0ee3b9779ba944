#pragma once
// JWS (RFC 7515) as danemq uses it: one signature, its header protected,
// flattened JSON (the original's default) or compact serialization, RS256
// with RSA keys and ES256 with EC P-256 keys, and nothing else. Signing and
// verification are cjose's; the strict parsing and the policy are ours and
// run before cjose sees the input.

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"
#include "danemq/jose/errors.hpp"

namespace danemq::jose {

/// How a JWS or JWE is written out.
enum class serialization {
  flattened_json,  ///< {"payload":…,"protected":…,"signature":…}: jwcrypto's default, the original's wire format
  compact,         ///< header.payload.signature
};

/// The members of a protected header that danemq reads. Others are ignored,
/// unless named in `crit`, which is refused.
/// What a receipt names: the receipted note, by the digest of its signing
/// input (the same whatever serialization carried it) and its `jti`.
struct receipt_claim {
  std::string of;   ///< base64url SHA-256 of the receipted JWS's "<protected>.<payload>"
  std::string jti;  ///< the receipted note's jti
};

/// Header member names of danemq's receipts (signed, in the JWS header).
inline constexpr const char* receipt_request_member = "danemq_receipt_request";
inline constexpr const char* receipt_member = "danemq_receipt";

struct protected_header {
  std::string alg;
  std::optional<std::string> enc;  ///< JWE only
  std::optional<std::string> typ;
  std::optional<std::string> x5u;   ///< a DNS URI of the signer (JWS) or of the recipient (JWE)
  std::optional<std::string> aud;   ///< v2: the recipient the signer meant
  std::optional<std::int64_t> iat;  ///< v2: seconds since the epoch
  std::optional<std::string> jti;   ///< v2: random message id
  /// danemq_receipt_request: true — the signer asks for a signed receipt.
  bool receipt_request{false};
  /// danemq_receipt (listed in `crit`): this note is a receipt for another.
  std::optional<receipt_claim> receipt;
  std::string json;  ///< the decoded header text
};

/// A JWS that passed the syntax and algorithm checks, not yet verified.
struct parsed_jws {
  serialization form{serialization::flattened_json};
  std::string protected_b64;  ///< as received: part of the signing input
  std::string payload_b64;    ///< as received: part of the signing input
  std::string signature_b64;
  protected_header header;
  std::string payload;  ///< decoded (still unauthenticated)
};

/// Largest JWS text parse_jws reads by default.
inline constexpr std::size_t default_max_jws_size = 1 << 20;

/// Parses a flattened-JSON or compact JWS. Refuses, before any crypto: input
/// over `max_size` (too_large); general JSON with `signatures`, an unprotected
/// `header`, unknown top-level members, non-canonical base64url, headers that
/// are not a JSON object or carry a member twice, `b64` (bad_format); an `alg`
/// other than RS256 or ES256 — `none`, HS*, PS*, ES384... — and `zip`
/// (bad_algorithm); any `crit` (unsupported_extension).
[[nodiscard]] result<parsed_jws> parse_jws(std::string_view text, std::size_t max_size = default_max_jws_size);

/// Verifies the signature with `key`. Failure bad_algorithm when the alg does
/// not fit the key (RS256 needs RSA of 2048 bits or more, ES256 needs EC
/// P-256), signature_failed when the signature is wrong or malformed.
[[nodiscard]] result<void> verify_jws(const parsed_jws& jws, const EVP_PKEY& key);

/// What the signer puts in the protected header besides `alg` (which the key
/// decides: RS256 for RSA, ES256 for EC P-256).
struct jws_header_fields {
  std::string x5u;                 ///< the signer's DNS URI
  std::optional<std::string> aud;  ///< v2 claims; all three or none
  std::optional<std::int64_t> iat;
  std::optional<std::string> jti;
  bool receipt_request{false};           ///< v2 only
  std::optional<receipt_claim> receipt;  ///< v2 only; written with `crit`
};

/// base64url(SHA-256(protected_b64 "." payload_b64)): names a signed note
/// whatever serialization carries it.
[[nodiscard]] std::string note_digest(std::string_view protected_b64, std::string_view payload_b64);

/// Signs `payload` with `key` (in the process or in a token) and serializes
/// the JWS. The header members are written in lexical order, as jwcrypto
/// does. Failure unsupported_key for keys outside the allow-list,
/// key_unavailable when the key's token cannot sign now, internal_error.
[[nodiscard]] result<std::string> sign_jws(std::string_view payload, const crypto::private_key& key,
                                           const jws_header_fields& fields, serialization form);

}  // namespace danemq::jose
