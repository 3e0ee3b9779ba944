#pragma once
// DNSSEC status of answers, in the two modes of DNSSEC_VALIDATION:
//  - local (the default): validate the chain of trust in-process with ldns,
//    from the trust anchors in DNSSEC_TRUST_ANCHOR, asking the resolver (with
//    CD set) for the DNSKEY and DS records the chain needs;
//  - resolver: trust the AD bit of the configured resolver (the original's
//    way), only where nothing can forge that bit on its way (check_ad_trust).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/dane/dns_message.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/dane/resolver.hpp"

namespace danemq::dane {

enum class dnssec_mode { resolver, local };

/// "resolver" or "local"; failure bad_configuration otherwise.
[[nodiscard]] result<dnssec_mode> parse_dnssec_mode(std::string_view text);
[[nodiscard]] std::string_view to_string(dnssec_mode mode) noexcept;

/// Docker's embedded resolver: a loopback address inside the container that
/// forwards to whatever upstream the host has, so its AD bit crossed a network.
inline constexpr const char* docker_embedded_resolver = "127.0.0.11";

/// Whether DNSSEC_VALIDATION=resolver may trust the AD bit of `server`: only
/// on loopback and not from Docker's embedded resolver, unless
/// `path_trusted` (DNSSEC_TRUST_RESOLVER=1) says the operator vouches for the
/// path. Failure bad_configuration with a one-line reason and the remedy.
[[nodiscard]] result<void> check_ad_trust(const server_address& server, bool path_trusted);

/// RFC 4033 section 5 states (indeterminate: not established, e.g. no answer).
enum class dnssec_status { secure, insecure, bogus, indeterminate };
[[nodiscard]] std::string_view to_string(dnssec_status status) noexcept;

/// The verdict on an answer, with the reason when it is not secure.
struct dnssec_verdict {
  dnssec_status status{dnssec_status::indeterminate};
  std::string reason;
  /// Secure answers of local validation: the longest time the answer may be
  /// cached, the least over its RRsets of the RRSIG's original TTL and the
  /// time left to the signature's expiration (RFC 4035 section 5.3.3).
  std::optional<std::uint32_t> ttl_limit{};
};

/// Default trust anchor: Debian's dns-root-data (the root KSK as DS records).
inline constexpr const char* default_trust_anchor = "/usr/share/dns/root.key";

/// In-process validation (mode local). Algorithms allowed: RSASHA256,
/// RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519, ED448; DS digests
/// SHA-256 and SHA-384. Signatures by other algorithms are ignored, so data
/// signed only with them is insecure (RFC 8624 section 3). Thread-safe.
class local_validator {
 public:
  /// Loads the DS and DNSKEY records (zone-file form, as root.key; other
  /// lines and comments ignored) of `anchor_file`. Failure bad_configuration
  /// when the file cannot be read or holds no DS or DNSKEY record.
  [[nodiscard]] static result<std::shared_ptr<const local_validator>> create(
      const std::filesystem::path& anchor_file, std::shared_ptr<const stub_resolver> resolver);

  ~local_validator();
  local_validator(const local_validator&) = delete;
  local_validator& operator=(const local_validator&) = delete;

  /// Validates an answer to `name`/`type` (asked with DO and CD): its CNAME
  /// links and records, or its denial (NXDOMAIN, NODATA). Secure when every
  /// link and the records verify from a trust anchor, a wildcard expansion
  /// comes with the NSEC/NSEC3 proof that no closer name exists, and a
  /// denial with the signed NSEC/NSEC3 records that prove it. Insecure only
  /// when proven: the name lies outside every trust anchor, or below a
  /// delegation whose lack of DS a signed NSEC/NSEC3 proves. Anything else
  /// (unsigned data in a signed zone, a missing or failed proof, an expired
  /// signature) is bogus.
  [[nodiscard]] dnssec_verdict validate(std::span<const std::uint8_t> wire, std::string_view name,
                                        std::uint16_t type) const;

  /// Number of trust anchor records loaded.
  [[nodiscard]] std::size_t anchor_count() const noexcept;

 private:
  struct impl;
  explicit local_validator(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace danemq::dane
