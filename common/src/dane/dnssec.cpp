#include "danemq/dane/dnssec.hpp"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include "ldns_handles.hpp"

namespace danemq::dane {
namespace {

using steady = std::chrono::steady_clock;
/// CNAME links followed in one answer.
constexpr unsigned max_cname_links = 12;
/// Nested steps of one validation (each zone above costs a few: its DS, its
/// keys, the proofs of a denial), a bound on a resolver that keeps us busy.
constexpr unsigned max_chain_depth = 40;
constexpr std::chrono::seconds max_key_cache_ttl{300};

/// RFC 8624 section 3.1 "MUST"/"RECOMMENDED" validation algorithms.
bool allowed_algorithm(std::uint8_t algorithm) {
  switch (algorithm) {
    case LDNS_RSASHA256:
    case LDNS_RSASHA512:
    case LDNS_ECDSAP256SHA256:
    case LDNS_ECDSAP384SHA384:
    case LDNS_ED25519:
    case LDNS_ED448: return true;
    default: return false;
  }
}

/// RFC 8624 section 3.3: SHA-256 and SHA-384 DS digests.
bool allowed_digest(std::uint8_t digest) {
  return digest == LDNS_SHA256 || digest == LDNS_SHA384;
}

std::uint8_t rdf_u8(const ldns_rr* rr, std::size_t index) {
  const ldns_rdf* rdf = ldns_rr_rdf(rr, index);
  return rdf != nullptr && ldns_rdf_size(rdf) == 1 ? ldns_rdf2native_int8(rdf) : 0;
}
std::uint16_t rdf_u16(const ldns_rr* rr, std::size_t index) {
  const ldns_rdf* rdf = ldns_rr_rdf(rr, index);
  return rdf != nullptr && ldns_rdf_size(rdf) == 2 ? ldns_rdf2native_int16(rdf) : 0;
}

bool same_name(const ldns_rdf* a, const ldns_rdf* b) {
  return ldns_dname_compare(a, b) == 0;
}
bool at_or_below(const ldns_rdf* name, const ldns_rdf* zone) {
  return same_name(name, zone) || ldns_dname_is_subdomain(name, zone);
}

ldns::unique_rr_view new_view() {
  ldns::unique_rr_view list(ldns_rr_list_new());
  if (!list) throw std::bad_alloc();
  return list;
}

/// Records of `type` at `owner` in a section (pointers into the packet).
ldns::unique_rr_view rrset_of(const ldns_rr_list* section, const ldns_rdf* owner, ldns_rr_type type) {
  auto list = new_view();
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) == type && same_name(ldns_rr_owner(rr), owner)) ldns_rr_list_push_rr(list.get(), rr);
  }
  return list;
}

/// RRSIGs at `owner` covering `type` made with an allowed algorithm.
ldns::unique_rr_view signatures_of(const ldns_rr_list* section, const ldns_rdf* owner, ldns_rr_type type) {
  auto list = new_view();
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || !same_name(ldns_rr_owner(rr), owner)) continue;
    const ldns_rdf* covered = ldns_rr_rrsig_typecovered(rr);
    if (covered == nullptr || ldns_rdf2rr_type(covered) != type) continue;
    if (!allowed_algorithm(rdf_u8(rr, 1))) continue;
    ldns_rr_list_push_rr(list.get(), rr);
  }
  return list;
}

dnssec_verdict verdict(dnssec_status status, std::string reason = {}) {
  return {status, std::move(reason)};
}

/// Keys of a zone whose DNSKEY RRset was validated, with how long they may be reused.
struct zone_keys {
  dnssec_verdict verdict;
  std::shared_ptr<ldns_rr_list> keys;  // owned (deep) list
  std::uint32_t ttl{0};
};

}  // namespace

std::string_view to_string(dnssec_mode mode) noexcept {
  return mode == dnssec_mode::local ? "local" : "resolver";
}

result<dnssec_mode> parse_dnssec_mode(std::string_view text) {
  if (text == "resolver") return dnssec_mode::resolver;
  if (text == "local") return dnssec_mode::local;
  return fail(errc::bad_configuration,
              "DNSSEC_VALIDATION must be \"resolver\" or \"local\", not \"" + std::string(text) + "\"");
}

result<void> check_ad_trust(const server_address& server, bool path_trusted) {
  if (path_trusted) return ok();
  if (server.ip == docker_embedded_resolver) {
    return fail(errc::bad_configuration,
                "DNSSEC_VALIDATION=resolver refused: " + server.to_string() +
                    " is Docker's embedded resolver, which forwards to the host's upstream, so its AD bit can be "
                    "forged on the way; use DNSSEC_VALIDATION=local, or DNSSEC_TRUST_RESOLVER=1 if that path is "
                    "trusted");
  }
  if (!is_loopback(server)) {
    return fail(errc::bad_configuration,
                "DNSSEC_VALIDATION=resolver refused: " + server.to_string() +
                    " is not on loopback, so its AD bit can be forged on the way; use DNSSEC_VALIDATION=local, or "
                    "DNSSEC_TRUST_RESOLVER=1 if that path is trusted");
  }
  return ok();
}

