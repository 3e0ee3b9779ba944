#pragma once
// Errors of the message layer: each reason a message cannot be sealed or
// opened, named so that the receiver can log it, quarantine the message, or
// (for the temporary ones) retry it later.

#include <system_error>

#include "danemq/core/result.hpp"

namespace danemq::jose {

enum class errc {
  ok = 0,
  bad_format,                 ///< not a JWE/JWS we accept: syntax, base64url, JSON, missing or misplaced members
  bad_algorithm,              ///< alg/enc outside the allow-list, `none`, HS*, an alg that does not fit the key, `zip`
  unsupported_extension,      ///< a `crit` header names an extension danemq does not implement
  too_large,                  ///< over MAX_MESSAGE_SIZE (before parsing) or over the plaintext limit
  not_for_us,                 ///< the JWE `x5u` or the signed `aud` names another recipient
  legacy_refused,             ///< no signed recipient binding (the original's format) while accept_legacy is off
  too_old,                    ///< `iat` is older than the freshness window
  from_the_future,            ///< `iat` is later than now plus the allowed clock skew
  replay,                     ///< (sender, jti) was already seen within the window
  decryption_failed,          ///< the content key could not be unwrapped or the content did not authenticate
  signature_failed,           ///< no key of the sender verifies the signature
  unknown_in_dns,             ///< the peer's name has no TLSA record (NXDOMAIN or NODATA)
  not_dnssec_secure,          ///< the peer's TLSA answer is not DNSSEC-secure (insecure or bogus)
  lookup_failed,              ///< DANE discovery failed for another, permanent, reason
  lookup_temporarily_failed,  ///< DNS timeout, SERVFAIL or network error: try again later
  replay_memory_failed,       ///< the replay memory could not be read or written: try again later
  unsupported_key,            ///< a key outside the allow-list (RSA >= 2048 bits, EC P-256)
  internal_error,             ///< cjose or OpenSSL failed where it should not (allocation, ...)
  sender_not_allowed,         ///< the claimed sender is not on ALLOWED_SENDERS (checked before any DNS query)
  processing_failed_repeatedly,  ///< the receiver could not finish processing the message after repeated attempts
  sender_over_quota,             ///< the sender's share of the replay memory (REPLAY_MEMORY_PER_SENDER) is used up
  unexpected_receipt,            ///< a receipt for no message we sent to its signer
  key_unavailable,  ///< our private key cannot be used now (its PKCS#11 token is missing or refuses): try again later
};

const std::error_category& jose_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), jose_category()};
}

/// True for the failures that say nothing about the message itself (a DNS
/// timeout, SERVFAIL or network error; a replay memory that could not be
/// written; a private key whose token is away): the receiver keeps such a message and tries again later instead
/// of quarantining it. False for every other code, including codes of other
/// categories.
[[nodiscard]] bool is_temporary(const std::error_code& code) noexcept;
[[nodiscard]] inline bool is_temporary(const failure& f) noexcept {
  return is_temporary(f.code);
}

}  // namespace danemq::jose

template <>
struct std::is_error_code_enum<danemq::jose::errc> : std::true_type {};
