#pragma once
// A TLSA record's RDATA (RFC 6698): what an identity publishes in DNS.

#include <cstdint>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/identity/errors.hpp"

namespace danemq::identity {

namespace tlsa {
/// Certificate usage (RFC 6698 2.1.1, RFC 7218 names).
enum usage : std::uint8_t { pkix_ta = 0, pkix_ee = 1, dane_ta = 2, dane_ee = 3, pkix_cd = 4 };
/// Selector (2.1.2).
enum selector : std::uint8_t { full_certificate = 0, subject_public_key_info = 1 };
/// Matching type (2.1.3).
enum matching : std::uint8_t { exact = 0, sha2_256 = 1, sha2_512 = 2 };
}  // namespace tlsa

struct tlsa_record {
  std::uint8_t usage{tlsa::dane_ee};
  std::uint8_t selector{tlsa::full_certificate};
  std::uint8_t matching{tlsa::exact};
  crypto::bytes data;  ///< certificate association data

  /// "3 0 0 <lowercase hex>": the presentation form of the RDATA.
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const tlsa_record&, const tlsa_record&) = default;
};

/// The record of `cert` for the parameters; usage 0..4, selector 0..1,
/// matching 0..2, else failure bad_tlsa_parameters.
[[nodiscard]] result<tlsa_record> make_tlsa_record(const X509& cert, std::uint8_t usage, std::uint8_t selector,
                                                   std::uint8_t matching);

/// The association data for selector/matching over a certificate (the bytes a
/// record of those parameters must carry to match it).
[[nodiscard]] result<crypto::bytes> association_data(const X509& cert, std::uint8_t selector, std::uint8_t matching);

/// A zone-file line: "<name>. 3600 IN TLSA 3 0 0 <hex>".
[[nodiscard]] std::string zone_file_line(std::string_view name, const tlsa_record& record, unsigned ttl = 3600);

}  // namespace danemq::identity
