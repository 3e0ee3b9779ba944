#pragma once
// The interface through which the message layer finds a peer's keys: DANE
// discovery implements it; unit tests of the message layer use a fake.

#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/identity/tlsa_record.hpp"

namespace danemq::dane {

/// One key DANE lets us trust for a name, with where it came from.
struct trusted_key {
  crypto::unique_evp_pkey public_key;  ///< always set
  crypto::unique_x509 certificate;     ///< set when the record carried a whole certificate (x 0 0)
  identity::tlsa_record record;        ///< the TLSA record that vouches for it
};

/// What discovery established for a name.
struct dane_identity {
  std::string name;               ///< the canonical name that was asked for (RFC 7671 section 7)
  std::vector<trusted_key> keys;  ///< every usable key, in a deterministic order; keys[0] is the one to encrypt to
  bool dnssec_secure{false};      ///< the TLSA RRset was DNSSEC-secure
  std::chrono::steady_clock::time_point valid_until{};  ///< cache expiry (TTL, capped)
  /// Usable hash records (`x y 1`, `x y 2`): they carry no key, but confirm a
  /// certificate presented in-band (see identity_source::confirm_certificate).
  std::vector<identity::tlsa_record> confirming_records{};
};

using dane_identity_ptr = std::shared_ptr<const dane_identity>;

class identity_source {
 public:
  virtual ~identity_source() = default;
  /// The trusted keys of `name`, never empty on success. Errors are dane::errc:
  /// nxdomain, nodata, insecure, bogus, no_usable_record, timeout, servfail, ...
  /// Safe to call from several threads at once.
  [[nodiscard]] virtual result<dane_identity_ptr> discover(std::string_view name) = 0;

  /// The key of `certificate`, presented in-band for `name` (e.g. in a
  /// message header), when DANE vouches for it: the certificate (or its
  /// public key) is one of the trusted keys, or matches a usable hash record.
  /// Errors as discover(), plus no_match. The default implementation matches
  /// against discover(name); discovery also uses hash-only RRsets.
  [[nodiscard]] virtual result<trusted_key> confirm_certificate(std::string_view name, const X509& certificate);

  /// Whether `name` has resolved successfully before (as far as a bounded
  /// memory knows): the receiver retries a temporary failure of a name that
  /// never did for a much shorter time. The default, true, treats every name
  /// as known.
  [[nodiscard]] virtual bool resolved_before(std::string_view /*name*/) { return true; }
  /// Tells the source that `name`'s identity verified an accepted message, so
  /// that it keeps that identity cached in preference to unproven ones. The
  /// default does nothing.
  virtual void mark_proven(std::string_view /*name*/) {}
};

}  // namespace danemq::dane