std::string_view to_string(dnssec_status status) noexcept {
  switch (status) {
    case dnssec_status::secure: return "secure";
    case dnssec_status::insecure: return "insecure";
    case dnssec_status::bogus: return "bogus";
    case dnssec_status::indeterminate: return "indeterminate";
  }
  return "indeterminate";
}

struct local_validator::impl {
  ldns::unique_rr_list anchors;
  std::shared_ptr<const stub_resolver> resolver;
  mutable std::mutex cache_mutex;
  mutable std::map<std::string, std::pair<std::shared_ptr<ldns_rr_list>, steady::time_point>> key_cache;

  [[nodiscard]] dnssec_verdict validate_rrset(const ldns_rr_list* rrset, const ldns_rr_list* signatures,
                                              const ldns_rdf* owner, unsigned depth) const;
  [[nodiscard]] dnssec_verdict validate_denial(const ldns_pkt* answer, const ldns_rdf* name, ldns_rr_type type,
                                               unsigned depth) const;
  [[nodiscard]] dnssec_verdict validate_wildcard_proof(const ldns_pkt* answer, const ldns_rdf* name,
                                                       std::uint8_t signed_labels, unsigned depth) const;
  [[nodiscard]] dnssec_verdict validate_denial_records(const ldns_rr_list* section, ldns_rr_type type,
                                                       unsigned depth) const;
  [[nodiscard]] dnssec_verdict prove_insecure(const ldns_rdf* name, unsigned depth) const;
  [[nodiscard]] zone_keys keys_of(const ldns_rdf* zone, unsigned depth) const;
  [[nodiscard]] zone_keys fetch_and_check_keys(const ldns_rdf* zone, const ldns_rr_list* entry_points) const;
  [[nodiscard]] const ldns_rr* closest_anchor(const ldns_rdf* name) const;

  /// Asks the resolver (DO and CD set) and parses the answer.
  [[nodiscard]] result<ldns::unique_pkt> ask(const ldns_rdf* name, ldns_rr_type type) const {
    auto answer = resolver->query(ldns::name_text(name), static_cast<std::uint16_t>(type),
                                  query_flags{true, true, resolver->options().edns_buffer_size});
    if (!answer) return answer.error();
    ldns_pkt* raw = nullptr;
    const ldns_status status = ldns_wire2pkt(&raw, answer->wire.data(), answer->wire.size());
    ldns::unique_pkt pkt(raw);
    if (status != LDNS_STATUS_OK || !pkt) return fail(errc::malformed_answer, ldns::status_text(status));
    return pkt;
  }
};

const ldns_rr* local_validator::impl::closest_anchor(const ldns_rdf* name) const {
  const ldns_rr* closest = nullptr;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(anchors.get()); ++i) {
    const ldns_rr* anchor = ldns_rr_list_rr(anchors.get(), i);
    if (!at_or_below(name, ldns_rr_owner(anchor))) continue;
    if (closest == nullptr ||
        ldns_dname_label_count(ldns_rr_owner(anchor)) > ldns_dname_label_count(ldns_rr_owner(closest))) {
      closest = anchor;
    }
  }
  return closest;
}

dnssec_verdict local_validator::impl::validate_rrset(const ldns_rr_list* rrset, const ldns_rr_list* signatures,
                                                     const ldns_rdf* owner, unsigned depth) const {
  const std::string where = ldns::name_text(owner);
  if (ldns_rr_list_rr_count(signatures) == 0) {
    // Unsigned: insecure only where the chain of trust provably ends above.
    dnssec_verdict unsigned_verdict = prove_insecure(owner, depth + 1);
    if (unsigned_verdict.status == dnssec_status::bogus) {
      unsigned_verdict.reason = "no RRSIG (of an allowed algorithm) for " + where + ": " + unsigned_verdict.reason;
    }
    return unsigned_verdict;
  }
  const ldns_rdf* signer = ldns_rr_rrsig_signame(ldns_rr_list_rr(signatures, 0));
  if (signer == nullptr || !at_or_below(owner, signer)) {
    return verdict(dnssec_status::bogus, "RRSIG for " + where + " by a signer above which it does not lie");
  }
  const zone_keys keys = keys_of(signer, depth + 1);
  if (keys.verdict.status != dnssec_status::secure) return keys.verdict;
  // Each signature on its own, so the cache time follows the ones that verify.
  const std::time_t now = std::time(nullptr);
  std::optional<std::uint32_t> limit;
  ldns_status last = LDNS_STATUS_CRYPTO_NO_MATCHING_KEYTAG_DNSKEY;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(signatures); ++i) {
    ldns_rr* signature = ldns_rr_list_rr(signatures, i);
    const ldns_rdf* this_signer = ldns_rr_rrsig_signame(signature);
    if (this_signer == nullptr || !same_name(this_signer, signer)) continue;
    const ldns_status status = ldns_verify_rrsig_keylist_time(rrset, signature, keys.keys.get(), now, nullptr);
    if (status != LDNS_STATUS_OK) {
      last = status;
      continue;
    }
    const std::uint32_t original_ttl = ldns_rdf2native_int32(ldns_rr_rrsig_origttl(signature));
    const std::time_t expiration = ldns_rdf2native_time_t(ldns_rr_rrsig_expiration(signature));
    const auto left = static_cast<std::uint32_t>(std::clamp<std::int64_t>(expiration - now, 0, UINT32_MAX));
    const std::uint32_t this_limit = std::min(original_ttl, left);
    limit = std::max(limit.value_or(0), this_limit);
  }
  if (!limit) {
    return verdict(dnssec_status::bogus, "signature of " + where + " does not verify: " + ldns::status_text(last));
  }
  dnssec_verdict secure = verdict(dnssec_status::secure);
  secure.ttl_limit = limit;
  return secure;
}

