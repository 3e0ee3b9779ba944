#pragma once
// DANE discovery: the identity_source the services use. It asks the resolver
// for `<name> TLSA` with DO set, establishes the DNSSEC status (trusting the
// resolver's AD bit, or validating in-process), follows CNAMEs only while
// they are secure, applies the trust rules (trust.hpp), fetches PKIX-CD CAs
// when needed, and caches the outcome for the answer's TTL.
//
// Typical use (the services fill the config from their settings;
// tests/unit/dane/discovery_test.cpp compiles this very function):
//
//   result<dane::dane_identity_ptr> find_peer() {
//     dane::discovery_config config;                  // the defaults
//     config.resolver = "127.0.0.1:53";               // empty: the first nameserver of /etc/resolv.conf
//     config.dnssec = dane::dnssec_mode::local;       // validate from config.trust_anchor
//     auto source = dane::discovery::create(config);  // bad_configuration naming the setting
//     if (!source) return source.error();
//     std::shared_ptr<dane::identity_source> peers = *source;
//     return peers->discover("abc123._device.example.net");
//   }

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
#include "danemq/dane/lookup_observer.hpp"
#include "danemq/dane/lookup_throttle.hpp"
#include "danemq/dane/pkix_cd.hpp"
#include "danemq/dane/resolver.hpp"
#include "danemq/dane/trust.hpp"
#include "danemq/identity/tlsa_record.hpp"

namespace danemq::dane {

/// Everything discovery needs, with the defaults a service starts from.
/// Suggested environment names are given for each setting.
struct discovery_config {
  /// DNS_RESOLVER: "ip", "ip:port", "[ipv6]:port"; empty: the first
  /// nameserver of `resolv_conf`.
  std::string resolver{};
  /// Where the system's resolver is read from when `resolver` is empty.
  std::filesystem::path resolv_conf{"/etc/resolv.conf"};
  /// DNSSEC_VALIDATION: validate locally from `trust_anchor` (default), or
  /// trust the resolver's AD bit where check_ad_trust allows it.
  dnssec_mode dnssec{dnssec_mode::local};
  /// DNSSEC_TRUST_RESOLVER: the path to a resolver that is not on loopback
  /// (or is Docker's embedded one) is trusted, so resolver mode may be used.
  bool trust_resolver{false};
  /// DNSSEC_TRUST_ANCHOR: DS/DNSKEY records in zone-file form (local mode).
  std::filesystem::path trust_anchor{default_trust_anchor};
  /// DNS_TIMEOUT_MS: per attempt.
  std::chrono::milliseconds timeout{2000};
  /// DNS_RETRIES: attempts after the first.
  unsigned retries{2};
  /// Our EDNS UDP buffer size; larger answers come over TCP.
  std::uint16_t edns_buffer_size{1232};
  /// DANE_CACHE_MAX_ENTRIES, DANE_CACHE_MAX_TTL, DANE_NEGATIVE_CACHE_TTL,
  /// DANE_FAILURE_CACHE_TTL.
  cache_limits cache{};
  /// Concurrency and fail-fast limits per zone (lookup_throttle.hpp); the
  /// zone's fail-fast time (zone_hold) is cache.failure_ttl, one setting.
  throttle_limits throttle{};
  /// PKIX_CD: allow usage-4 records (they need an HTTPS fetch).
  bool pkix_cd{true};
  /// PKIX_CD_CA_BUNDLE (https.trusted_cas), PKIX_CD_HTTPS_PORT (https.port);
  /// https.timeout bounds the whole CA chain fetch of one lookup.
  https_ca_source_options https{};
  /// Bound on the CA chain walked for PKIX-CD.
  unsigned pkix_cd_max_depth{8};
};

/// What one uncached TLSA lookup established, before the cache and the key
/// rules.
struct tlsa_lookup {
  std::string name;  ///< canonical
  dns_answer answer;
  bool over_tcp{false};
  std::optional<failure> dns_error;  ///< NXDOMAIN, NODATA, SERVFAIL, bogus, or an insecure CNAME
  dnssec_verdict dnssec;
  std::vector<identity::tlsa_record> records;
  std::vector<failure> unparseable;  ///< RDATA too short to be a TLSA record
};

class discovery final : public identity_source {
 public:
  /// Builds discovery from `config`: parses the resolver address (or reads
  /// resolv.conf), loads the trust anchor in local mode, and in resolver mode
  /// refuses a resolver whose AD bit may be forged (check_ad_trust).
  /// `cas` replaces the HTTPS CA source (tests); null: HTTPS per config.
  /// Failure bad_configuration naming the setting.
  [[nodiscard]] static result<std::shared_ptr<discovery>> create(discovery_config config,
                                                                 std::shared_ptr<ca_source> cas = nullptr);

