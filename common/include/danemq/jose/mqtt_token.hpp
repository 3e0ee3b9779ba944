#pragma once
// The broker admission token: the MQTT password of a device that connects
// with its identity name as user name. A compact JWS (RS256 or ES256, the
// same allow-list as messages) signed by the identity key, whose payload
// holds exactly the claims iss (the name), aud (the broker's name), iat
// (seconds since the epoch) and jti (random). The broker's plugin verifies it
// against the name's DANE keys; the token proves possession of the key now,
// for this broker, once.

#include <openssl/evp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/private_key.hpp"
#include "danemq/jose/errors.hpp"
#include "danemq/jose/jws.hpp"

namespace danemq::jose {

/// Largest token text parse_mqtt_token reads: an RS256 token of a 4096-bit
/// key is under 1 KiB.
inline constexpr std::size_t max_mqtt_token_size = 4096;

/// The claims of an admission token.
struct mqtt_token_claims {
  std::string iss;  ///< the device's canonical DNS name
  std::string aud;  ///< the broker's name, as the broker is configured to expect it
  std::int64_t iat{0};
  std::string jti;  ///< random, 1..64 characters
};

/// A token that passed the syntax and algorithm checks, not yet verified.
struct parsed_mqtt_token {
  parsed_jws jws;
  mqtt_token_claims claims;
};

/// A fresh token for `name` (made canonical) and `audience`, issued at `now`
/// with a random jti. Failure bad_format for a name that is not a DNS name or
/// an empty audience, and sign_jws's failures (unsupported_key,
/// key_unavailable, internal_error).
[[nodiscard]] result<std::string> make_mqtt_token(std::string_view name, std::string_view audience,
                                                  const crypto::private_key& key,
                                                  std::chrono::system_clock::time_point now);

/// Parses a token. Refuses, before any crypto: more than max_mqtt_token_size
/// bytes (too_large); anything but a compact JWS (flattened JSON included),
/// a payload that is not a JSON object of exactly iss, aud, iat, jti with the
/// right types, an iss that is not a canonical DNS name, an empty aud, a jti
/// that is empty or over 64 characters (bad_format); an alg other than RS256
/// or ES256 (bad_algorithm); any crit (unsupported_extension).
[[nodiscard]] result<parsed_mqtt_token> parse_mqtt_token(std::string_view text);

/// What the broker expects of a token besides its signature.
struct mqtt_token_policy {
  std::string audience;                  ///< aud must equal it (after canonicalisation when both are names)
  std::chrono::seconds max_age{60};      ///< iat no older than this
  std::chrono::seconds allowed_skew{5};  ///< iat no later than now + this
};

/// Checks the claims of `token` for user name `user` at `now`. Failure
/// bad_format when iss is not `user` (canonical forms compared), not_for_us
/// for another audience, too_old, from_the_future.
[[nodiscard]] result<void> check_mqtt_token_claims(const parsed_mqtt_token& token, std::string_view user,
                                                   const mqtt_token_policy& policy,
                                                   std::chrono::system_clock::time_point now);

/// Verifies the signature with one of the name's keys (verify_jws).
[[nodiscard]] result<void> verify_mqtt_token(const parsed_mqtt_token& token, const EVP_PKEY& key);

}  // namespace danemq::jose
