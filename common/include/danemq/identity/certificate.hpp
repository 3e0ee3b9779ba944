#pragma once
// Self-signed identity certificates and CSRs, as the original makes them.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/crypto/private_key.hpp"
#include "danemq/identity/errors.hpp"

namespace danemq::identity {

/// The subject's fixed fields; defaults are the original's.
struct subject_fields {
  std::string country{"US"};              ///< COUNTRY
  std::string state{"CA"};                ///< STATE
  std::string locality{"San Francisco"};  ///< LOCALITY
  std::string organization{"example"};    ///< ORGANIZATION
};

/// Default validity of a self-signed certificate. The original used 10 days;
/// DANE-EE ignores the dates (RFC 7671 section 5.1) but other tools check
/// them, and a device re-keys by hand, so a year with a warning before expiry.
inline constexpr std::chrono::days default_validity{365};

/// A certificate for `name` (CN and SAN dNSName), signed by `key` itself (in
/// the process or in a token) with SHA-256, with a random 159-bit serial,
/// valid from now for `validity`. Failure certificate_failed.
[[nodiscard]] result<crypto::unique_x509> make_self_signed_certificate(const crypto::private_key& key,
                                                                       std::string_view name,
                                                                       const subject_fields& subject,
                                                                       std::chrono::days validity = default_validity);

/// A CSR with the same subject and SAN, signed with SHA-256. Failure certificate_failed.
[[nodiscard]] result<crypto::unique_x509_req> make_csr(const crypto::private_key& key, std::string_view name,
                                                       const subject_fields& subject);

/// True when the certificate carries the public half of `key` (the original's
/// cert_matches_private_key).
[[nodiscard]] bool certificate_matches_key(const X509& cert, const EVP_PKEY& key);

/// The dNSName entries of the SubjectAltName, lowercase.
[[nodiscard]] std::vector<std::string> subject_alt_dns_names(const X509& cert);
/// The subject's commonName, or empty.
[[nodiscard]] std::string subject_common_name(const X509& cert);

/// notBefore / notAfter as time points.
[[nodiscard]] std::chrono::system_clock::time_point not_before(const X509& cert);
[[nodiscard]] std::chrono::system_clock::time_point not_after(const X509& cert);

}  // namespace danemq::identity
