#pragma once
// PKIX-CD (TLSA usage 4, as ValiMail's dane-discovery defines it): an
// identity's certificate is trusted without DNSSEC when it chains to a CA
// published by the identity's authority at
//   https://<authority>/.well-known/ca/<key id>.pem
// where <authority> is the identity name cut at its first underscore label
// from the right, that label kept without its underscore
// (abc123._device.example.net -> device.example.net), and <key id> is the
// certificate's AuthorityKeyIdentifier as lowercase hex octets joined by '-'
// (the original's format). Each CA is fetched the same way from its own AKI,
// walking up until a self-signed root, with a bounded depth.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/dane/resolver.hpp"

namespace danemq::dane {

/// The authority host of an identity name. Failure pkix_failed when the
/// name has no underscore label.
[[nodiscard]] result<std::string> authority_host(std::string_view identity_name);

/// "ab-cd-01": the original's text form of a key identifier.
[[nodiscard]] std::string key_id_text(std::span<const std::uint8_t> key_id);

/// The AuthorityKeyIdentifier's keyIdentifier; failure pkix_failed when absent.
[[nodiscard]] result<crypto::bytes> authority_key_id(const X509& certificate);
/// The SubjectKeyIdentifier, when present.
[[nodiscard]] std::optional<crypto::bytes> subject_key_id(const X509& certificate);

/// "/.well-known/ca/<key id>.pem".
[[nodiscard]] std::string ca_certificate_path(std::string_view key_id);

/// Where CA certificates come from (HTTPS in services, a map in unit tests).
class ca_source {
 public:
  virtual ~ca_source() = default;
  /// The certificate at https://<authority>/.well-known/ca/<key id>.pem,
  /// fetched before `deadline`; failure pkix_failed naming the URL and what
  /// went wrong (the deadline passing included).
  [[nodiscard]] virtual result<crypto::unique_x509> fetch(std::string_view authority, std::string_view key_id,
                                                          std::chrono::steady_clock::time_point deadline) = 0;
};

struct https_ca_source_options {
  /// PEM bundle of CAs trusted for the HTTPS connection; empty: OpenSSL's
  /// default paths (Debian's ca-certificates). Tests point it at a test CA.
  std::filesystem::path trusted_cas{};
  std::uint16_t port{443};                       ///< tests use a loopback high port
  std::chrono::milliseconds timeout{5000};       ///< discovery: for a lookup's whole CA chain
  std::size_t max_body{std::size_t{64} * 1024};  ///< a CA certificate is a few KiB
  /// PKIX_CD_ALLOW_PRIVATE: connect to an authority that resolves to a
  /// loopback, private, link-local or other non-global address. Off: the
  /// authority host comes from a peer's name, and a fetch must not become a
  /// request into the device's own network. Tests on loopback turn it on.
  bool allow_private_addresses{false};
};

/// True for an address (4 bytes IPv4 or 16 bytes IPv6, network order) that is
/// globally routable: not unspecified, loopback, private (RFC 1918, IPv6
/// ULA), shared (100.64/10), link-local, multicast, documentation,
/// benchmarking or reserved space, and not an IPv4-mapped or NAT64 form of
/// such an address.
[[nodiscard]] bool is_global_address(std::span<const std::uint8_t> address);

/// Fetches over HTTPS with Boost.Beast and OpenSSL, verifying the server's
/// certificate and host name. The authority host is resolved (A, then AAAA)
/// through `resolver`, as the original resolves it through its configured
/// nameserver; only its global addresses are used unless
/// allow_private_addresses. Thread-safe (one connection per fetch).
class https_ca_source final : public ca_source {
 public:
  https_ca_source(https_ca_source_options options, std::shared_ptr<const stub_resolver> resolver);
  /// Resolving the authority and the HTTPS exchange both end by `deadline`
  /// (and the exchange by options.timeout).
  [[nodiscard]] result<crypto::unique_x509> fetch(std::string_view authority, std::string_view key_id,
                                                  std::chrono::steady_clock::time_point deadline) override;

 private:
  https_ca_source_options options_;
  std::shared_ptr<const stub_resolver> resolver_;
};

/// The CA certificates above `leaf`, nearest first, ending with a
/// self-signed root: each fetched by the AKI of the one below, and refused
/// unless its SubjectKeyIdentifier is that AKI. Failure pkix_failed when a
/// fetch fails, `deadline` (for the whole chain) passes, or no root is
/// reached within `max_depth` certificates.
[[nodiscard]] result<std::vector<crypto::unique_x509>> fetch_ca_chain(
    const X509& leaf, std::string_view identity_name, ca_source& source, unsigned max_depth = 8,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

/// PKIX validation of `leaf` against `chain` (from fetch_ca_chain; its last
/// certificate is the trust anchor) at time `now`, with OpenSSL's verifier
/// (signatures, dates, CA constraints), and the name `identity_name` in the
/// leaf's SAN. Failure pkix_failed with OpenSSL's reason.
[[nodiscard]] result<void> verify_pkix_cd(const X509& leaf, std::string_view identity_name,
                                          const std::vector<crypto::unique_x509>& chain,
                                          std::chrono::system_clock::time_point now);

}  // namespace danemq::dane
