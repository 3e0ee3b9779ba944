#pragma once
// Errors of DANE discovery: each way a lookup or a validation can fail, named,
// so that callers (the message layer, the receiver's quarantine, the sender's
// exit code) can tell them apart.

#include <system_error>

namespace danemq::dane {

enum class errc {
  ok = 0,
  bad_name,            ///< the name asked for is not a valid DNS name
  nxdomain,            ///< the name does not exist
  nodata,              ///< the name exists but has no TLSA record
  servfail,            ///< the resolver answered SERVFAIL (or REFUSED)
  timeout,             ///< no answer within the timeout and retries
  malformed_answer,    ///< the answer could not be parsed
  network_error,       ///< the resolver could not be reached (socket error)
  insecure,            ///< the answer is not DNSSEC-secure where DANE requires it
  bogus,               ///< DNSSEC validation failed (bad signature, broken chain)
  no_usable_record,    ///< TLSA records exist but none is usable (all malformed or unsupported)
  no_match,            ///< no TLSA record matches the presented certificate
  pkix_failed,         ///< PKIX validation failed (PKIX-EE, PKIX-CD)
  bad_configuration,   ///< resolver address, trust anchor or mode invalid
  update_failed,       ///< a dynamic update (RFC 2136) was refused or failed
  malformed_record,    ///< one TLSA record is malformed (bad parameters, hash length, unparseable DER)
  unsupported_record,  ///< one TLSA record is well formed but not usable for an identity (e.g. DANE-TA, PKIX-EE without
                       ///< a certificate)
  lookup_throttled,    ///< not asked: the name's zone keeps failing, or has too many lookups under way
};

const std::error_category& dane_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), dane_category()};
}

}  // namespace danemq::dane

template <>
struct std::is_error_code_enum<danemq::dane::errc> : std::true_type {};