/// The NSEC or NSEC3 RRsets of the authority section (every owner's), each
/// validated; secure with the least of their cache limits.
dnssec_verdict local_validator::impl::validate_denial_records(const ldns_rr_list* section, ldns_rr_type type,
                                                              unsigned depth) const {
  dnssec_verdict all = verdict(dnssec_status::secure);
  std::vector<const ldns_rdf*> seen;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) != type) continue;
    const ldns_rdf* owner = ldns_rr_owner(rr);
    if (std::any_of(seen.begin(), seen.end(), [owner](const ldns_rdf* o) { return same_name(o, owner); })) continue;
    seen.push_back(owner);
    auto rrset = rrset_of(section, owner, type);
    auto signatures = signatures_of(section, owner, type);
    dnssec_verdict one = validate_rrset(rrset.get(), signatures.get(), owner, depth);
    if (one.status != dnssec_status::secure) return one;
    if (one.ttl_limit) all.ttl_limit = std::min(all.ttl_limit.value_or(UINT32_MAX), *one.ttl_limit);
  }
  return all;
}

namespace {

/// The closest encloser an NSEC proves for a name it covers: the deeper of
/// the name's common ancestors with the NSEC's owner and next name.
ldns::unique_rdf nsec_closest_encloser(const ldns_rr* nsec, const ldns_rdf* name) {
  const auto common = [name](const ldns_rdf* other) {
    ldns::unique_rdf ancestor(ldns_rdf_clone(name));
    while (ancestor && !at_or_below(other, ancestor.get())) ancestor.reset(ldns_dname_left_chop(ancestor.get()));
    return ancestor;
  };
  auto with_owner = common(ldns_rr_owner(nsec));
  auto with_next = common(ldns_rr_rdf(nsec, 0));
  if (!with_owner) return with_next;
  if (!with_next) return with_owner;
  return ldns_dname_label_count(with_next.get()) > ldns_dname_label_count(with_owner.get()) ? std::move(with_next)
                                                                                            : std::move(with_owner);
}

/// An NSEC that covers `name` without being at it (so `name` does not exist).
const ldns_rr* nsec_strictly_covering(const ldns_rr_list* nsecs, const ldns_rdf* name) {
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(nsecs); ++i) {
    const ldns_rr* nsec = ldns_rr_list_rr(nsecs, i);
    if (!same_name(ldns_rr_owner(nsec), name) && ldns_nsec_covers_name(nsec, name)) return nsec;
  }
  return nullptr;
}

/// Every record of `type` in a section (pointers into the packet).
ldns::unique_rr_view all_of_type(const ldns_rr_list* section, ldns_rr_type type) {
  auto list = new_view();
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) == type) ldns_rr_list_push_rr(list.get(), rr);
  }
  return list;
}

/// An NSEC/NSEC3 at a delegation (NS without SOA) proves nothing about the
/// names below it: it belongs to the parent (RFC 6840 section 4.1).
bool is_delegation(const ldns_rr* denial) {
  const ldns_rdf* bitmap = ldns_nsec_get_bitmap(denial);
  return bitmap != nullptr && ldns_nsec_bitmap_covers_type(bitmap, LDNS_RR_TYPE_NS) &&
         !ldns_nsec_bitmap_covers_type(bitmap, LDNS_RR_TYPE_SOA);
}

