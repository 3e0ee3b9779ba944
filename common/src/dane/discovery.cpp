#include "danemq/dane/discovery.hpp"

#include <spdlog/spdlog.h>

#include "danemq/dane/tlsa_rdata.hpp"
#include "danemq/identity/dns_name.hpp"

namespace danemq::dane {
namespace {

using steady = std::chrono::steady_clock;

bool is(const failure& f, errc code) {
  return f.code == make_error_code(code);
}

/// How long a second lookup of a never-resolved name waits for the first.
constexpr std::chrono::milliseconds unproven_follower_wait{500};

throttle_limits with_zone_hold(throttle_limits limits, std::chrono::seconds failure_ttl) {
  limits.zone_hold = failure_ttl;
  return limits;
}

/// A failure that cost time and says something about the zone's servers.
bool is_slow_failure(const failure& f) {
  return is(f, errc::timeout) || is(f, errc::servfail) || is(f, errc::network_error) || is(f, errc::pkix_failed);
}

}  // namespace

result<std::shared_ptr<discovery>> discovery::create(discovery_config config, std::shared_ptr<ca_source> cas) {
  auto server = config.resolver.empty() ? system_resolver(config.resolv_conf) : parse_server_address(config.resolver);
  if (!server) return fail(errc::bad_configuration, "DNS_RESOLVER: " + server.error().detail);
  if (config.timeout.count() <= 0) return fail(errc::bad_configuration, "DNS timeout must be positive");
  if (config.edns_buffer_size < 512) return fail(errc::bad_configuration, "EDNS buffer size below 512");
  auto resolver = std::make_shared<const stub_resolver>(
      resolver_options{*server, config.timeout, config.retries, config.edns_buffer_size});

  std::shared_ptr<const local_validator> validator;
  if (config.dnssec == dnssec_mode::local) {
    auto loaded = local_validator::create(config.trust_anchor, resolver);
    if (!loaded) return loaded.error();
    validator = std::move(loaded).value();
  } else if (auto trusted = check_ad_trust(*server, config.trust_resolver); !trusted) {
    return trusted.error();
  } else if (!is_loopback(*server)) {
    spdlog::warn("DNSSEC_VALIDATION=resolver trusts the AD bit from {} (DNSSEC_TRUST_RESOLVER=1)", server->to_string());
  }
  if (!cas && config.pkix_cd) cas = std::make_shared<https_ca_source>(config.https, resolver);
  return std::make_shared<discovery>(std::move(config), std::move(resolver), std::move(validator), std::move(cas));
}

discovery::discovery(discovery_config config, std::shared_ptr<const stub_resolver> resolver,
                     std::shared_ptr<const local_validator> validator, std::shared_ptr<ca_source> cas)
    : config_(std::move(config)),
      resolver_(std::move(resolver)),
      validator_(std::move(validator)),
      cas_(std::move(cas)),
      cache_(config_.cache),
      throttle_(with_zone_hold(config_.throttle, config_.cache.failure_ttl)) {}

result<tlsa_lookup> discovery::look_up(std::string_view requested) const {
  auto canonical = identity::canonical_dns_name(requested);
  if (!canonical) return fail(errc::bad_name, canonical.error().detail);
  return look_up_canonical(*canonical);
}

result<tlsa_lookup> discovery::look_up_canonical(const std::string& name) const {
  ++lookups_;
  const bool local = config_.dnssec == dnssec_mode::local;
  auto raw = resolver_->query(name, rr_type::tlsa, query_flags{true, local, config_.edns_buffer_size});
  if (!raw) return raw.error();
  auto answer = parse_answer(raw->wire, name, rr_type::tlsa);
  if (!answer) return answer.error();

  tlsa_lookup facts;
  facts.name = name;
  facts.over_tcp = raw->over_tcp;
  facts.answer = std::move(answer).value();
  if (auto status = answer_status(facts.answer); !status) facts.dns_error = status.error();

  const bool denial = facts.dns_error && (is(*facts.dns_error, errc::nxdomain) || is(*facts.dns_error, errc::nodata));
  if (local && denial) {
    // A denial is cached for the negative time and quarantines: only a
    // proven one (or one in a provably insecure zone) stands.
    facts.dnssec = validator_->validate(raw->wire, name, rr_type::tlsa);
    if (facts.dnssec.status == dnssec_status::bogus) {
      facts.dns_error = fail(errc::bogus, facts.dns_error->message() + " not proven: " + facts.dnssec.reason);
    }
  } else if (facts.dns_error) {
    facts.dnssec = {is(*facts.dns_error, errc::bogus) ? dnssec_status::bogus : dnssec_status::indeterminate,
                    facts.dns_error->message()};
  } else if (local) {
    facts.dnssec = validator_->validate(raw->wire, name, rr_type::tlsa);
  } else if (facts.answer.authenticated_data) {
    facts.dnssec = {dnssec_status::secure, {}};
  } else {
    facts.dnssec = {dnssec_status::insecure, "the resolver did not set the AD bit"};
  }
  // RFC 7671 section 7: a CNAME is followed only while every step is secure.
  if (!facts.dns_error && !facts.answer.cnames.empty() && facts.dnssec.status != dnssec_status::secure) {
    facts.dns_error =
        fail(facts.dnssec.status == dnssec_status::bogus ? errc::bogus : errc::insecure,
             "CNAME from " + name + " to " + facts.answer.final_name + " not followed: " +
                 (facts.dnssec.reason.empty() ? std::string(to_string(facts.dnssec.status)) : facts.dnssec.reason));
  }
  if (!facts.dns_error && facts.dnssec.status == dnssec_status::bogus) {
    facts.dns_error = fail(errc::bogus, facts.dnssec.reason);
  }
  for (const auto& rdata : facts.answer.records) {
    auto record = tlsa_from_rdata(rdata);
    if (record) {
      facts.records.push_back(std::move(record).value());
    } else {
      facts.unparseable.push_back(record.error());
    }
  }
  return facts;
}

trust_decision discovery::decide(const tlsa_lookup& lookup) const {
  pkix_cd_check pkix_cd;
  if (config_.pkix_cd && cas_) {
    // One deadline for every CA fetch of this lookup, not one per certificate.
    const auto deadline = steady::now() + config_.https.timeout;
    pkix_cd = [this, deadline](const X509& certificate, std::string_view identity_name) -> result<void> {
      auto chain = fetch_ca_chain(certificate, identity_name, *cas_, config_.pkix_cd_max_depth, deadline);
      if (!chain) return chain.error();
      return verify_pkix_cd(certificate, identity_name, *chain, std::chrono::system_clock::now());
    };
  }
  return decide_trust(trust_input{lookup.name, lookup.dnssec.status, lookup.records, std::chrono::system_clock::now()},
                      pkix_cd);
}

cached_outcome discovery::resolve_uncached(const std::string& name) {
  auto facts = look_up_canonical(name);
  if (!facts) {
    cache_.store_transient_failure(name, facts.error(), steady::now());
    return facts.error();
  }
  const auto now = steady::now();
  if (facts->dns_error) {
    if (is(*facts->dns_error, errc::nxdomain) || is(*facts->dns_error, errc::nodata)) {
      const auto ttl = std::chrono::seconds(std::min(
          facts->answer.negative_ttl.value_or(static_cast<std::uint32_t>(config_.cache.max_negative_ttl.count())),
          facts->dnssec.ttl_limit.value_or(UINT32_MAX)));
      cache_.store_failure(name, *facts->dns_error, ttl, now);
    } else {
      cache_.store_transient_failure(name, *facts->dns_error, now);
    }
    return *facts->dns_error;
  }
  trust_decision decision = decide(*facts);
  const trust_input input{name, facts->dnssec.status, facts->records, {}};
  if (auto status = decision_status(input, decision); !status) {
    failure error = status.error();
    for (const auto& bad : facts->unparseable) error.detail += "; " + bad.message();
    cache_.store_transient_failure(name, error, steady::now());
    return error;
  }
  // Local validation: no longer than the signatures allow.
  const auto ttl = std::chrono::seconds(std::min(facts->answer.ttl, facts->dnssec.ttl_limit.value_or(UINT32_MAX)));
  auto identity = std::make_shared<dane_identity>();
  identity->name = name;
  identity->keys = std::move(decision.keys);
  identity->confirming_records = std::move(decision.confirming_records);
  identity->dnssec_secure = facts->dnssec.status == dnssec_status::secure;
  identity->valid_until = now + std::min(ttl, config_.cache.max_ttl);
  dane_identity_ptr shared = std::move(identity);
  cache_.store(name, shared, ttl, now);
  return shared;
}

result<dane_identity_ptr> discovery::cached_identity(std::string_view requested) {
  auto canonical = identity::canonical_dns_name(requested);
  if (!canonical) return fail(errc::bad_name, canonical.error().detail);
  const std::string& name = *canonical;

  auto unpack = [](const cached_outcome& outcome) -> result<dane_identity_ptr> {
    if (const auto* error = std::get_if<failure>(&outcome)) return *error;
    return std::get<dane_identity_ptr>(outcome);
  };
  if (auto hit = cache_.find(name, steady::now())) {
    if (observer_) observer_->cache_hit();
    return unpack(*hit);
  }

  // Concurrent misses for one name share a single lookup.
  std::promise<cached_outcome> promise;
  std::shared_future<cached_outcome> shared;
  bool leader = false;
  {
    std::lock_guard lock(in_flight_mutex_);
    if (auto found = in_flight_.find(name); found != in_flight_.end()) {
      shared = found->second;
    } else {
      shared = promise.get_future().share();
      in_flight_.emplace(name, shared);
      leader = true;
    }
  }
  // A follower of a name never resolved waits only briefly: long enough for
  // a healthy answer (a new sender's first messages arrive together, and
  // holding them back would reorder them), not for a slow zone (a publisher
  // naming one slow name in many messages would hold every worker): past
  // that it is retried later.
  if (!leader && !cache_.resolved_before(name) &&
      shared.wait_for(unproven_follower_wait) != std::future_status::ready) {
    throttle_.count_refused_busy();
    return fail(errc::lookup_throttled, name + ": a lookup of this name is already under way");
  }
  if (!leader) return unpack(shared.get());
  cached_outcome outcome = fail(errc::servfail, "lookup aborted");
  const std::string zone = throttle_zone(name);
  const bool unproven = !cache_.resolved_before(name);
  try {
    if (auto admitted = throttle_.enter(zone, unproven, steady::now()); !admitted) {
      outcome = failure{admitted.error().code, name + ": " + admitted.error().detail};
    } else {
      try {
        outcome = resolve_uncached(name);
      } catch (...) {
        throttle_.leave(zone, unproven, true, steady::now());
        throw;
      }
      const auto* error = std::get_if<failure>(&outcome);
      throttle_.leave(zone, unproven, error != nullptr && is_slow_failure(*error), steady::now());
    }
  } catch (...) {
    {
      std::lock_guard lock(in_flight_mutex_);
      in_flight_.erase(name);
    }
    promise.set_exception(std::current_exception());
    throw;
  }
  {
    std::lock_guard lock(in_flight_mutex_);
    in_flight_.erase(name);
  }
  if (observer_) {
    const auto* error = std::get_if<failure>(&outcome);
    observer_->looked_up(error != nullptr ? error->code : std::error_code());
  }
  promise.set_value(outcome);
  return unpack(outcome);
}

result<dane_identity_ptr> discovery::discover(std::string_view name) {
  auto identity = cached_identity(name);
  if (!identity) return identity.error();
  if ((*identity)->keys.empty()) {
    return fail(errc::no_usable_record, (*identity)->name +
                                            ": only hash records are usable; they confirm a certificate presented "
                                            "in-band but carry no key");
  }
  return identity;
}

result<trusted_key> discovery::confirm_certificate(std::string_view name, const X509& certificate) {
  auto identity = cached_identity(name);
  if (!identity) return identity.error();
  return confirm_presented_certificate(**identity, certificate, std::chrono::system_clock::now());
}

bool discovery::resolved_before(std::string_view name) {
  auto canonical = identity::canonical_dns_name(name);
  return canonical && cache_.resolved_before(*canonical);
}

void discovery::mark_proven(std::string_view name) {
  if (auto canonical = identity::canonical_dns_name(name)) cache_.mark_proven(*canonical);
}

discovery::statistics discovery::stats() const {
  return {cache_.statistics(), resolver_->messages_sent(), lookups_.load(), throttle_.stats()};
}

void discovery::clear_cache() {
  cache_.clear();
}

}  // namespace danemq::dane
