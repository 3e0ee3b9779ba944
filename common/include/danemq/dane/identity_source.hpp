#pragma once
// The interface through which the message layer finds a peer's keys: DANE
// discovery implements it; unit tests of the message layer use a fake.

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
  std::string name;                  ///< the canonical name that was asked for (RFC 7671 section 7)
  std::vector<trusted_key> keys;     ///< every usable key, in a deterministic order; keys[0] is the one to encrypt to
  bool dnssec_secure{false};         ///< the TLSA RRset was DNSSEC-secure
  std::chrono::steady_clock::time_point valid_until{};  ///< cache expiry (TTL, capped)
};

using dane_identity_ptr = std::shared_ptr<const dane_identity>;

class identity_source {
 public:
  virtual ~identity_source() = default;
  /// The trusted keys of `name`, never empty on success. Errors are dane::errc:
  /// nxdomain, nodata, insecure, bogus, no_usable_record, timeout, servfail, ...
  /// Safe to call from several threads at once.
  [[nodiscard]] virtual result<dane_identity_ptr> discover(std::string_view name) = 0;
};

}  // namespace danemq::dane