/// The NSEC3 whose owner is the hash of `name` in its zone, if any.
const ldns_rr* nsec3_matching(const ldns_rr_list* nsec3s, const ldns_rdf* name) {
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(nsec3s); ++i) {
    const ldns_rr* nsec3 = ldns_rr_list_rr(nsec3s, i);
    ldns::unique_rdf hashed(ldns_nsec3_hash_name_frm_nsec3(nsec3, name));
    ldns::unique_rdf zone(ldns_dname_left_chop(ldns_rr_owner(nsec3)));
    if (!hashed || !zone || ldns_dname_cat(hashed.get(), zone.get()) != LDNS_STATUS_OK) continue;
    if (same_name(hashed.get(), ldns_rr_owner(nsec3))) return nsec3;
  }
  return nullptr;
}

/// The record that proves `name` is a delegation without DS, in a validated
/// denial of its DS (the NSEC at it, or the NSEC3 of its hash); null if none.
const ldns_rr* unsigned_delegation_proof(const ldns_pkt* answer, const ldns_rdf* name) {
  const ldns_rr_list* authority = ldns_pkt_authority(answer);
  auto nsecs = rrset_of(authority, name, LDNS_RR_TYPE_NSEC);
  if (ldns_rr_list_rr_count(nsecs.get()) > 0) {
    const ldns_rr* nsec = ldns_rr_list_rr(nsecs.get(), 0);
    return is_delegation(nsec) ? nsec : nullptr;
  }
  auto nsec3s = all_of_type(authority, LDNS_RR_TYPE_NSEC3);
  const ldns_rr* match = nsec3_matching(nsec3s.get(), name);
  return match != nullptr && is_delegation(match) ? match : nullptr;
}

}  // namespace

dnssec_verdict local_validator::impl::validate_denial(const ldns_pkt* answer, const ldns_rdf* name, ldns_rr_type type,
                                                      unsigned depth) const {
  const std::string what = ldns::name_text(name) + "/" + std::to_string(type);
  if (depth > max_chain_depth) return verdict(dnssec_status::bogus, "chain of trust too long at " + what);
  const ldns_rr_list* authority = ldns_pkt_authority(answer);
  auto nsecs = all_of_type(authority, LDNS_RR_TYPE_NSEC);
  auto nsec3s = all_of_type(authority, LDNS_RR_TYPE_NSEC3);
  const bool nxdomain = ldns_pkt_get_rcode(answer) == LDNS_RCODE_NXDOMAIN;
  if (ldns_rr_list_rr_count(nsecs.get()) == 0 && ldns_rr_list_rr_count(nsec3s.get()) == 0) {
    dnssec_verdict unsigned_verdict = prove_insecure(name, depth + 1);
    if (unsigned_verdict.status == dnssec_status::bogus) {
      unsigned_verdict.reason = "denial of " + what + " without NSEC/NSEC3 proof: " + unsigned_verdict.reason;
    }
    return unsigned_verdict;
  }
  const bool use_nsec = ldns_rr_list_rr_count(nsecs.get()) > 0;
  dnssec_verdict records =
      validate_denial_records(authority, use_nsec ? LDNS_RR_TYPE_NSEC : LDNS_RR_TYPE_NSEC3, depth + 1);
  if (records.status != dnssec_status::secure) {
    records.reason = "denial of " + what + ": " + records.reason;
    return records;
  }
  ldns::unique_rr question(ldns_rr_new());
  if (!question) throw std::bad_alloc();
  ldns_rr_set_owner(question.get(), ldns_rdf_clone(name));
  ldns_rr_set_type(question.get(), type);
  ldns_rr_set_class(question.get(), LDNS_RR_CLASS_IN);
  auto signatures = all_of_type(authority, LDNS_RR_TYPE_RRSIG);
  ldns_status status = LDNS_STATUS_OK;
  if (use_nsec) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(nsecs.get()); ++i) {
      const ldns_rr* nsec = ldns_rr_list_rr(nsecs.get(), i);
      if (is_delegation(nsec) && ldns_dname_is_subdomain(name, ldns_rr_owner(nsec))) {
        return verdict(dnssec_status::bogus, "denial of " + what + " by the NSEC of the delegation " +
                                                 ldns::name_text(ldns_rr_owner(nsec)) + " above it");
      }
    }
    status = ldns_dnssec_verify_denial(question.get(), nsecs.get(), signatures.get());
    if (status == LDNS_STATUS_OK && nxdomain) {
      // ldns checks the wildcard next to the name; RFC 4035 section 5.4
      // wants it at the closest encloser, and the name itself not there.
      const ldns_rr* covering = nsec_strictly_covering(nsecs.get(), name);
      if (covering == nullptr) {
        status = LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;
      } else {
        ldns::unique_rdf wildcard(ldns_dname_new_frm_str("*"));
        auto encloser = nsec_closest_encloser(covering, name);
        if (!wildcard || !encloser || ldns_dname_cat(wildcard.get(), encloser.get()) != LDNS_STATUS_OK ||
            nsec_strictly_covering(nsecs.get(), wildcard.get()) == nullptr) {
          status = LDNS_STATUS_DNSSEC_NSEC_WILDCARD_NOT_COVERED;
        }
      }
    }
  } else {
    status = ldns_dnssec_verify_denial_nsec3(question.get(), nsec3s.get(), signatures.get(), ldns_pkt_get_rcode(answer),
                                             type, !nxdomain);
  }
  if (status != LDNS_STATUS_OK) {
    return verdict(dnssec_status::bogus, std::string("the ") + (use_nsec ? "NSEC" : "NSEC3") +
                                             " records do not prove " + (nxdomain ? "NXDOMAIN" : "NODATA") + " for " +
                                             what + ": " + ldns::status_text(status));
  }
  return records;
}

