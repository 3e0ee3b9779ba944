#include "danemq/dane/dnssec.hpp"

#include <ctime>
#include <fstream>
#include <map>
#include <mutex>

#include "ldns_handles.hpp"

namespace danemq::dane {
namespace {

using steady = std::chrono::steady_clock;
constexpr unsigned max_chain_depth = 12;
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
  [[nodiscard]] zone_keys keys_of(const ldns_rdf* zone, unsigned depth) const;
  [[nodiscard]] zone_keys fetch_and_check_keys(const ldns_rdf* zone, const ldns_rr_list* entry_points) const;
  [[nodiscard]] bool covered_by_anchor(const ldns_rdf* zone) const;

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

bool local_validator::impl::covered_by_anchor(const ldns_rdf* zone) const {
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(anchors.get()); ++i) {
    if (at_or_below(zone, ldns_rr_owner(ldns_rr_list_rr(anchors.get(), i)))) return true;
  }
  return false;
}

dnssec_verdict local_validator::impl::validate_rrset(const ldns_rr_list* rrset, const ldns_rr_list* signatures,
                                                     const ldns_rdf* owner, unsigned depth) const {
  const std::string where = ldns::name_text(owner);
  if (ldns_rr_list_rr_count(signatures) == 0) {
    return verdict(dnssec_status::insecure, "no RRSIG (of an allowed algorithm) for " + where);
  }
  const ldns_rdf* signer = ldns_rr_rrsig_signame(ldns_rr_list_rr(signatures, 0));
  if (signer == nullptr || !at_or_below(owner, signer)) {
    return verdict(dnssec_status::bogus, "RRSIG for " + where + " by a signer above which it does not lie");
  }
  const zone_keys keys = keys_of(signer, depth);
  if (keys.verdict.status != dnssec_status::secure) return keys.verdict;
  const ldns_status status = ldns_verify_time(rrset, signatures, keys.keys.get(), std::time(nullptr), nullptr);
  if (status != LDNS_STATUS_OK) {
    return verdict(dnssec_status::bogus, "signature of " + where + " does not verify: " + ldns::status_text(status));
  }
  return verdict(dnssec_status::secure);
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
    if (!covered_by_anchor(zone))
      return {verdict(dnssec_status::insecure, "no trust anchor covers " + zone_name), {}, 0};
    auto answer = ask(zone, LDNS_RR_TYPE_DS);
    if (!answer) return {verdict(dnssec_status::bogus, "DS of " + zone_name + ": " + answer.error().message()), {}, 0};
    ds_answer = std::move(answer).value();
    const ldns_rr_list* section = ldns_pkt_answer(ds_answer.get());
    auto ds_set = rrset_of(section, zone, LDNS_RR_TYPE_DS);
    if (ldns_rr_list_rr_count(ds_set.get()) == 0) {
      return {verdict(dnssec_status::insecure, "no DS for " + zone_name + " (unsigned delegation)"), {}, 0};
    }
    auto ds_signatures = signatures_of(section, zone, LDNS_RR_TYPE_DS);
    if (ldns_rr_list_rr_count(ds_signatures.get()) > 0) {
      const ldns_rdf* signer = ldns_rr_rrsig_signame(ldns_rr_list_rr(ds_signatures.get(), 0));
      if (signer != nullptr && same_name(signer, zone)) {
        return {verdict(dnssec_status::bogus, "DS of " + zone_name + " signed by the zone itself"), {}, 0};
      }
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
  for (unsigned link = 0; link <= max_chain_depth; ++link) {
    auto cname = rrset_of(section, current.get(), LDNS_RR_TYPE_CNAME);
    if (type == LDNS_RR_TYPE_CNAME || ldns_rr_list_rr_count(cname.get()) != 1) break;
    auto signatures = signatures_of(section, current.get(), LDNS_RR_TYPE_CNAME);
    dnssec_verdict step = impl_->validate_rrset(cname.get(), signatures.get(), current.get(), 0);
    if (step.status != dnssec_status::secure) {
      step.reason = "CNAME not followed: " + step.reason;
      return step;
    }
    const ldns_rdf* target = ldns_rr_rdf(ldns_rr_list_rr(cname.get(), 0), 0);
    if (target == nullptr) return verdict(dnssec_status::indeterminate, "CNAME without target");
    current.reset(ldns_rdf_clone(target));
  }
  auto records = rrset_of(section, current.get(), static_cast<ldns_rr_type>(type));
  if (ldns_rr_list_rr_count(records.get()) == 0) {
    return verdict(dnssec_status::indeterminate, "no records to validate at " + ldns::name_text(current.get()));
  }
  auto signatures = signatures_of(section, current.get(), static_cast<ldns_rr_type>(type));
  return impl_->validate_rrset(records.get(), signatures.get(), current.get(), 0);
}

}  // namespace danemq::dane
