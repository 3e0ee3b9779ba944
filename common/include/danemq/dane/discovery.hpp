#pragma once
// DANE discovery: the identity_source the services use. It asks the resolver
// for `<name> TLSA` with DO set, establishes the DNSSEC status (trusting the
// resolver's AD bit, or validating in-process), follows CNAMEs only while
// they are secure, applies the trust rules (trust.hpp), fetches PKIX-CD CAs
// when needed, and caches the outcome for the answer's TTL.
//
// Typical use in a service:
//
//   dane::discovery_config config;
//   config.resolver = env("DNS_RESOLVER");                 // may be empty
//   config.dnssec = dane::parse_dnssec_mode(env("DNSSEC_VALIDATION")).value();
//   config.trust_anchor = env("DNSSEC_TRUST_ANCHOR");      // local mode only
//   auto source = dane::discovery::create(config);         // result<...>
//   if (!source) throw startup_error(source.error().message());
//   std::shared_ptr<dane::identity_source> peers = *source;
//   auto peer = peers->discover("abc123._device.example.net");

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/dns_message.hpp"
#include "danemq/dane/dnssec.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/dane/identity_cache.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/dane/pkix_cd.hpp"
#include "danemq/dane/resolver.hpp"
#include "danemq/dane/trust.hpp"

namespace danemq::dane {

/// Everything discovery needs, with the defaults a service starts from.
/// Suggested environment names are given for each setting.
struct discovery_config {
  /// DNS_RESOLVER: "ip", "ip:port", "[ipv6]:port"; empty: the first
  /// nameserver of `resolv_conf`.
  std::string resolver{};
  /// Where the system's resolver is read from when `resolver` is empty.
  std::filesystem::path resolv_conf{"/etc/resolv.conf"};
  /// DNSSEC_VALIDATION: trust the resolver's AD bit (default, as the
  /// original), or validate locally from `trust_anchor`.
  dnssec_mode dnssec{dnssec_mode::resolver};
  /// DNSSEC_TRUST_ANCHOR: DS/DNSKEY records in zone-file form (local mode).
  std::filesystem::path trust_anchor{default_trust_anchor};
  /// DNS_TIMEOUT_MS: per attempt.
  std::chrono::milliseconds timeout{2000};
  /// DNS_RETRIES: attempts after the first.
  unsigned retries{2};
  /// Our EDNS UDP buffer size; larger answers come over TCP.
  std::uint16_t edns_buffer_size{1232};
  /// DANE_CACHE_MAX_ENTRIES, DANE_CACHE_MAX_TTL, DANE_NEGATIVE_CACHE_TTL.
  cache_limits cache{};
  /// PKIX_CD: allow usage-4 records (they need an HTTPS fetch).
  bool pkix_cd{true};
  /// PKIX_CD_CA_BUNDLE (https.trusted_cas), PKIX_CD_HTTPS_PORT (https.port).
  https_ca_source_options https{};
  /// Bound on the CA chain walked for PKIX-CD.
  unsigned pkix_cd_max_depth{8};
};

/// One TLSA record as a report shows it.
struct record_report {
  identity::tlsa_record record;
  std::optional<failure> problem;  ///< why it is not usable (malformed, insecure, PKIX, ...)
  bool confirm_only{false};        ///< a usable hash record
  /// Filled when the record carries a whole certificate that parses.
  std::optional<std::string> subject_common_name;
  std::vector<std::string> subject_alt_names;
  std::optional<std::chrono::system_clock::time_point> not_before;
  std::optional<std::chrono::system_clock::time_point> not_after;
};

/// Everything one uncached lookup found, for `check` and `lookup`.
struct lookup_report {
  std::string name;
  std::string resolver;  ///< server asked
  dnssec_mode mode{dnssec_mode::resolver};
  std::optional<failure> lookup_error;  ///< NXDOMAIN, timeout, ... (records then empty)
  std::uint8_t rcode{0};
  std::optional<std::uint16_t> extended_error;
  std::string extended_error_text;
  bool authenticated_data{false};  ///< AD bit of the answer
  bool over_tcp{false};
  std::vector<cname_link> cnames;
  dnssec_verdict dnssec;
  std::uint32_t ttl{0};
  std::vector<record_report> records;  ///< in DNS order
  /// The verdict discover() would give: empty when a usable key (or
  /// confirming record) exists.
  std::optional<failure> verdict;
};

/// Human-readable text of a report, one fact per line (as the original's
/// identity report).
[[nodiscard]] std::string format_report(const lookup_report& report);

class discovery final : public identity_source {
 public:
  /// Builds discovery from `config`: parses the resolver address (or reads
  /// resolv.conf), loads the trust anchor in local mode, and warns (log) when
  /// the AD bit is trusted from a resolver that is not on loopback.
  /// `cas` replaces the HTTPS CA source (tests); null: HTTPS per config.
  /// Failure bad_configuration naming the setting.
  [[nodiscard]] static result<std::shared_ptr<discovery>> create(discovery_config config,
                                                                 std::shared_ptr<ca_source> cas = nullptr);

  /// Cached; concurrent calls for one name share one lookup. Failures:
  /// bad_name, nxdomain, nodata, servfail, timeout, network_error,
  /// malformed_answer, bogus, insecure, no_usable_record (also when only
  /// hash records are usable: they carry no key). NXDOMAIN and NODATA are
  /// cached briefly; other failures are not.
  [[nodiscard]] result<dane_identity_ptr> discover(std::string_view name) override;

  /// As identity_source, using the cached lookup (hash records included).
  [[nodiscard]] result<trusted_key> confirm_certificate(std::string_view name, const X509& certificate) override;

  /// An uncached lookup of `name`, reporting every TLSA record found with its
  /// parse status and DNSSEC status (for `check` and `lookup`).
  [[nodiscard]] lookup_report report(std::string_view name) const;

  struct statistics {
    cache_statistics cache;
    std::uint64_t dns_messages{0};  ///< queries sent (including DNSKEY/DS in local mode)
    std::uint64_t lookups{0};       ///< uncached TLSA lookups performed
  };
  [[nodiscard]] statistics stats() const;
  void clear_cache();
  [[nodiscard]] const server_address& resolver() const noexcept { return resolver_->options().server; }
  [[nodiscard]] const discovery_config& config() const noexcept { return config_; }

  // Use create().
  discovery(discovery_config config, std::shared_ptr<const stub_resolver> resolver,
            std::shared_ptr<const local_validator> validator, std::shared_ptr<ca_source> cas);

 private:
  /// What one TLSA lookup established, before the cache and the key rules.
  struct lookup_facts;
  [[nodiscard]] result<lookup_facts> look_up(const std::string& name) const;
  [[nodiscard]] trust_decision decide(const std::string& name, const lookup_facts& facts) const;
  [[nodiscard]] cached_outcome resolve_uncached(const std::string& name);
  [[nodiscard]] result<dane_identity_ptr> cached_identity(std::string_view name);

  discovery_config config_;
  std::shared_ptr<const stub_resolver> resolver_;
  std::shared_ptr<const local_validator> validator_;
  std::shared_ptr<ca_source> cas_;
  identity_cache cache_;
  std::mutex in_flight_mutex_;
  std::map<std::string, std::shared_future<cached_outcome>, std::less<>> in_flight_;
  mutable std::atomic<std::uint64_t> lookups_{0};
};

}  // namespace danemq::dane