dnssec_verdict local_validator::impl::validate_wildcard_proof(const ldns_pkt* answer, const ldns_rdf* name,
                                                              std::uint8_t signed_labels, unsigned depth) const {
  const ldns_rr_list* authority = ldns_pkt_authority(answer);
  const std::string where = ldns::name_text(name);
  auto nsecs = all_of_type(authority, LDNS_RR_TYPE_NSEC);
  if (const ldns_rr* covering = nsec_strictly_covering(nsecs.get(), name); covering != nullptr) {
    auto rrset = rrset_of(authority, ldns_rr_owner(covering), LDNS_RR_TYPE_NSEC);
    auto signatures = signatures_of(authority, ldns_rr_owner(covering), LDNS_RR_TYPE_NSEC);
    return validate_rrset(rrset.get(), signatures.get(), ldns_rr_owner(covering), depth);
  }
  // NSEC3 (RFC 5155 section 8.8): the next closer name, one label below the
  // wildcard's parent, is covered.
  ldns::unique_rdf next_closer(ldns_rdf_clone(name));
  while (next_closer && ldns_dname_label_count(next_closer.get()) > signed_labels + 1U) {
    next_closer.reset(ldns_dname_left_chop(next_closer.get()));
  }
  auto nsec3s = all_of_type(authority, LDNS_RR_TYPE_NSEC3);
  for (std::size_t i = 0; next_closer && i < ldns_rr_list_rr_count(nsec3s.get()); ++i) {
    const ldns_rr* nsec3 = ldns_rr_list_rr(nsec3s.get(), i);
    ldns::unique_rdf hashed(ldns_nsec3_hash_name_frm_nsec3(nsec3, next_closer.get()));
    ldns::unique_rdf zone(ldns_dname_left_chop(ldns_rr_owner(nsec3)));
    if (!hashed || !zone || ldns_dname_cat(hashed.get(), zone.get()) != LDNS_STATUS_OK) continue;
    if (same_name(hashed.get(), ldns_rr_owner(nsec3)) || !ldns_nsec_covers_name(nsec3, hashed.get())) continue;
    auto rrset = rrset_of(authority, ldns_rr_owner(nsec3), LDNS_RR_TYPE_NSEC3);
    auto signatures = signatures_of(authority, ldns_rr_owner(nsec3), LDNS_RR_TYPE_NSEC3);
    return validate_rrset(rrset.get(), signatures.get(), ldns_rr_owner(nsec3), depth);
  }
  return verdict(dnssec_status::bogus,
                 "wildcard expansion for " + where + " without the NSEC/NSEC3 proof that no closer name exists");
}

dnssec_verdict local_validator::impl::prove_insecure(const ldns_rdf* name, unsigned depth) const {
  const std::string where = ldns::name_text(name);
  if (depth > max_chain_depth) return verdict(dnssec_status::bogus, "chain of trust too long at " + where);
  const ldns_rr* anchor = closest_anchor(name);
  if (anchor == nullptr) return verdict(dnssec_status::insecure, "no trust anchor covers " + where);
  // From the anchor down, each name's DS: a signed DS is a secure zone cut
  // (go on below it); a proven denial at a delegation is an unsigned one.
  ldns::unique_rdf zone(ldns_rdf_clone(ldns_rr_owner(anchor)));
  const zone_keys anchored = keys_of(zone.get(), depth + 1);
  if (anchored.verdict.status != dnssec_status::secure) return anchored.verdict;
  const unsigned labels = ldns_dname_label_count(name);
  for (unsigned count = ldns_dname_label_count(zone.get()) + 1; count <= labels; ++count) {
    ldns::unique_rdf cut(ldns_rdf_clone(name));
    while (cut && ldns_dname_label_count(cut.get()) > count) cut.reset(ldns_dname_left_chop(cut.get()));
    if (!cut) return verdict(dnssec_status::bogus, "bad name " + where);
    const std::string cut_name = ldns::name_text(cut.get());
    auto answer = ask(cut.get(), LDNS_RR_TYPE_DS);
    if (!answer) return verdict(dnssec_status::bogus, "DS of " + cut_name + ": " + answer.error().message());
    const ldns_rr_list* section = ldns_pkt_answer(answer->get());
    auto ds_set = rrset_of(section, cut.get(), LDNS_RR_TYPE_DS);
    if (ldns_rr_list_rr_count(ds_set.get()) > 0) {
      const zone_keys keys = keys_of(cut.get(), depth + 1);
      if (keys.verdict.status != dnssec_status::secure) return keys.verdict;
      zone = std::move(cut);
      continue;
    }
    if (ldns_pkt_get_rcode(answer->get()) != LDNS_RCODE_NOERROR &&
        ldns_pkt_get_rcode(answer->get()) != LDNS_RCODE_NXDOMAIN) {
      return verdict(dnssec_status::bogus,
                     "DS of " + cut_name + ": rcode " + std::to_string(ldns_pkt_get_rcode(answer->get())));
    }
    dnssec_verdict denial = validate_denial(answer->get(), cut.get(), LDNS_RR_TYPE_DS, depth + 1);
    if (denial.status != dnssec_status::secure) return denial;
    if (unsigned_delegation_proof(answer->get(), cut.get()) != nullptr) {
      return verdict(dnssec_status::insecure, "unsigned delegation " + cut_name + " (its lack of DS is proven)");
    }
  }
  return verdict(dnssec_status::bogus, where + " lies in the signed zone " + ldns::name_text(zone.get()));
}

