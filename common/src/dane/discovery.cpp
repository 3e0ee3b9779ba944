#include "danemq/dane/discovery.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <iomanip>
#include <sstream>

#include "danemq/dane/tlsa_rdata.hpp"
#include "danemq/identity/certificate.hpp"
#include "danemq/identity/dns_name.hpp"

namespace danemq::dane {
namespace {

using steady = std::chrono::steady_clock;

bool is(const failure& f, errc code) {
  return f.code == make_error_code(code);
}

std::string utc_text(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%d %H:%M:%S UTC");
  return out.str();
}

}  // namespace

struct discovery::lookup_facts {
  dns_answer answer;
  bool over_tcp{false};
  std::optional<failure> dns_error;  ///< NXDOMAIN, NODATA, SERVFAIL, bogus, or an insecure CNAME
  dnssec_verdict dnssec;
  std::vector<identity::tlsa_record> records;
  std::vector<failure> unparseable;  ///< RDATA too short to be a TLSA record
};

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
  } else if (!is_loopback(*server)) {
    spdlog::warn(
        "DNSSEC_VALIDATION=resolver trusts the AD bit from {}, which is not on loopback: the bit crosses an "
        "unprotected network. Use a local validating resolver or DNSSEC_VALIDATION=local.",
        server->to_string());
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
      cache_(config_.cache) {}

result<discovery::lookup_facts> discovery::look_up(const std::string& name) const {
  ++lookups_;
  const bool local = config_.dnssec == dnssec_mode::local;
  auto raw = resolver_->query(name, rr_type::tlsa, query_flags{true, local, config_.edns_buffer_size});
  if (!raw) return raw.error();
  auto answer = parse_answer(raw->wire, name, rr_type::tlsa);
  if (!answer) return answer.error();

  lookup_facts facts;
  facts.over_tcp = raw->over_tcp;
  facts.answer = std::move(answer).value();
  if (auto status = answer_status(facts.answer); !status) facts.dns_error = status.error();

  if (facts.dns_error) {
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

trust_decision discovery::decide(const std::string& name, const lookup_facts& facts) const {
  pkix_cd_check pkix_cd;
  if (config_.pkix_cd && cas_) {
    pkix_cd = [this](const X509& certificate, std::string_view identity_name) -> result<void> {
      auto chain = fetch_ca_chain(certificate, identity_name, *cas_, config_.pkix_cd_max_depth);
      if (!chain) return chain.error();
      return verify_pkix_cd(certificate, identity_name, *chain, std::chrono::system_clock::now());
    };
  }
  return decide_trust(trust_input{name, facts.dnssec.status, facts.records, std::chrono::system_clock::now()}, pkix_cd);
}

cached_outcome discovery::resolve_uncached(const std::string& name) {
  auto facts = look_up(name);
  if (!facts) return facts.error();
  const auto now = steady::now();
  if (facts->dns_error) {
    if (is(*facts->dns_error, errc::nxdomain) || is(*facts->dns_error, errc::nodata)) {
      const auto ttl = std::chrono::seconds(
          facts->answer.negative_ttl.value_or(static_cast<std::uint32_t>(config_.cache.max_negative_ttl.count())));
      cache_.store_failure(name, *facts->dns_error, ttl, now);
    }
    return *facts->dns_error;
  }
  trust_decision decision = decide(name, *facts);
  const trust_input input{name, facts->dnssec.status, facts->records, {}};
  if (auto status = decision_status(input, decision); !status) {
    failure error = status.error();
    for (const auto& bad : facts->unparseable) error.detail += "; " + bad.message();
    return error;
  }
  const auto ttl = std::chrono::seconds(facts->answer.ttl);
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
  if (auto hit = cache_.find(name, steady::now())) return unpack(*hit);

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
  if (!leader) return unpack(shared.get());
  cached_outcome outcome = fail(errc::servfail, "lookup aborted");
  try {
    outcome = resolve_uncached(name);
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

lookup_report discovery::report(std::string_view requested) const {
  lookup_report report;
  report.name = std::string(requested);
  report.resolver = resolver_->options().server.to_string();
  report.mode = config_.dnssec;
  auto canonical = identity::canonical_dns_name(requested);
  if (!canonical) {
    report.lookup_error = fail(errc::bad_name, canonical.error().detail);
    return report;
  }
  report.name = *canonical;
  auto facts = look_up(report.name);
  if (!facts) {
    report.lookup_error = facts.error();
    return report;
  }
  report.rcode = facts->answer.rcode;
  report.extended_error = facts->answer.extended_error;
  report.extended_error_text = facts->answer.extended_error_text;
  report.authenticated_data = facts->answer.authenticated_data;
  report.over_tcp = facts->over_tcp;
  report.cnames = facts->answer.cnames;
  report.dnssec = facts->dnssec;
  report.ttl = facts->answer.ttl;
  if (facts->dns_error && facts->records.empty()) {
    report.lookup_error = facts->dns_error;
    report.verdict = facts->dns_error;
    return report;
  }
  const trust_decision decision = decide(report.name, *facts);
  for (const auto& verdict : decision.verdicts) {
    record_report entry{verdict.record, verdict.problem, verdict.confirm_only, {}, {}, {}, {}};
    if (verdict.record.selector == identity::tlsa::full_certificate &&
        verdict.record.matching == identity::tlsa::exact) {
      if (auto cert = crypto::certificate_from_der(verdict.record.data)) {
        entry.subject_common_name = identity::subject_common_name(**cert);
        entry.subject_alt_names = identity::subject_alt_dns_names(**cert);
        entry.not_before = identity::not_before(**cert);
        entry.not_after = identity::not_after(**cert);
      }
    }
    report.records.push_back(std::move(entry));
  }
  for (const auto& bad : facts->unparseable) {
    record_report entry;
    entry.problem = bad;
    report.records.push_back(std::move(entry));
  }
  if (facts->dns_error) {
    report.verdict = facts->dns_error;
  } else if (auto status =
                 decision_status(trust_input{report.name, facts->dnssec.status, facts->records, {}}, decision);
             !status) {
    report.verdict = status.error();
  } else if (decision.keys.empty()) {
    report.verdict = fail(errc::no_usable_record, "only hash records are usable: they carry no key");
  }
  return report;
}

discovery::statistics discovery::stats() const {
  return {cache_.statistics(), resolver_->messages_sent(), lookups_.load()};
}

void discovery::clear_cache() {
  cache_.clear();
}

std::string format_report(const lookup_report& report) {
  std::ostringstream out;
  out << "Name: " << report.name << "\n";
  out << "Resolver: " << report.resolver << " (DNSSEC_VALIDATION=" << to_string(report.mode) << ")\n";
  if (report.lookup_error && report.records.empty()) {
    out << "Lookup: " << report.lookup_error->message() << "\n";
  } else {
    out << "Answer: " << rcode_name(report.rcode) << (report.authenticated_data ? ", AD" : "")
        << (report.over_tcp ? ", over TCP" : ", over UDP") << ", TTL " << report.ttl << "\n";
  }
  if (report.extended_error) {
    out << "Extended DNS error: " << *report.extended_error << " " << report.extended_error_text << "\n";
  }
  for (const auto& link : report.cnames) {
    out << "CNAME: " << link.owner << " -> " << link.target << "\n";
  }
  out << "DNSSEC: " << to_string(report.dnssec.status);
  if (!report.dnssec.reason.empty()) out << " (" << report.dnssec.reason << ")";
  out << "\n";
  out << "TLSA records: " << report.records.size() << "\n";
  std::size_t index = 0;
  for (const auto& record : report.records) {
    out << "  [" << index++ << "] ";
    if (record.record.data.empty() && record.problem) {
      out << "unparseable: " << record.problem->message() << "\n";
      continue;
    }
    out << describe_record(record.record) << "\n";
    out << "      status: "
        << (record.problem        ? "not usable: " + record.problem->message()
            : record.confirm_only ? std::string("usable to confirm a presented certificate")
                                  : std::string("usable"))
        << "\n";
    if (record.subject_common_name) out << "      subject CN: " << *record.subject_common_name << "\n";
    for (const auto& san : record.subject_alt_names) out << "      SAN: " << san << "\n";
    if (record.not_before) out << "      not before: " << utc_text(*record.not_before) << "\n";
    if (record.not_after) out << "      not after: " << utc_text(*record.not_after) << "\n";
  }
  out << "Verdict: " << (report.verdict ? "refused: " + report.verdict->message() : std::string("trusted")) << "\n";
  return out.str();
}

}  // namespace danemq::dane