  /// Cached; concurrent calls for one name share one lookup. Failures:
  /// bad_name, nxdomain, nodata, servfail, timeout, network_error,
  /// malformed_answer, bogus, insecure, no_usable_record (also when only
  /// hash records are usable: they carry no key), pkix_failed,
  /// lookup_throttled (not asked, see lookup_throttle.hpp; not cached).
  /// NXDOMAIN and NODATA are cached for the negative time (in local mode
  /// only when proven, else bogus), other failures for cache.failure_ttl;
  /// an identity for its TTL, in local mode capped by its signatures.
  [[nodiscard]] result<dane_identity_ptr> discover(std::string_view name) override;

  /// As identity_source, using the cached lookup (hash records included).
  [[nodiscard]] result<trusted_key> confirm_certificate(std::string_view name, const X509& certificate) override;
  /// True when `name` (any form) resolved successfully since it was last
  /// pushed out of the cache's memory of such names.
  [[nodiscard]] bool resolved_before(std::string_view name) override;
  /// Protects `name`'s cached identity from a flood of new names.
  void mark_proven(std::string_view name) override;

  /// An uncached lookup of `name` (counted in stats().lookups), for
  /// diagnostics: what DNS answered, how secure it is, every TLSA record.
  /// Failure bad_name, or what the resolver met (timeout, network_error,
  /// malformed_answer); a failure the answer stands for is in dns_error.
  [[nodiscard]] result<tlsa_lookup> look_up(std::string_view name) const;
  /// The trust rules (trust.hpp) applied to a lookup's records as discover()
  /// applies them, PKIX-CD records checked per this discovery's config.
  [[nodiscard]] trust_decision decide(const tlsa_lookup& lookup) const;

  struct statistics {
    cache_statistics cache;
    std::uint64_t dns_messages{0};  ///< queries sent (including DNSKEY/DS in local mode)
    std::uint64_t lookups{0};       ///< uncached TLSA lookups performed
    lookup_throttle::statistics throttle;
  };
  [[nodiscard]] statistics stats() const;
  /// From now on `observer` hears of each cache hit and uncached lookup of
  /// discover() and confirm_certificate(); call it before the first lookup.
  void observe(std::shared_ptr<lookup_observer> observer) { observer_ = std::move(observer); }
  void clear_cache();
  [[nodiscard]] const server_address& resolver() const noexcept { return resolver_->options().server; }
  [[nodiscard]] const discovery_config& config() const noexcept { return config_; }

  // Use create().
  discovery(discovery_config config, std::shared_ptr<const stub_resolver> resolver,
            std::shared_ptr<const local_validator> validator, std::shared_ptr<ca_source> cas);

 private:
  [[nodiscard]] result<tlsa_lookup> look_up_canonical(const std::string& name) const;
  [[nodiscard]] cached_outcome resolve_uncached(const std::string& name);
  [[nodiscard]] result<dane_identity_ptr> cached_identity(std::string_view name);

  discovery_config config_;
  std::shared_ptr<const stub_resolver> resolver_;
  std::shared_ptr<const local_validator> validator_;
  std::shared_ptr<ca_source> cas_;
  identity_cache cache_;
  lookup_throttle throttle_;
  std::mutex in_flight_mutex_;
  std::map<std::string, std::shared_future<cached_outcome>, std::less<>> in_flight_;
  mutable std::atomic<std::uint64_t> lookups_{0};
  std::shared_ptr<lookup_observer> observer_;  // metrics; null: nobody counts
};

}  // namespace danemq::dane