zone_keys local_validator::impl::keys_of(const ldns_rdf* zone, unsigned depth) const {
  const std::string zone_name = ldns::name_text(zone);
  if (depth > max_chain_depth) return {verdict(dnssec_status::bogus, "chain of trust too long at " + zone_name), {}, 0};
  {
    std::lock_guard lock(cache_mutex);
    auto found = key_cache.find(zone_name);
    if (found != key_cache.end() && found->second.second > steady::now()) {
      return {verdict(dnssec_status::secure), found->second.first, 0};
    }
  }
  // Trust anchors at this very zone are the entry points; otherwise the DS
  // RRset, validated in the parent, is.
  auto entry_points = new_view();
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(anchors.get()); ++i) {
    ldns_rr* anchor = ldns_rr_list_rr(anchors.get(), i);
    if (same_name(ldns_rr_owner(anchor), zone)) ldns_rr_list_push_rr(entry_points.get(), anchor);
  }
  ldns::unique_pkt ds_answer;
  if (ldns_rr_list_rr_count(entry_points.get()) == 0) {
    if (closest_anchor(zone) == nullptr) {
      return {verdict(dnssec_status::insecure, "no trust anchor covers " + zone_name), {}, 0};
    }
    auto answer = ask(zone, LDNS_RR_TYPE_DS);
    if (!answer) return {verdict(dnssec_status::bogus, "DS of " + zone_name + ": " + answer.error().message()), {}, 0};
    ds_answer = std::move(answer).value();
    const ldns_rr_list* section = ldns_pkt_answer(ds_answer.get());
    auto ds_set = rrset_of(section, zone, LDNS_RR_TYPE_DS);
    if (ldns_rr_list_rr_count(ds_set.get()) == 0) {
      // A zone that signs but whose parent has no DS for it: insecure only
      // when the parent proves the DS's absence.
      dnssec_verdict denial = validate_denial(ds_answer.get(), zone, LDNS_RR_TYPE_DS, depth + 1);
      if (denial.status == dnssec_status::secure) {
        return {verdict(dnssec_status::insecure, "no DS for " + zone_name + " (unsigned delegation, proven)"), {}, 0};
      }
      denial.reason = "no DS for " + zone_name + ": " + denial.reason;
      return {denial, {}, 0};
    }
    auto ds_signatures = signatures_of(section, zone, LDNS_RR_TYPE_DS);
    if (ldns_rr_list_rr_count(ds_signatures.get()) > 0) {
      const ldns_rdf* signer = ldns_rr_rrsig_signame(ldns_rr_list_rr(ds_signatures.get(), 0));
      if (signer != nullptr && same_name(signer, zone)) {
        return {verdict(dnssec_status::bogus, "DS of " + zone_name + " signed by the zone itself"), {}, 0};
      }
    }
    if (ldns_rr_list_rr_count(ds_signatures.get()) == 0) {
      return {verdict(dnssec_status::bogus, "DS of " + zone_name + " without RRSIG"), {}, 0};
    }
    const dnssec_verdict ds_verdict = validate_rrset(ds_set.get(), ds_signatures.get(), zone, depth + 1);
    if (ds_verdict.status != dnssec_status::secure) return {ds_verdict, {}, 0};
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(ds_set.get()); ++i) {
      ldns_rr_list_push_rr(entry_points.get(), ldns_rr_list_rr(ds_set.get(), i));
    }
  }
  return fetch_and_check_keys(zone, entry_points.get());
}

