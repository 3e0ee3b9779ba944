#pragma once
// Which certificate DANE lets us trust for a name: the rules of the original,
// made explicit. Pure: the DNS answer and its DNSSEC status come in, the
// trusted keys (or why there are none) go out; the one out-of-band check,
// PKIX-CD, is a function handed in.
//
//  - DANE-EE (3) and PKIX-EE (1) count only when the RRset is DNSSEC-secure.
//    `x 0 0` yields the certificate and its key, `x 1 0` the key; hash
//    records (`x y 1`, `x y 2`) can only confirm a certificate presented
//    in-band. DANE-EE ignores the certificate's names and dates (RFC 7671
//    section 5.1); PKIX-EE checks them (and needs the whole certificate).
//  - PKIX-CD (4 0 0) counts without DNSSEC when its certificate chains to the
//    CA published by the name's authority (pkix_cd.hpp), names and dates checked.
//  - PKIX-TA (0) and DANE-TA (2) are not used for identities.
//  - An empty or wholly unusable set fails closed.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/dnssec.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/identity/tlsa_record.hpp"

namespace danemq::dane {

/// Out-of-band PKIX-CD check of a certificate for a name (see pkix_cd.hpp).
using pkix_cd_check = std::function<result<void>(const X509& certificate, std::string_view name)>;

/// What was decided about one record.
struct tlsa_verdict {
  identity::tlsa_record record;
  std::optional<failure> problem;  ///< why it is not usable; empty when it is
  bool confirm_only{false};        ///< usable, but only to confirm a presented certificate (a hash record)
};

struct trust_input {
  std::string name;  ///< the canonical name asked for
  dnssec_status status{dnssec_status::indeterminate};
  std::vector<identity::tlsa_record> records;   ///< the TLSA RRset as found in DNS
  std::chrono::system_clock::time_point now{};  ///< for the PKIX date checks
};

struct trust_decision {
  std::vector<trusted_key> keys;                          ///< usable keys, in preference order
  std::vector<identity::tlsa_record> confirming_records;  ///< usable hash records
  std::vector<tlsa_verdict> verdicts;                     ///< one per input record, in input order
};

/// Applies the rules above to every record. Usable keys are ordered
/// deterministically, whatever order DNS gave: DANE-EE before PKIX-EE before
/// PKIX-CD, then among records carrying a whole certificate the newest
/// (latest notBefore) first — a rotation's next key as soon as it is
/// published — then by RDATA bytes; keys[0] is the one to encrypt to.
/// A bogus status makes every record unusable. `pkix_cd` may be empty
/// (PKIX-CD records are then unusable).
[[nodiscard]] trust_decision decide_trust(const trust_input& input, const pkix_cd_check& pkix_cd);

/// The failure of a decision with no usable record: insecure when every
/// record failed only for lack of DNSSEC, bogus when the status is bogus,
/// else no_usable_record with each record's reason. Success when a key or a
/// confirming record is usable.
[[nodiscard]] result<void> decision_status(const trust_input& input, const trust_decision& decision);

/// Whether a DANE-established identity vouches for a certificate presented
/// in-band (e.g. in a message header): it matches one of the keys (same
/// certificate, or same public key for a key-only record) or one of the
/// confirming hash records. PKIX-EE matches also need valid dates and the
/// name in the certificate's SAN. Failure no_match naming what was tried.
[[nodiscard]] result<trusted_key> confirm_presented_certificate(const dane_identity& identity, const X509& certificate,
                                                                std::chrono::system_clock::time_point now);

/// True when `record` matches `certificate` (its selector and matching type
/// applied to the certificate give the record's data).
[[nodiscard]] bool record_matches_certificate(const identity::tlsa_record& record, const X509& certificate);

/// PKIX name and date checks shared by PKIX-EE and PKIX-CD: the SAN holds
/// `name` (case-insensitively) and `now` is within the validity period.
/// Failure pkix_failed naming which.
[[nodiscard]] result<void> check_name_and_dates(const X509& certificate, std::string_view name,
                                                std::chrono::system_clock::time_point now);

}  // namespace danemq::dane
