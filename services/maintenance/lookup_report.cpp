#include "lookup_report.hpp"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "danemq/core/utc_time.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/dane/tlsa_rdata.hpp"
#include "danemq/dane/trust.hpp"
#include "danemq/identity/certificate.hpp"
#include "danemq/identity/dns_name.hpp"

namespace danemq::maintenance {
namespace {

std::string utc_text(std::chrono::system_clock::time_point when) {
  return core::readable_utc(when);
}

}  // namespace

verdict_kind verdict_of(const lookup_report& report) {
  if (report.lookup_error) {
    const auto& code = report.lookup_error->code;
    if (code == make_error_code(dane::errc::timeout) || code == make_error_code(dane::errc::network_error)) {
      return verdict_kind::resolver_unreachable;
    }
    return verdict_kind::refused;
  }
  if (report.verdict) return verdict_kind::refused;
  const bool has_key = std::any_of(report.records.begin(), report.records.end(), [](const record_report& record) {
    return !record.problem && !record.confirm_only && !record.record.data.empty();
  });
  return has_key ? verdict_kind::trusted : verdict_kind::refused;
}

lookup_report report_lookup(const dane::discovery& source, std::string_view requested) {
  lookup_report report;
  report.name = std::string(requested);
  report.resolver = source.resolver().to_string();
  report.mode = source.config().dnssec;
  auto canonical = identity::canonical_dns_name(requested);
  if (!canonical) {
    report.lookup_error = fail(dane::errc::bad_name, canonical.error().detail);
    return report;
  }
  report.name = *canonical;
  auto facts = source.look_up(report.name);
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
  const dane::trust_decision decision = source.decide(*facts);
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
  } else if (auto status = dane::decision_status(
                 dane::trust_input{report.name, facts->dnssec.status, facts->records, {}}, decision);
             !status) {
    report.verdict = status.error();
  } else if (decision.keys.empty()) {
    report.verdict = fail(dane::errc::no_usable_record, "only hash records are usable: they carry no key");
  }
  return report;
}

std::string_view to_string(verdict_kind verdict) noexcept {
  switch (verdict) {
    case verdict_kind::trusted: return "trusted";
    case verdict_kind::resolver_unreachable: return "resolver_unreachable";
    case verdict_kind::refused: break;
  }
  return "refused";
}

std::string report_json(const lookup_report& report) {
  const auto verdict = verdict_of(report);
  nlohmann::json object = {
      {"name", report.name},
      {"resolver", report.resolver},
      {"dnssec_validation", std::string(to_string(report.mode))},
      {"verdict", std::string(to_string(verdict))},
  };
  object["reason"] = report.verdict                     ? nlohmann::json(report.verdict->message())
                     : report.lookup_error              ? nlohmann::json(report.lookup_error->message())
                     : verdict == verdict_kind::refused ? nlohmann::json("no usable TLSA record carries a key")
                                                        : nlohmann::json(nullptr);
  if (!report.lookup_error || !report.records.empty()) {
    object["answer"] = {{"rcode", std::string(dane::rcode_name(report.rcode))},
                        {"authenticated_data", report.authenticated_data},
                        {"over_tcp", report.over_tcp},
                        {"ttl", report.ttl}};
    if (report.extended_error) {
      object["answer"]["extended_error"] = {{"code", *report.extended_error}, {"text", report.extended_error_text}};
    }
  }
  object["dnssec"] = {{"status", std::string(to_string(report.dnssec.status))}, {"reason", report.dnssec.reason}};
  object["cnames"] = nlohmann::json::array();
  for (const auto& link : report.cnames) object["cnames"].push_back({{"owner", link.owner}, {"target", link.target}});
  object["records"] = nlohmann::json::array();
  for (const auto& record : report.records) {
    nlohmann::json entry;
    if (!record.record.data.empty()) {
      entry["usage"] = record.record.usage;
      entry["selector"] = record.record.selector;
      entry["matching"] = record.record.matching;
      entry["data"] = crypto::to_hex(record.record.data);
    }
    entry["status"] = record.problem ? "not_usable" : record.confirm_only ? "confirm_only" : "usable";
    entry["problem"] = record.problem ? nlohmann::json(record.problem->message()) : nlohmann::json(nullptr);
    if (record.subject_common_name) entry["subject_cn"] = *record.subject_common_name;
    if (!record.subject_alt_names.empty()) entry["subject_alt_names"] = record.subject_alt_names;
    if (record.not_before) entry["not_before"] = utc_text(*record.not_before);
    if (record.not_after) entry["not_after"] = utc_text(*record.not_after);
    object["records"].push_back(std::move(entry));
  }
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_report(const lookup_report& report) {
  std::ostringstream out;
  out << "Name: " << report.name << "\n";
  out << "Resolver: " << report.resolver << " (DNSSEC_VALIDATION=" << to_string(report.mode) << ")\n";
  if (report.lookup_error && report.records.empty()) {
    out << "Lookup: " << report.lookup_error->message() << "\n";
  } else {
    out << "Answer: " << dane::rcode_name(report.rcode) << (report.authenticated_data ? ", AD" : "")
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
    out << dane::describe_record(record.record) << "\n";
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
  out << "Verdict: ";
  switch (verdict_of(report)) {
    case verdict_kind::trusted: out << "trusted"; break;
    case verdict_kind::resolver_unreachable: out << "resolver unreachable: " << report.lookup_error->message(); break;
    case verdict_kind::refused:
      out << "refused: "
          << (report.verdict        ? report.verdict->message()
              : report.lookup_error ? report.lookup_error->message()
                                    : std::string("no usable TLSA record carries a key"));
      break;
  }
  out << "\n";
  return out.str();
}

}  // namespace danemq::maintenance