zone_keys local_validator::impl::fetch_and_check_keys(const ldns_rdf* zone, const ldns_rr_list* entry_points) const {
  const std::string zone_name = ldns::name_text(zone);
  auto answer = ask(zone, LDNS_RR_TYPE_DNSKEY);
  if (!answer)
    return {verdict(dnssec_status::bogus, "DNSKEY of " + zone_name + ": " + answer.error().message()), {}, 0};
  const ldns_rr_list* section = ldns_pkt_answer(answer->get());
  auto all_keys = rrset_of(section, zone, LDNS_RR_TYPE_DNSKEY);
  auto zone_keys_only = new_view();
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(all_keys.get()); ++i) {
    ldns_rr* key = ldns_rr_list_rr(all_keys.get(), i);
    if ((rdf_u16(key, 0) & LDNS_KEY_ZONE_KEY) != 0 && allowed_algorithm(rdf_u8(key, 2))) {
      ldns_rr_list_push_rr(zone_keys_only.get(), key);
    }
  }
  // Keys the entry points (anchors or DS) vouch for, by allowed digests only.
  auto trusted = new_view();
  bool usable_entry_point = false;
  for (std::size_t e = 0; e < ldns_rr_list_rr_count(entry_points); ++e) {
    const ldns_rr* entry = ldns_rr_list_rr(entry_points, e);
    if (ldns_rr_get_type(entry) == LDNS_RR_TYPE_DS) {
      if (!allowed_digest(rdf_u8(entry, 2)) || !allowed_algorithm(rdf_u8(entry, 1))) continue;
    } else if (!allowed_algorithm(rdf_u8(entry, 2))) {
      continue;
    }
    usable_entry_point = true;
    for (std::size_t k = 0; k < ldns_rr_list_rr_count(zone_keys_only.get()); ++k) {
      ldns_rr* key = ldns_rr_list_rr(zone_keys_only.get(), k);
      if (ldns_rr_compare_ds(key, entry)) ldns_rr_list_push_rr(trusted.get(), key);
    }
  }
  if (!usable_entry_point) {
    return {verdict(dnssec_status::insecure, "no DS or anchor for " + zone_name + " with an allowed algorithm"), {}, 0};
  }
  if (ldns_rr_list_rr_count(trusted.get()) == 0) {
    return {verdict(dnssec_status::bogus, "no DNSKEY of " + zone_name + " matches its DS or trust anchor"), {}, 0};
  }
  auto signatures = signatures_of(section, zone, LDNS_RR_TYPE_DNSKEY);
  const ldns_status status =
      ldns_verify_time(all_keys.get(), signatures.get(), trusted.get(), std::time(nullptr), nullptr);
  if (status != LDNS_STATUS_OK) {
    return {verdict(dnssec_status::bogus,
                    "DNSKEY RRset of " + zone_name + " does not verify: " + ldns::status_text(status)),
            {},
            0};
  }
  std::shared_ptr<ldns_rr_list> keys(ldns_rr_list_clone(zone_keys_only.get()), ldns::rr_list_deleter{});
  std::uint32_t ttl = UINT32_MAX;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(all_keys.get()); ++i) {
    ttl = std::min(ttl, ldns_rr_ttl(ldns_rr_list_rr(all_keys.get(), i)));
  }
  // Nor longer than the signatures over the keys allow (RFC 4035 section 5.3.3).
  const std::time_t now = std::time(nullptr);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(signatures.get()); ++i) {
    const ldns_rr* signature = ldns_rr_list_rr(signatures.get(), i);
    const std::time_t expiration = ldns_rdf2native_time_t(ldns_rr_rrsig_expiration(signature));
    ttl = std::min({ttl, ldns_rdf2native_int32(ldns_rr_rrsig_origttl(signature)),
                    static_cast<std::uint32_t>(std::clamp<std::int64_t>(expiration - now, 0, UINT32_MAX))});
  }
  const auto lifetime = std::min<std::chrono::seconds>(std::chrono::seconds(ttl), max_key_cache_ttl);
  if (lifetime.count() > 0) {
    std::lock_guard lock(cache_mutex);
    key_cache[zone_name] = {keys, steady::now() + lifetime};
  }
  return {verdict(dnssec_status::secure), keys, ttl};
}

