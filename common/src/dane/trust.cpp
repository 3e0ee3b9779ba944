#include "danemq/dane/trust.hpp"

#include <algorithm>

#include "danemq/dane/tlsa_rdata.hpp"
#include "danemq/identity/certificate.hpp"

namespace danemq::dane {
namespace {

namespace tlsa = identity::tlsa;

/// Preference among usable keys: DANE-EE, then PKIX-EE, then PKIX-CD.
int usage_rank(std::uint8_t usage) {
  switch (usage) {
    case tlsa::dane_ee: return 0;
    case tlsa::pkix_ee: return 1;
    default: return 2;
  }
}

bool before(const identity::tlsa_record& a, const identity::tlsa_record& b) {
  return std::tuple(usage_rank(a.usage), a.selector, a.matching, a.data) <
         std::tuple(usage_rank(b.usage), b.selector, b.matching, b.data);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

crypto::unique_x509 copy_of(const X509& cert) {
  crypto::unique_x509 copy(X509_dup(const_cast<X509*>(&cert)));
  if (!copy) throw std::bad_alloc();
  return copy;
}

crypto::unique_evp_pkey key_of(const X509& cert) {
  crypto::unique_evp_pkey key(X509_get_pubkey(const_cast<X509*>(&cert)));
  if (!key) throw std::runtime_error("certificate without a readable public key");
  return key;
}

failure needs_dnssec(const identity::tlsa_record& record, dnssec_status status) {
  return fail(errc::insecure, usage_name(record.usage) + " requires a DNSSEC-secure answer (this one is " +
                                  std::string(to_string(status)) + ")");
}

}  // namespace

result<void> check_name_and_dates(const X509& certificate, std::string_view name,
                                  std::chrono::system_clock::time_point now) {
  if (now < identity::not_before(certificate)) return fail(errc::pkix_failed, "certificate not yet valid");
  if (now > identity::not_after(certificate)) return fail(errc::pkix_failed, "certificate expired");
  const std::string wanted = lowercase(name);
  const auto names = identity::subject_alt_dns_names(certificate);
  if (std::find(names.begin(), names.end(), wanted) == names.end()) {
    return fail(errc::pkix_failed, "the certificate's SubjectAltName does not contain " + wanted);
  }
  return ok();
}

bool record_matches_certificate(const identity::tlsa_record& record, const X509& certificate) {
  auto data = identity::association_data(certificate, record.selector, record.matching);
  return data && *data == record.data;
}

trust_decision decide_trust(const trust_input& input, const pkix_cd_check& pkix_cd) {
  trust_decision decision;
  struct candidate {
    identity::tlsa_record record;
    trusted_key key;
  };
  std::vector<candidate> candidates;
  std::vector<identity::tlsa_record> confirming;

  for (const auto& record : input.records) {
    tlsa_verdict verdict{record, std::nullopt, false};
    auto checked = check_tlsa_record(record);
    if (!checked) {
      verdict.problem = checked.error();
    } else if (input.status == dnssec_status::bogus) {
      verdict.problem = fail(errc::bogus, "the TLSA RRset failed DNSSEC validation");
    } else {
      switch (record.usage) {
        case tlsa::dane_ee:
        case tlsa::pkix_ee: {
          if (input.status != dnssec_status::secure) {
            verdict.problem = needs_dnssec(record, input.status);
            break;
          }
          if (record.matching != tlsa::exact) {
            verdict.confirm_only = true;
            confirming.push_back(record);
            break;
          }
          if (record.usage == tlsa::pkix_ee) {
            if (!checked->certificate) {
              verdict.problem = fail(errc::unsupported_record,
                                     "PKIX-EE needs the whole certificate (selector 0) to check names and dates");
              break;
            }
            if (auto pkix = check_name_and_dates(*checked->certificate, input.name, input.now); !pkix) {
              verdict.problem = pkix.error();
              break;
            }
          }
          candidates.push_back(
              {record, trusted_key{std::move(checked->public_key), std::move(checked->certificate), record}});
          break;
        }
        case tlsa::pkix_cd: {
          if (record.selector != tlsa::full_certificate || record.matching != tlsa::exact) {
            verdict.problem = fail(errc::unsupported_record, "PKIX-CD is only used as 4 0 0 (the whole certificate)");
            break;
          }
          if (!pkix_cd) {
            verdict.problem = fail(errc::unsupported_record, "PKIX-CD is disabled");
            break;
          }
          // Every peer refuses an identity whose answer is not secure: no
          // HTTPS fetch to a host an insecure answer (anyone's) names.
          if (input.status != dnssec_status::secure) {
            verdict.problem = needs_dnssec(record, input.status);
            break;
          }
          if (auto pkix = pkix_cd(*checked->certificate, input.name); !pkix) {
            verdict.problem = pkix.error();
            break;
          }
          candidates.push_back(
              {record, trusted_key{std::move(checked->public_key), std::move(checked->certificate), record}});
          break;
        }
        default:
          verdict.problem = fail(errc::unsupported_record,
                                 usage_name(record.usage) + " (a trust anchor usage) is not used for identities");
          break;
      }
    }
    decision.verdicts.push_back(std::move(verdict));
  }

  // Among records of one kind that carry a whole certificate, the newest
  // (latest notBefore) first: during a key rotation a sender encrypts to the
  // next key as soon as it is published. Bare keys keep the RDATA order.
  std::stable_sort(candidates.begin(), candidates.end(), [](const candidate& a, const candidate& b) {
    const auto kind_a = std::tuple(usage_rank(a.record.usage), a.record.selector, a.record.matching);
    const auto kind_b = std::tuple(usage_rank(b.record.usage), b.record.selector, b.record.matching);
    if (kind_a != kind_b) return kind_a < kind_b;
    if (a.key.certificate && b.key.certificate) {
      const auto born_a = identity::not_before(*a.key.certificate);
      const auto born_b = identity::not_before(*b.key.certificate);
      if (born_a != born_b) return born_a > born_b;
    }
    return a.record.data < b.record.data;
  });
  // The same key published twice (e.g. 3 0 0 and 3 1 0 of one certificate) is offered once.
  for (auto& c : candidates) {
    const bool duplicate = std::any_of(decision.keys.begin(), decision.keys.end(), [&c](const trusted_key& k) {
      return crypto::same_public_key(*k.public_key, *c.key.public_key) &&
             (k.certificate != nullptr) == (c.key.certificate != nullptr);
    });
    if (!duplicate) decision.keys.push_back(std::move(c.key));
  }
  std::stable_sort(confirming.begin(), confirming.end(), before);
  decision.confirming_records = std::move(confirming);
  return decision;
}

result<void> decision_status(const trust_input& input, const trust_decision& decision) {
  if (!decision.keys.empty() || !decision.confirming_records.empty()) return ok();
  if (input.status == dnssec_status::bogus) return fail(errc::bogus, input.name + ": the TLSA RRset is bogus");
  if (decision.verdicts.empty()) return fail(errc::no_usable_record, input.name + ": empty TLSA RRset");
  const bool all_insecure = std::all_of(decision.verdicts.begin(), decision.verdicts.end(), [](const tlsa_verdict& v) {
    return v.problem && v.problem->code == make_error_code(errc::insecure);
  });
  if (all_insecure) {
    return fail(errc::insecure, input.name + ": TLSA RRset is " + std::string(to_string(input.status)) +
                                    " and no record may be used without DNSSEC");
  }
  std::string reasons;
  for (const auto& v : decision.verdicts) {
    if (!reasons.empty()) reasons += "; ";
    reasons += describe_record(v.record) + ": " + (v.problem ? v.problem->message() : "usable");
  }
  return fail(errc::no_usable_record, input.name + ": " + reasons);
}

result<trusted_key> confirm_presented_certificate(const dane_identity& identity, const X509& certificate,
                                                  std::chrono::system_clock::time_point now) {
  const auto presented_key = key_of(certificate);
  for (const auto& key : identity.keys) {
    const bool match = key.certificate ? X509_cmp(key.certificate.get(), &certificate) == 0
                                       : crypto::same_public_key(*key.public_key, *presented_key);
    if (match) return trusted_key{key_of(certificate), copy_of(certificate), key.record};
  }
  for (const auto& record : identity.confirming_records) {
    if (!record_matches_certificate(record, certificate)) continue;
    if (record.usage == tlsa::pkix_ee) {
      if (auto pkix = check_name_and_dates(certificate, identity.name, now); !pkix) return pkix.error();
    }
    return trusted_key{key_of(certificate), copy_of(certificate), record};
  }
  return fail(errc::no_match, "no TLSA record of " + identity.name + " matches the presented certificate (" +
                                  std::to_string(identity.keys.size() + identity.confirming_records.size()) +
                                  " usable)");
}

}  // namespace danemq::dane
