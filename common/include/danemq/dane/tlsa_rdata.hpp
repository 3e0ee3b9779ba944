#pragma once
// TLSA records as they come out of DNS: RDATA wire form and presentation form
// in, a checked record out, or the reason the record cannot be used. Pure: no
// I/O, so the parsers are unit-tested and fuzzed on their own.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/identity/tlsa_record.hpp"

namespace danemq::dane {

/// A TLSA record that passed check_tlsa_record, with what its data holds.
struct checked_tlsa {
  identity::tlsa_record record;
  crypto::unique_x509 certificate;     ///< set for selector 0, matching 0 (a whole certificate)
  crypto::unique_evp_pkey public_key;  ///< set for matching 0 (the certificate's key, or the SubjectPublicKeyInfo)
};

/// The record in TLSA RDATA wire form (RFC 6698 section 2.1): usage, selector,
/// matching type, then the association data. The three numbers are not
/// range-checked here (check_tlsa_record does). Failure malformed_record when
/// the RDATA is shorter than four octets (no association data).
[[nodiscard]] result<identity::tlsa_record> tlsa_from_rdata(std::span<const std::uint8_t> rdata);

/// The RDATA wire form of a record (the inverse of tlsa_from_rdata).
[[nodiscard]] crypto::bytes tlsa_to_rdata(const identity::tlsa_record& record);

/// Parses the presentation form "3 0 0 30820a..." (the hex may be split by
/// blanks, as zone files do). Failure malformed_record naming the field.
[[nodiscard]] result<identity::tlsa_record> tlsa_from_text(std::string_view text);

/// Checks a record against RFC 6698 and our allow-lists:
///  - usage 0..4, selector 0 or 1, matching type 0, 1 or 2 (malformed_record);
///  - a SHA-256 hash is 32 octets, a SHA-512 hash 64 (malformed_record);
///  - matching-type-0 data is one whole DER certificate (selector 0) or
///    SubjectPublicKeyInfo (selector 1) with no trailing bytes (malformed_record);
///  - the key it carries is one danemq accepts, RSA >= 2048 or EC P-256
///    (unsupported_record).
/// Usage-specific rules (DNSSEC, PKIX) are the trust decision's, not this.
[[nodiscard]] result<checked_tlsa> check_tlsa_record(const identity::tlsa_record& record);

/// A short label for reports and errors: "3 0 0 (DANE-EE, 812 octets)".
[[nodiscard]] std::string describe_record(const identity::tlsa_record& record);

/// RFC 7218 acronym of a usage ("DANE-EE", "PKIX-CD", ...) or "usage <n>".
[[nodiscard]] std::string usage_name(std::uint8_t usage);

}  // namespace danemq::dane