local_validator::local_validator(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
local_validator::~local_validator() = default;

std::size_t local_validator::anchor_count() const noexcept {
  return ldns_rr_list_rr_count(impl_->anchors.get());
}

result<std::shared_ptr<const local_validator>> local_validator::create(const std::filesystem::path& anchor_file,
                                                                       std::shared_ptr<const stub_resolver> resolver) {
  std::ifstream in(anchor_file);
  if (!in) return fail(errc::bad_configuration, "cannot read DNSSEC_TRUST_ANCHOR " + anchor_file.string());
  auto state = std::make_unique<impl>();
  state->anchors.reset(ldns_rr_list_new());
  state->resolver = std::move(resolver);
  std::string line;
  unsigned line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (const auto comment = line.find(';'); comment != std::string::npos) line.erase(comment);
    if (line.find_first_not_of(" \t\r") == std::string::npos || line.front() == '$') continue;
    ldns_rr* raw = nullptr;
    const ldns_status status = ldns_rr_new_frm_str(&raw, line.c_str(), 3600, nullptr, nullptr);
    ldns::unique_rr rr(raw);
    if (status != LDNS_STATUS_OK || !rr) {
      return fail(errc::bad_configuration,
                  anchor_file.string() + " line " + std::to_string(line_number) + ": " + ldns::status_text(status));
    }
    const ldns_rr_type type = ldns_rr_get_type(rr.get());
    if (type != LDNS_RR_TYPE_DS && type != LDNS_RR_TYPE_DNSKEY) continue;
    ldns_rr_list_push_rr(state->anchors.get(), rr.release());
  }
  if (ldns_rr_list_rr_count(state->anchors.get()) == 0) {
    return fail(errc::bad_configuration, anchor_file.string() + " holds no DS or DNSKEY record");
  }
  return std::shared_ptr<const local_validator>(new local_validator(std::move(state)));
}

dnssec_verdict local_validator::validate(std::span<const std::uint8_t> wire, std::string_view name,
                                         std::uint16_t type) const {
  ldns_pkt* raw = nullptr;
  const ldns_status status = ldns_wire2pkt(&raw, wire.data(), wire.size());
  ldns::unique_pkt pkt(raw);
  if (status != LDNS_STATUS_OK || !pkt) return verdict(dnssec_status::indeterminate, "unparseable answer");
  ldns::unique_rdf current = ldns::make_name(name);
  if (!current) return verdict(dnssec_status::indeterminate, "bad name");
  const ldns_rr_list* section = ldns_pkt_answer(pkt.get());
  std::optional<std::uint32_t> limit;
  const auto note_limit = [&limit](const dnssec_verdict& step) {
    if (step.ttl_limit) limit = std::min(limit.value_or(UINT32_MAX), *step.ttl_limit);
  };
  // A secure RRset signed with fewer labels than its owner has was expanded
  // from a wildcard: only secure with the proof that no closer name exists.
  const auto checked = [&](const ldns_rr_list* rrset, const ldns_rr_list* signatures,
                           const ldns_rdf* owner) -> dnssec_verdict {
    dnssec_verdict step = impl_->validate_rrset(rrset, signatures, owner, 0);
    if (step.status != dnssec_status::secure) return step;
    note_limit(step);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(signatures); ++i) {
      const std::uint8_t labels = rdf_u8(ldns_rr_list_rr(signatures, i), 2);
      if (labels < ldns_dname_label_count(owner)) {
        dnssec_verdict proof = impl_->validate_wildcard_proof(pkt.get(), owner, labels, 0);
        if (proof.status != dnssec_status::secure) return proof;
        note_limit(proof);
        break;
      }
    }
    return step;
  };
  for (unsigned link = 0; link <= max_cname_links; ++link) {
    auto cname = rrset_of(section, current.get(), LDNS_RR_TYPE_CNAME);
    if (type == LDNS_RR_TYPE_CNAME || ldns_rr_list_rr_count(cname.get()) != 1) break;
    auto signatures = signatures_of(section, current.get(), LDNS_RR_TYPE_CNAME);
    dnssec_verdict step = checked(cname.get(), signatures.get(), current.get());
    if (step.status != dnssec_status::secure) {
      step.reason = "CNAME not followed: " + step.reason;
      return step;
    }
    const ldns_rdf* target = ldns_rr_rdf(ldns_rr_list_rr(cname.get(), 0), 0);
    if (target == nullptr) return verdict(dnssec_status::indeterminate, "CNAME without target");
    current.reset(ldns_rdf_clone(target));
  }
  auto records = rrset_of(section, current.get(), static_cast<ldns_rr_type>(type));
  dnssec_verdict outcome;
  if (ldns_rr_list_rr_count(records.get()) == 0) {
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt.get());
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
      return verdict(dnssec_status::indeterminate, "no records to validate at " + ldns::name_text(current.get()));
    }
    outcome = impl_->validate_denial(pkt.get(), current.get(), static_cast<ldns_rr_type>(type), 0);
    if (outcome.status == dnssec_status::secure) note_limit(outcome);
  } else {
    auto signatures = signatures_of(section, current.get(), static_cast<ldns_rr_type>(type));
    outcome = checked(records.get(), signatures.get(), current.get());
  }
  if (outcome.status == dnssec_status::secure) outcome.ttl_limit = limit;
  return outcome;
}

}  // namespace danemq::dane
